//! Grading any program of the classic assignment (`in<R>.txt` in its working folder,
//! `client<R>_<file>` out) under mpirun: the official tests scored as the checker scores them,
//! and hold-out shapes beyond the classic limits, each run several times and checked hash by
//! hash, its wall time set against mpitorrent's own on the same scenario.

use crate::analysis::verify::judge_file;
use crate::protocol::hash::ChunkHash;
use crate::scenario::generate::{RandomSpec, Scenario};
use crate::scenario::input::Invalid;
use crate::tools::launch::{launch, shell_word, Launched, Mpi};
use crate::tools::stress::copy_folder;
use crate::tools::waiting::{watch, Wanted, Watch};
use anyhow::Context;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The checker's limit for an official test.
pub const OFFICIAL_LIMIT: Duration = Duration::from_secs(20);
/// Points an official test is worth: four make 40.
const POINTS: u32 = 10;
/// Cores that waiting ranks may keep busy before they count as spinning, unless mpitorrent's
/// own waiting ranks keep more than half as many busy at 20 ms a chunk (the reference).
const SPINNING: f64 = 0.5;

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
    /// Each run's exit code (`None`: killed by a signal; a hang shows `timeout`'s 124 or 137).
    pub exit_codes: Vec<Option<i32>>,
    /// The median of the runs' wall times, and mpitorrent's on the same scenario (one run: it
    /// is the yardstick, not what is graded), and the first over the second.
    pub wall_s: f64,
    pub reference_wall_s: Option<f64>,
    pub ratio: Option<f64>,
    /// The median of the runs' cores kept busy on average: CPU time (mpirun and every rank)
    /// over wall time.
    pub cores: f64,
    /// The median of the runs' cores kept busy by ranks that hold their outputs and wait
    /// ([`crate::tools::waiting`]); `None` where no run waited long enough to tell.
    pub waiting_cores: Option<f64>,
    /// Its ranks spin while they wait: `waiting_cores` above the limit the reference sets.
    pub spins: bool,
    /// The first failure: what was wrong.
    pub problem: Option<String>,
    /// Where the first failing run is kept (beside the others, `NAME-runK`), with the command
    /// that reproduces it.
    pub kept: Option<PathBuf>,
}

impl Graded {
    pub fn passed(&self) -> bool {
        self.failed == 0 && !self.spins
    }
}

/// The grade of a program: what it was graded with, each scenario's row, the verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Grade {
    pub program: PathBuf,
    pub runs: u32,
    pub seed: u64,
    pub limit_s: u64,
    /// The cores mpitorrent's waiting ranks keep busy at 20 ms a chunk on the companion scenario.
    pub reference_waiting_cores: Option<f64>,
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
    /// For an official test, the outputs compared (`client<R>_<file>`, the expected file): it is
    /// scored on them alone, as the checker scores it.
    compare: Vec<(String, PathBuf)>,
    official: bool,
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
    let mut idle = Scenario::random(&random(6, 3, 10..=30, 1..=2, 1..=2), seed);
    idle.peers.iter_mut().take(2).for_each(|p| p.wanted.clear());
    for (i, file) in long.files.iter_mut().enumerate() {
        file.name = format!("a_file_name_well_past_fifteen_characters_{}", i + 1);
    }
    let shapes = [
        ("many-files", "16 files, 6 peers wanting 2 to 5 each", Scenario::random(&random(6, 16, 10..=40, 1..=2, 2..=5), seed)),
        ("long-names", "file names of 42 characters", long),
        ("big-file", "one file of 1,500 chunks, 3 peers wanting it", Scenario::flash_crowd(4, 1500, seed)),
        ("many-peers", "32 peers, one seed of a 50-chunk file", Scenario::flash_crowd(32, 50, seed)),
        ("wants-nothing", "two of 6 peers want nothing", idle),
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
            official: false,
            runs,
            limit,
        })
        .collect()
}

/// The official tests in `dir` (`test1`, `test2`, ...), as its `cases.json` describes them, or
/// else as the checker's layout does: `-np` one more than the inputs, and `client<R>_<file>`
/// against `out<K>.txt` for every file `file<K>` peer R wants. Each runs once, as the checker
/// runs it.
fn official(dir: &Path) -> Result<Vec<Case>, Invalid> {
    let at = |path: &Path, problem: &dyn std::fmt::Display| Invalid(format!("{}: {problem}", path.display()));
    let cases_json = dir.join("cases.json");
    let described: Option<serde_json::Value> = match std::fs::read_to_string(&cases_json) {
        Ok(text) => Some(serde_json::from_str(&text).map_err(|e| at(&cases_json, &e))?),
        Err(_) => None,
    };
    let is_test = |n: &str| n.strip_prefix("test").is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()));
    let mut names: Vec<String> = match described.as_ref().map(|d| d["tests"].as_object()) {
        Some(Some(tests)) => tests.keys().cloned().collect(),
        Some(None) => return Err(at(&cases_json, &"no \"tests\" object")),
        None => std::fs::read_dir(dir)
            .map_err(|e| at(dir, &e))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| is_test(n) && dir.join(n).is_dir())
            .collect(),
    };
    names.sort_by_key(|n| n.trim_start_matches("test").parse::<u32>().unwrap_or(u32::MAX));
    if names.is_empty() {
        return Err(at(dir, &"no test1, test2, ... folders, as the checker's tests/ has"));
    }
    let mut cases = Vec::new();
    for name in names {
        let folder = dir.join(&name);
        if !folder.is_dir() {
            return Err(at(&folder, &"not found, though cases.json lists it"));
        }
        let (ranks, compare) = match described.as_ref().map(|d| &d["tests"][&name]) {
            Some(case) => {
                let ranks = case["np"].as_u64().ok_or_else(|| at(&cases_json, &format!("{name} has no np")))? as u32;
                let pairs = case["compare"].as_object().ok_or_else(|| at(&cases_json, &format!("{name} has no compare")))?;
                let pairs = pairs.iter().map(|(out, expected)| match expected.as_str() {
                    Some(file) => Ok((out.clone(), folder.join(file))),
                    None => Err(at(&cases_json, &format!("{name}: {out} is compared with {expected}, not a file name"))),
                });
                (ranks, pairs.collect::<Result<Vec<_>, Invalid>>()?)
            }
            None => derived(&folder).map_err(|e| Invalid(e.to_string()))?,
        };
        if let Some((_, missing)) = compare.iter().find(|(_, expected)| !expected.is_file()) {
            return Err(at(missing, &"the expected output is missing"));
        }
        cases.push(Case {
            name: name.clone(),
            about: format!("the checker's {name}"),
            ranks,
            inputs: Inputs::Copy(folder),
            compare,
            official: true,
            runs: 1,
            limit: OFFICIAL_LIMIT,
        });
    }
    Ok(cases)
}

/// An official test's ranks and comparisons from its files alone.
fn derived(folder: &Path) -> Result<(u32, Vec<(String, PathBuf)>), crate::scenario::input::InputError> {
    let expected = crate::analysis::verify::expected_outputs(folder)?;
    let peers = (1..).take_while(|r| crate::scenario::input::input_path(folder, *r).is_file()).count() as u32;
    let compare = expected
        .iter()
        .map(|e| {
            let number = e.file.trim_start_matches(|c: char| !c.is_ascii_digit());
            (e.name(), folder.join(format!("out{number}.txt")))
        })
        .collect();
    Ok((peers + 1, compare))
}

/// One run of `case` in a fresh folder: how it ended, and what was wrong, if anything. An
/// official test is judged by its outputs alone, as the checker judges it, however it ended.
/// Also how busy its ranks kept the machine while they waited, for a generated scenario.
fn trial(program: &Path, case: &Case, dir: &Path, args: &[&str]) -> anyhow::Result<(Launched, Option<String>, Option<f64>)> {
    case.inputs.write(dir).with_context(|| format!("writing the inputs in {}", dir.display()))?;
    let watch = match &case.inputs {
        Inputs::Generated(scenario) => Some(watch(program, dir, wanted_by_peer(scenario))),
        Inputs::Copy(_) => None,
    };
    let launched = launch(dir, case.ranks, program, args, case.limit).context("starting the MPI launcher under timeout")?;
    let waited = watch.and_then(Watch::finish);
    let problem = match &case.inputs {
        Inputs::Copy(_) => diff(dir, &case.compare)?,
        Inputs::Generated(_) if launched.timed_out => Some(format!("did not end within {} s (a hang?)", case.limit.as_secs())),
        Inputs::Generated(_) if !launched.success() => {
            Some(launched.code.map_or("killed by a signal".to_string(), |c| format!("exit code {c}")))
        }
        Inputs::Generated(scenario) => scenario.expected_outputs().into_iter().find_map(|(name, hashes)| {
            let verdict = judge_file(hashes, &dir.join(&name));
            (!verdict.is_ok()).then(|| format!("{name}: {verdict}"))
        }),
    };
    Ok((launched, problem, waited))
}

/// The outputs each peer of `scenario` must write.
fn wanted_by_peer(scenario: &Scenario) -> Vec<Wanted> {
    let owned = |(name, hashes): (String, &[ChunkHash])| (name, hashes.to_vec());
    (0..scenario.peers.len()).map(|index| scenario.outputs_of(index).map(owned).collect()).collect()
}

/// `diff -q -w` of each output against its expected file, as the checker compares them.
fn diff(dir: &Path, compare: &[(String, PathBuf)]) -> anyhow::Result<Option<String>> {
    for (output, expected) in compare {
        if !dir.join(output).is_file() {
            return Ok(Some(format!("{output}: missing")));
        }
        let same = std::process::Command::new("diff")
            .arg("-q")
            .arg("-w")
            .arg(dir.join(output))
            .arg(expected)
            .output()
            .context("running diff (diffutils)")?;
        if !same.status.success() {
            let expected = expected.file_name().unwrap_or_default().to_string_lossy();
            return Ok(Some(format!("{output} differs from {expected} (diff -w)")));
        }
    }
    Ok(None)
}

/// Keeps a failing run's folder in `keep`, with what it printed and a `command.sh` that runs it
/// again in a fresh copy of its inputs; where it is.
fn keep(keep: &Path, case: &Case, run: u32, dir: &Path, program: &Path, launched: &Launched) -> anyhow::Result<PathBuf> {
    let kept = keep.join(format!("{}-run{}", case.name, run + 1));
    let _ = std::fs::remove_dir_all(&kept);
    copy_folder(dir, &kept).with_context(|| format!("keeping the run in {}", kept.display()))?;
    let mpi = Mpi::linked();
    let exports: String = mpi.environment().iter().map(|(name, value)| format!("export {name}={value}\n")).collect();
    let command = format!(
        "#!/bin/sh\n# The failing run again, in rerun/ beside this script, with its inputs.\nset -e\ncd \"$(dirname \"$0\")\"\n\
         rm -rf rerun && mkdir rerun && cp in*.txt rerun/ && cd rerun\n{exports}\
         exec timeout --kill-after=5 {} {} {}\n",
        case.limit.as_secs(),
        mpi.command_line(case.ranks),
        shell_word(&program.display().to_string()),
    );
    let script = kept.join("command.sh");
    std::fs::write(&script, command)?;
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    std::fs::write(kept.join("stdout.txt"), &launched.stdout)?;
    std::fs::write(kept.join("stderr.txt"), &launched.stderr)?;
    Ok(kept)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Grades `case`: its runs, the reference run of mpitorrent, the first failure kept.
fn grade_case(options: &GradeOptions, case: &Case) -> Graded {
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
        ratio: None,
        cores: 0.0,
        waiting_cores: None,
        spins: false,
        problem: None,
        kept: None,
    };
    // A run that cannot be graded (a folder not written, the launcher missing) fails its scenario, and
    // the grade goes on to the next.
    if let Err(e) = grade_runs(options, case, &mut graded) {
        graded.failed = case.runs;
        graded.problem = Some(format!("grading error: {e:#}"));
    }
    if case.official {
        graded.points = Some(if graded.passed() { POINTS } else { 0 });
    }
    // mpitorrent on the same scenario, once, as the yardstick; a reference that fails is none.
    let reference = tempfile::tempdir().ok().and_then(|dir| trial(&options.reference, case, dir.path(), &[]).ok());
    if let Some((launched, None, _)) = reference {
        graded.reference_wall_s = Some(launched.wall.as_secs_f64());
        graded.ratio = Some(graded.wall_s / launched.wall.as_secs_f64().max(1e-9));
    }
    graded
}

/// The runs of `case`, into `graded`; every failing one kept.
fn grade_runs(options: &GradeOptions, case: &Case, graded: &mut Graded) -> anyhow::Result<()> {
    let (mut walls, mut cores, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..case.runs {
        let dir = tempfile::tempdir().context("a temporary folder for the run")?;
        let (launched, problem, waited) = trial(&options.program, case, dir.path(), &[])?;
        waiting.extend(waited);
        graded.exit_codes.push(launched.code);
        graded.hangs += u32::from(launched.timed_out);
        let wall = launched.wall.as_secs_f64();
        walls.push(wall);
        cores.push(launched.cpu.as_secs_f64() / wall.max(1e-9));
        if let Some(problem) = problem {
            graded.failed += 1;
            let kept = keep(&options.keep, case, run, dir.path(), &options.program, &launched)?;
            if graded.problem.is_none() {
                (graded.problem, graded.kept) = (Some(problem), Some(kept));
            }
        }
    }
    (graded.wall_s, graded.cores) = (median(walls), median(cores));
    graded.waiting_cores = (!waiting.is_empty()).then(|| median(waiting));
    Ok(())
}

/// The cores mpitorrent's waiting ranks keep busy on the companion scenario, at 20 ms a chunk so
/// that its peers wait for uploads: 5 peers, 4 files of 20 to 40 chunks, 1 or 2 owners each.
fn companion(options: &GradeOptions) -> Option<f64> {
    let spec = RandomSpec { peers: 5, files: 4, chunks: 20..=40, owners: 1..=2, wanted: 1..=2 };
    let case = Case {
        name: "companion".into(),
        about: String::new(),
        ranks: 6,
        inputs: Inputs::Generated(Scenario::random(&spec, options.seed)),
        compare: Vec::new(),
        official: false,
        runs: 1,
        limit: Duration::from_secs(60),
    };
    let dir = tempfile::tempdir().ok()?;
    match trial(&options.reference, &case, dir.path(), &["--chunk-time", "20"]) {
        Ok((_, None, waited)) => waited,
        _ => None,
    }
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

/// Grades the program on every scenario of `plan`, printing a row as each is graded (a closed
/// standard output does not stop the grade). Runs kept by an earlier grade of these scenarios
/// are removed first, so the folder holds this grade's failures only.
pub fn run(options: &GradeOptions, plan: &Plan, out: &mut impl Write) -> Grade {
    let (cases, official_tests) = (&plan.cases, plan.official);
    if let Ok(entries) = std::fs::read_dir(&options.keep) {
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if cases.iter().any(|c| name.strip_prefix(&c.name).is_some_and(|rest| rest.starts_with("-run"))) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let reference_waiting = companion(options);
    let limit = reference_waiting.map_or(SPINNING, |r| SPINNING.max(2.0 * r));
    let mut scenarios = Vec::new();
    for case in cases {
        let mut graded = grade_case(options, case);
        if let Some(busy) = graded.waiting_cores.filter(|&busy| busy > limit) {
            graded.spins = true;
            let reference = reference_waiting.map_or(String::new(), |r| format!("; mpitorrent's at 20 ms a chunk: {r:.2}"));
            graded.problem.get_or_insert(format!("its ranks keep {busy:.2} cores busy while they wait (spinning?{reference})"));
        }
        let _ = writeln!(out, "{}", line(&graded));
        scenarios.push(graded);
    }
    let official = (official_tests > 0).then(|| {
        let points = scenarios.iter().filter_map(|s| s.points).sum();
        (points, POINTS * official_tests as u32)
    });
    let passed = scenarios.iter().all(Graded::passed);
    let (runs, seed, limit_s) = (options.runs, options.seed, options.limit.as_secs());
    Grade {
        program: options.program.clone(),
        runs,
        seed,
        limit_s,
        reference_waiting_cores: reference_waiting,
        official,
        scenarios,
        passed,
    }
}

/// A scenario's row of the table.
fn line(graded: &Graded) -> String {
    // Each exit code once, with how many runs ended so: `0×3`, `0×2,124`.
    let mut counted: Vec<(Option<i32>, usize)> = Vec::new();
    for &code in &graded.exit_codes {
        match counted.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => counted.push((code, 1)),
        }
    }
    let codes: Vec<String> = counted
        .iter()
        .map(|(code, n)| {
            let code = code.map_or("-".into(), |c| c.to_string());
            if *n > 1 {
                format!("{code}×{n}")
            } else {
                code
            }
        })
        .collect();
    let reference = graded.reference_wall_s.map_or("-".into(), |r| format!("{r:.2}"));
    let ratio = graded.ratio.map_or("-".into(), |r| format!("{r:.2}"));
    let verdict = match (&graded.problem, graded.points) {
        (None, Some(points)) => format!("ok, {points}/{POINTS}"),
        (None, None) => "ok".into(),
        (Some(problem), _) if graded.failed == 0 => format!("SPINS: {problem}"),
        (Some(problem), _) => format!("FAILED {}/{}: {problem}", graded.failed, graded.runs),
    };
    format!(
        "{:<14}{:>6}{:>6}{:>8}{:>7}  {:<9}{:>8.2}{:>8}{:>7}{:>7.2}{:>6}  {verdict}",
        graded.name,
        graded.ranks,
        graded.runs,
        graded.failed,
        graded.hangs,
        codes.join(","),
        graded.wall_s,
        reference,
        ratio,
        graded.cores,
        graded.waiting_cores.map_or("-".into(), |c| format!("{c:.2}"))
    )
}

/// The header of the table [`run`] prints.
pub fn heading() -> String {
    format!(
        "{:<14}{:>6}{:>6}{:>8}{:>7}  {:<9}{:>8}{:>8}{:>7}{:>7}{:>6}  verdict",
        "scenario", "ranks", "runs", "failed", "hangs", "exit", "wall s", "ref s", "ratio", "cores", "wait"
    )
}

impl Grade {
    /// The lines under the table: the official score, the failures kept, the verdict.
    pub fn summary(&self) -> String {
        let mut text = match self.reference_waiting_cores {
            Some(cores) => format!("waiting ranks keep {cores:.2} cores busy in mpitorrent at 20 ms a chunk (the reference)\n"),
            None => String::new(),
        };
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
        assert_eq!(scenario("big-file").files[0].hashes.len(), 1500);
        assert_eq!(scenario("many-peers").peers.len(), 32);
        for seed in 1..20 {
            let cases = holdouts(seed, 1, Duration::from_secs(5));
            let Inputs::Generated(idle) = &cases.iter().find(|c| c.name == "wants-nothing").unwrap().inputs else {
                unreachable!()
            };
            assert!(idle.peers.iter().filter(|p| p.wanted.is_empty()).count() >= 2, "seed {seed}");
        }
        let one_owner = scenario("one-owner");
        assert!((0..one_owner.files.len()).all(|f| one_owner.peers.iter().filter(|p| p.owned.contains(&f)).count() == 1));
        assert!(cases.iter().all(|c| c.runs == 3 && c.compare.is_empty()), "checked hash by hash, three times each");
    }

    #[test]
    fn a_row_counts_each_exit_code_and_gives_the_first_failure() {
        let graded = Graded {
            name: "many-files".into(),
            about: String::new(),
            ranks: 7,
            points: None,
            runs: 3,
            failed: 1,
            hangs: 1,
            exit_codes: vec![Some(0), Some(124), Some(0)],
            wall_s: 0.5,
            reference_wall_s: Some(0.25),
            ratio: Some(2.0),
            cores: 0.7,
            waiting_cores: None,
            spins: false,
            problem: Some("did not end within 5 s (a hang?)".into()),
            kept: None,
        };
        let row = line(&graded);
        assert!(row.contains("  0×2,124 ") && row.contains(" 2.00 "), "{row}");
        assert!(row.ends_with("FAILED 1/3: did not end within 5 s (a hang?)"), "{row}");
        assert_eq!(median(vec![3.0, 1.0]), 2.0);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
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
