//! Grading any program of the classic assignment (`in<R>.txt` in its working folder,
//! `client<R>_<file>` out) under mpirun: the official tests scored as the checker scores them,
//! and hold-out shapes beyond the classic limits, each run several times and checked hash by
//! hash, its wall time set against mpitorrent's own on the same scenario.

use crate::analysis::verify::{verify_outputs, Verdict};
use crate::scenario::generate::{RandomSpec, Scenario};
use crate::scenario::input::Invalid;
use crate::tools::launch::{launch, Launched};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The checker's limit for an official test.
pub const OFFICIAL_LIMIT: Duration = Duration::from_secs(20);
/// Points an official test is worth: four make 40.
const POINTS: u32 = 10;

pub struct GradeOptions {
    pub program: PathBuf,
    /// A folder laid out like the checker's `tests/`: `test1` ... with `in*.txt` and `out*.txt`.
    pub official: Option<PathBuf>,
    /// Runs of each hold-out shape.
    pub runs: u32,
    pub seed: u64,
    /// How long a hold-out run may take before it counts as a hang.
    pub limit: Duration,
    /// Where failing runs are kept.
    pub keep: PathBuf,
    /// mpitorrent itself, whose wall time on each scenario is the reference.
    pub reference: PathBuf,
}

/// How the program did on one scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Graded {
    pub name: String,
    /// What the scenario is.
    pub about: String,
    pub ranks: u32,
    /// Points, for an official test: 10 when it passed, out of 10.
    pub points: Option<u32>,
    pub runs: u32,
    /// Runs that failed, hangs among them.
    pub failed: u32,
    pub hangs: u32,
    /// Each run's exit code (`None`: killed by a signal or the limit).
    pub exit_codes: Vec<Option<i32>>,
    /// The median run's wall time, and mpitorrent's on the same scenario.
    pub wall_s: f64,
    pub reference_wall_s: Option<f64>,
    /// Cores the program kept busy on average over its median run (CPU time over wall time,
    /// mpirun and every rank).
    pub cores: f64,
    /// The first failure: what was wrong.
    pub problem: Option<String>,
    /// Where the first failing run is kept (beside the others, `NAME-runK`), with the command
    /// that reproduces it.
    pub kept: Option<PathBuf>,
}

impl Graded {
    pub fn passed(&self) -> bool {
        self.failed == 0
    }

    pub fn ratio(&self) -> Option<f64> {
        self.reference_wall_s.filter(|&r| r > 0.0).map(|r| self.wall_s / r)
    }
}

/// The whole grade.
#[derive(Clone, Debug, Serialize)]
pub struct Grade {
    pub program: PathBuf,
    /// Points of the official tests, and out of how many.
    pub official: Option<(u32, u32)>,
    pub scenarios: Vec<Graded>,
    pub passed: bool,
}

/// A scenario to grade on: the checker's official test, or a generated hold-out shape.
#[derive(Clone)]
struct Case {
    name: String,
    about: String,
    ranks: u32,
    /// Writes its inputs into a fresh folder.
    inputs: Inputs,
    /// The outputs compared, for an official test: `client<R>_<file>` and the expected file.
    compare: Vec<(String, PathBuf)>,
    runs: u32,
    limit: Duration,
}

#[derive(Clone)]
enum Inputs {
    Copy(PathBuf),
    Generated(Scenario),
}

impl Inputs {
    fn write(&self, dir: &Path) -> std::io::Result<()> {
        match self {
            Inputs::Generated(scenario) => scenario.write(dir),
            Inputs::Copy(from) => {
                for entry in std::fs::read_dir(from)? {
                    let path = entry?.path();
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                    if name.starts_with("in") && name.ends_with(".txt") {
                        std::fs::copy(&path, dir.join(name))?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The hold-out shapes: what the classic tests never try (they stay within 10 files, 15-character
/// names, 100 chunks and a few peers).
fn holdouts(seed: u64, runs: u32, limit: Duration) -> Vec<Case> {
    let random = |peers, files, chunks, owners, wanted| RandomSpec { peers, files, chunks, owners, wanted };
    let mut long = Scenario::random(&random(5, 4, 20..=40, 1..=2, 1..=2), seed);
    for (i, file) in long.files.iter_mut().enumerate() {
        file.name = format!("a_file_name_well_past_fifteen_characters_{}", i + 1);
    }
    let shapes = [
        ("many-files", "16 files, 6 peers wanting 2 to 5 each", Scenario::random(&random(6, 16, 10..=40, 1..=2, 2..=5), seed)),
        ("long-names", "file names of 42 characters", long),
        ("big-file", "one file of 1,500 chunks, 3 peers wanting it", Scenario::flash_crowd(4, 1500, seed)),
        ("many-peers", "32 peers, one seed of a 50-chunk file", Scenario::flash_crowd(32, 50, seed)),
        ("wants-nothing", "peers that want nothing beside others", Scenario::random(&random(6, 3, 10..=30, 1..=2, 0..=1), seed)),
        ("one-owner", "8 peers, 4 files of one owner each", Scenario::random(&random(8, 4, 20..=60, 1..=1, 1..=3), seed)),
    ];
    shapes
        .into_iter()
        .map(|(name, about, scenario)| Case {
            name: name.into(),
            about: about.into(),
            ranks: scenario.ranks(),
            inputs: Inputs::Generated(scenario),
            compare: Vec::new(),
            runs,
            limit,
        })
        .collect()
}

/// The official tests in `dir`, as its `cases.json` describes them, or else as the checker's
/// layout does: `-np` one more than the inputs, and `client<R>_<file>` against `out<K>.txt` for
/// every file `file<K>` peer R wants.
fn official(dir: &Path) -> Result<Vec<Case>, Invalid> {
    let shown = |e: &dyn std::fmt::Display| Invalid(format!("{}: {e}", dir.display()));
    let described: Option<serde_json::Value> = std::fs::read_to_string(dir.join("cases.json"))
        .ok()
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|e| Invalid(format!("{}: {e}", dir.join("cases.json").display())))?;
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| shown(&e))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("test") && dir.join(n).is_dir())
        .collect();
    names.sort_by_key(|n| n.trim_start_matches("test").parse::<u32>().unwrap_or(u32::MAX));
    if names.is_empty() {
        return Err(shown(&"no test1, test2, ... folders, as the checker's tests/ has"));
    }
    let mut cases = Vec::new();
    for name in names {
        let folder = dir.join(&name);
        let case = described.as_ref().and_then(|d| d["tests"].get(&name));
        let (ranks, compare) = match case {
            Some(case) => {
                let ranks = case["np"].as_u64().ok_or_else(|| shown(&format!("cases.json: {name} has no np")))? as u32;
                let pairs = case["compare"].as_object().ok_or_else(|| shown(&format!("cases.json: {name} has no compare")))?;
                (
                    ranks,
                    pairs
                        .iter()
                        .map(|(out, expected)| (out.clone(), folder.join(expected.as_str().unwrap_or_default())))
                        .collect(),
                )
            }
            None => derived(&folder).map_err(|e| Invalid(e.to_string()))?,
        };
        cases.push(Case {
            name: name.clone(),
            about: format!("the checker's {name}"),
            ranks,
            inputs: Inputs::Copy(folder),
            compare,
            runs: 1,
            limit: OFFICIAL_LIMIT,
        });
    }
    Ok(cases)
}

/// An official test's ranks and comparisons from its files alone.
fn derived(folder: &Path) -> Result<(u32, Vec<(String, PathBuf)>), crate::scenario::input::InputError> {
    let expected = crate::analysis::verify::expected_outputs(folder)?;
    let peers = expected
        .iter()
        .map(|e| e.rank)
        .max()
        .unwrap_or(0)
        .max((1..).take_while(|r| crate::scenario::input::input_path(folder, *r).is_file()).last().unwrap_or(0));
    let compare = expected
        .iter()
        .map(|e| {
            let number = e.file.trim_start_matches(|c: char| !c.is_ascii_digit());
            (e.name(), folder.join(format!("out{number}.txt")))
        })
        .collect();
    Ok((peers + 1, compare))
}

/// One run of `case` in a fresh folder: how it ended, and what was wrong, if anything.
fn trial(program: &Path, case: &Case, dir: &Path) -> anyhow::Result<(Launched, Option<String>)> {
    case.inputs.write(dir)?;
    let launched = launch(dir, case.ranks, program, &[], case.limit)?;
    let problem = if launched.timed_out {
        Some(format!("did not end within {} s (a hang?)", case.limit.as_secs()))
    } else if launched.code != Some(0) {
        Some(launched.code.map_or("killed by a signal".to_string(), |c| format!("exit code {c}")))
    } else if case.compare.is_empty() {
        verify_outputs(dir, dir)?.into_iter().find(|c| !c.verdict.is_ok()).map(|c| {
            let name = crate::scenario::output::output_file_name(c.rank, &c.file);
            match c.verdict {
                Verdict::Missing => format!("{name}: missing"),
                verdict => format!("{name}: {verdict}"),
            }
        })
    } else {
        diff(dir, &case.compare)?
    };
    Ok((launched, problem))
}

/// `diff -q -w` of each output against its expected file, as the checker compares them.
fn diff(dir: &Path, compare: &[(String, PathBuf)]) -> anyhow::Result<Option<String>> {
    for (output, expected) in compare {
        let same = std::process::Command::new("diff").arg("-q").arg("-w").arg(dir.join(output)).arg(expected).output()?;
        if !same.status.success() {
            let expected = expected.file_name().unwrap_or_default().to_string_lossy();
            return Ok(Some(format!("{output} differs from {expected} (diff -w)")));
        }
    }
    Ok(None)
}

/// Keeps a failing run's folder in `keep`, with the command that reproduces it and what it
/// printed; where it is.
fn keep(keep: &Path, case: &Case, run: u32, dir: &Path, program: &Path, launched: &Launched) -> anyhow::Result<PathBuf> {
    let kept = keep.join(format!("{}-run{}", case.name, run + 1));
    if kept.exists() {
        std::fs::remove_dir_all(&kept)?;
    }
    std::fs::create_dir_all(&kept)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() {
            std::fs::copy(&path, kept.join(path.file_name().expect("a file")))?;
        }
    }
    let command = format!(
        "# The failing run again, in this folder (its outputs are overwritten):\ncd \"$(dirname \"$0\")\" && timeout {} mpirun --oversubscribe -np {} {}\n",
        case.limit.as_secs(),
        case.ranks,
        program.display()
    );
    std::fs::write(kept.join("command.sh"), command)?;
    std::fs::write(kept.join("stdout.txt"), &launched.stdout)?;
    std::fs::write(kept.join("stderr.txt"), &launched.stderr)?;
    Ok(kept)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Grades `case`: its runs, the reference run of mpitorrent, the first failure kept.
fn grade_case(options: &GradeOptions, case: &Case) -> anyhow::Result<Graded> {
    let mut graded = Graded {
        name: case.name.clone(),
        about: case.about.clone(),
        ranks: case.ranks,
        points: None,
        runs: case.runs,
        failed: 0,
        hangs: 0,
        exit_codes: Vec::new(),
        wall_s: 0.0,
        reference_wall_s: None,
        cores: 0.0,
        problem: None,
        kept: None,
    };
    let (mut walls, mut cores) = (Vec::new(), Vec::new());
    for run in 0..case.runs {
        let dir = tempfile::tempdir()?;
        let (launched, problem) = trial(&options.program, case, dir.path())?;
        graded.exit_codes.push(launched.code);
        let wall = launched.wall.as_secs_f64();
        walls.push(wall);
        cores.push(launched.cpu.as_secs_f64() / wall.max(1e-9));
        if let Some(problem) = problem {
            graded.failed += 1;
            graded.hangs += u32::from(launched.timed_out);
            let kept = keep(&options.keep, case, run, dir.path(), &options.program, &launched)?;
            if graded.problem.is_none() {
                (graded.problem, graded.kept) = (Some(problem), Some(kept));
            }
        }
    }
    (graded.wall_s, graded.cores) = (median(walls), median(cores));
    // mpitorrent on the same scenario, once; a reference that fails is not one.
    let dir = tempfile::tempdir()?;
    let reference = Case { runs: 1, ..case.clone() };
    if let Ok((launched, None)) = trial(&options.reference, &reference, dir.path()) {
        graded.reference_wall_s = Some(launched.wall.as_secs_f64());
    }
    Ok(graded)
}

/// What a grade runs: the official tests, then the hold-out shapes.
pub struct Plan {
    cases: Vec<Case>,
    official: usize,
}

/// The scenarios `options` ask for; a folder of official tests that is not one is refused.
pub fn plan(options: &GradeOptions) -> Result<Plan, Invalid> {
    let mut cases = match &options.official {
        Some(dir) => official(dir)?,
        None => Vec::new(),
    };
    let official = cases.len();
    cases.extend(holdouts(options.seed, options.runs, options.limit));
    Ok(Plan { cases, official })
}

/// Grades the program on every scenario of `plan`, printing a row as each is graded.
pub fn run(options: &GradeOptions, plan: &Plan, out: &mut impl Write) -> anyhow::Result<Grade> {
    let (cases, official_tests) = (&plan.cases, plan.official);
    let mut scenarios = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let mut graded = grade_case(options, case)?;
        if i < official_tests {
            graded.points = Some(if graded.passed() { POINTS } else { 0 });
        }
        writeln!(out, "{}", line(&graded))?;
        scenarios.push(graded);
    }
    let official = (official_tests > 0).then(|| {
        let points = scenarios.iter().filter_map(|s| s.points).sum();
        (points, POINTS * official_tests as u32)
    });
    let passed = scenarios.iter().all(Graded::passed);
    Ok(Grade { program: options.program.clone(), official, scenarios, passed })
}

/// A scenario's row of the table.
fn line(graded: &Graded) -> String {
    let codes: Vec<String> = graded.exit_codes.iter().map(|c| c.map_or("-".into(), |c| c.to_string())).collect();
    let reference = graded.reference_wall_s.map_or("-".into(), |r| format!("{r:.2}"));
    let ratio = graded.ratio().map_or("-".into(), |r| format!("{r:.2}"));
    let verdict = match (&graded.problem, graded.points) {
        (None, Some(points)) => format!("ok, {points}/{POINTS}"),
        (None, None) => "ok".into(),
        (Some(problem), _) => format!("FAILED {}/{}: {problem}", graded.failed, graded.runs),
    };
    format!(
        "{:<14}{:>6}{:>6}{:>8}{:>7}  {:<9}{:>8.2}{:>8}{:>7}{:>7.2}  {verdict}",
        graded.name,
        graded.ranks,
        graded.runs,
        graded.failed,
        graded.hangs,
        codes.join(","),
        graded.wall_s,
        reference,
        ratio,
        graded.cores
    )
}

/// The header of the table [`run`] prints.
pub fn heading() -> String {
    format!(
        "{:<14}{:>6}{:>6}{:>8}{:>7}  {:<9}{:>8}{:>8}{:>7}{:>7}  verdict",
        "scenario", "ranks", "runs", "failed", "hangs", "exit", "wall s", "ref s", "ratio", "cores"
    )
}

impl Grade {
    /// The lines under the table: the official score, the failures kept, the verdict.
    pub fn summary(&self) -> String {
        let mut text = String::new();
        if let Some((points, of)) = self.official {
            text += &format!("official tests: {points}/{of}\n");
        }
        let failed: Vec<&Graded> = self.scenarios.iter().filter(|s| !s.passed()).collect();
        for graded in &failed {
            if let Some(kept) = &graded.kept {
                text += &format!("{}: kept in {} (command.sh reproduces it)\n", graded.name, kept.display());
            }
        }
        text += &match failed.len() {
            0 => format!("all {} scenarios passed\n", self.scenarios.len()),
            n => format!("{n} of {} scenarios failed\n", self.scenarios.len()),
        };
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holdouts_go_past_the_classic_limits() {
        let cases = holdouts(1, 3, Duration::from_secs(5));
        let scenario = |name: &str| match &cases.iter().find(|c| c.name == name).unwrap().inputs {
            Inputs::Generated(s) => s.clone(),
            Inputs::Copy(_) => unreachable!("generated"),
        };
        assert!(scenario("many-files").files.len() > 10);
        assert!(scenario("long-names").files.iter().all(|f| f.name.len() > 15));
        assert!(scenario("big-file").files[0].hashes.len() >= 1000);
        assert!(scenario("many-peers").peers.len() >= 32);
        assert!(scenario("wants-nothing").peers.iter().any(|p| p.wanted.is_empty()));
        let one_owner = scenario("one-owner");
        assert!((0..one_owner.files.len()).all(|f| one_owner.peers.iter().filter(|p| p.owned.contains(&f)).count() == 1));
        assert!(cases.iter().all(|c| c.runs == 3 && c.compare.is_empty()), "checked hash by hash, three times each");
    }

    #[test]
    fn an_official_test_without_cases_json_is_read_from_its_layout() {
        let dir = tempfile::tempdir().unwrap();
        let test = dir.path().join("test1");
        std::fs::create_dir(&test).unwrap();
        let hash = "0".repeat(32);
        std::fs::write(test.join("in1.txt"), format!("1\nfile2 1\n{hash}\n0\n")).unwrap();
        std::fs::write(test.join("in2.txt"), "0\n1\nfile2\n").unwrap();
        std::fs::write(test.join("in3.txt"), "0\n0\n").unwrap();
        std::fs::write(test.join("out2.txt"), format!("{hash}\n")).unwrap();
        let cases = official(dir.path()).unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].ranks, 4, "one more than the inputs");
        assert_eq!(cases[0].compare, [("client2_file2".to_string(), test.join("out2.txt"))]);
        assert!(official(&test).err().is_some_and(|e| e.0.contains("no test1, test2, ... folders")));
    }
}
