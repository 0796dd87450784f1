//! `mpitorrent stress`: hundreds of random runs under mpirun, each under a time limit, to show
//! that no run hangs and no output is ever wrong. Each run draws, from its own seed, a scenario
//! shape (up to 33 ranks), a strategy, a chunk time, capacities, and peers that leave or lie; then
//! every output is checked hash by hash against what must be true of that run:
//!
//! - the run ends in time, with exit code 0, or 3 when peers left and a peer that stayed gave
//!   up on a file (and then only);
//! - every output present is complete and correct, and nothing else is in the output folder;
//! - an output is missing only for a peer that left, or for a file its peer gave up on, and a
//!   peer gives up on a file only when an owner of it left;
//! - nothing panicked or reported an error;
//! - its log is whole and keeps every rule of the protocol that `verify --log` checks.
//!
//! A failing run's folder (inputs, faults and capacity files, the command, its output) is kept.

use crate::analysis::report::Report;
use crate::analysis::verify::Mismatch;
use crate::protocol::ids::Rank;
use crate::protocol::strategy::{PeerChoice, PieceOrder};
use crate::record::log::{Log, LogError};
use crate::scenario::capacity::{capacities_text, Capacity};
use crate::scenario::fault::{Corrupt, Faults, Leave};
use crate::scenario::generate::{random_capacities, RandomSpec, Scenario};
use crate::scenario::output::output_file_name;
use crate::scenario::settings::Strategy;
use crate::scenario::settings::{option_name, Settings};
use crate::tools::launch::{run_in_folder, trial_args, Launched, Mpi, Trialled, LOG};
use anyhow::Context;
use clap::ValueEnum;
use rand::rngs::SmallRng;
use rand::seq::{IteratorRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct StressOptions {
    pub runs: u64,
    /// Run `i` draws everything from seed `seed + i`.
    pub seed: u64,
    /// Ranks of the largest run, the tracker included.
    pub max_ranks: u32,
    /// A run still going after this long is stopped and counted as a hang.
    pub limit: Duration,
    /// Where the folders of failing runs are kept.
    pub keep: PathBuf,
    /// The executable to run under mpirun: this one.
    pub program: PathBuf,
}

/// One random run: its scenario, its settings (folders and files relative to the run's folder),
/// and the capacity and faults files it is given.
#[derive(Clone, Debug)]
pub struct Trial {
    pub seed: u64,
    /// How the scenario was drawn, for the run's description.
    pub shape: String,
    pub scenario: Scenario,
    pub settings: Settings,
    pub capacities: Option<Vec<Capacity>>,
    pub faults: Faults,
}

impl Trial {
    /// The run of seed `seed`, with at most `max_ranks` ranks (at least 3).
    pub fn draw(seed: u64, max_ranks: u32) -> Trial {
        let mut rng = SmallRng::seed_from_u64(seed);
        let most_peers = max_ranks.max(3) as usize - 1;
        let (shape, scenario) = match rng.gen_range(0..3) {
            0 => {
                let (peers, chunks) = (rng.gen_range(2..=most_peers), rng.gen_range(1..=300));
                (format!("flash crowd of {chunks} chunks"), Scenario::flash_crowd(peers, chunks, rng.gen()))
            }
            1 if most_peers >= 6 => ("classic".to_string(), Scenario::classic(rng.gen())),
            _ => {
                let peers = rng.gen_range(1..=most_peers);
                let files = rng.gen_range(1..=(peers / 3).max(1));
                let most_chunks = rng.gen_range(1..=200);
                let spec = RandomSpec { peers, files, chunks: 1..=most_chunks, owners: 1..=rng.gen_range(1..=3), wanted: 0..=3 };
                (
                    format!("random, {files} file{} of 1-{most_chunks} chunks", if files == 1 { "" } else { "s" }),
                    Scenario::random(&spec, rng.gen()),
                )
            }
        };
        let strategy = Strategy {
            pieces: *PieceOrder::value_variants().choose(&mut rng).expect("orders"),
            peers: *PeerChoice::value_variants().choose(&mut rng).expect("peer choices"),
            end_game: rng.gen(),
            seed,
            unchoke: rng.gen_range(1..=4),
        };
        let chunk_time_ms = if rng.gen_bool(0.4) { 0 } else { rng.gen_range(1..=5) };
        let peers = scenario.peers.len();
        let capacities = rng.gen_bool(0.3).then(|| {
            let download = rng.gen_bool(0.5).then_some(1..=4);
            random_capacities(peers, 1..=3, download, rng.gen())
        });
        // Leaves fall within about the time the run would take without them.
        let longest_file = scenario.files.iter().map(|f| f.hashes.len()).max().unwrap_or(0);
        let horizon_ms = 20 + chunk_time_ms * (longest_file + scenario.chunks_wanted() / peers) as u64;
        let mut faults = Faults::default();
        if rng.gen_bool(0.5) {
            let count = rng.gen_range(1..=3.min(peers));
            let leavers = (1..=peers).choose_multiple(&mut rng, count);
            faults.leaves =
                leavers.into_iter().map(|p| Leave { peer: Rank(p as u32), at_ms: rng.gen_range(0..=horizon_ms) }).collect();
        }
        if rng.gen_bool(0.5) {
            let count = rng.gen_range(1..=2.min(peers));
            let liars = (1..=peers).choose_multiple(&mut rng, count);
            faults.corrupt = liars
                .into_iter()
                .map(|p| Corrupt { peer: Rank(p as u32), probability: rng.gen_range(1..=10) as f64 / 20.0 })
                .collect();
        }
        if rng.gen_bool(0.25) {
            let count = rng.gen_range(1..=2.min(peers));
            faults.freeride = free_riders(&scenario, (1..=peers).choose_multiple(&mut rng, count));
        }
        let settings = Settings {
            inputs: "in".into(),
            out: "out".into(),
            chunk_time_ms,
            update_every: rng.gen_range(1..=30),
            upload_slots: rng.gen_range(1..=3),
            strategy,
            capacities: capacities.as_ref().map(|_| CAPACITIES.into()),
            faults_file: (!faults.is_empty()).then(|| FAULTS.into()),
            ..Settings::default()
        };
        Trial { seed, shape, scenario, settings, capacities, faults }
    }

    /// Writes the run's folder: `in/`, and `faults.txt` and `capacities.txt` when it has them.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        self.scenario.write(&dir.join(&self.settings.inputs))?;
        if !self.faults.is_empty() {
            std::fs::write(dir.join(FAULTS), self.faults.text())?;
        }
        if let Some(capacities) = &self.capacities {
            std::fs::write(dir.join(CAPACITIES), capacities_text(capacities))?;
        }
        Ok(())
    }

    /// The run's arguments, relative to its folder.
    pub fn args(&self) -> Vec<String> {
        trial_args(&self.settings, true)
    }

    /// One line: size, shape, strategy, chunk time and faults.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} ranks, {}, {}/{}{}, chunk time {} ms",
            self.scenario.ranks(),
            self.shape,
            option_name(&self.settings.strategy.pieces),
            option_name(&self.settings.strategy.peers),
            if self.settings.strategy.end_game { "+end-game" } else { "" },
            self.settings.chunk_time_ms
        );
        if !self.faults.leaves.is_empty() {
            let leaves: Vec<String> = self.faults.leaves.iter().map(Leave::to_string).collect();
            text += &format!(", leave {}", leaves.join(" "));
        }
        if !self.faults.corrupt.is_empty() {
            let liars: Vec<String> = self.faults.corrupt.iter().map(Corrupt::to_string).collect();
            text += &format!(", corrupt {}", liars.join(" "));
        }
        if !self.faults.freeride.is_empty() {
            let riders: Vec<String> = self.faults.freeride.iter().map(Rank::to_string).collect();
            text += &format!(", freeride {}", riders.join(" "));
        }
        text
    }

    /// What is wrong with the run's outcome, by the rules of the module's documentation; `out`
    /// is its output folder, `report` what it wrote with `--report`.
    pub fn judge(&self, run: &Launched, out: &Path, report: Option<&Report>) -> Result<(), Wrong> {
        let complaint = [&run.stderr, &run.stdout].into_iter().flat_map(|t| t.lines()).find(|l| {
            let l = l.to_lowercase();
            l.contains("panicked") || l.contains("error")
        });
        if let Some(line) = complaint {
            return Err(Wrong(format!("it said: {line}")));
        }
        let Some(report) = report else { return Err(Wrong(format!("exit code {:?} and no report", run.code))) };
        match (run.code, report.incomplete()) {
            (Some(0), false) => {}
            (Some(3), true) if !self.faults.leaves.is_empty() => {}
            (code, incomplete) => {
                return Err(Wrong(format!("exit code {code:?}, though the report says incomplete: {incomplete}")))
            }
        }
        let present = |name: &str| out.join(name).exists();
        let mut expected = Vec::new();
        for (index, plan) in self.scenario.peers.iter().enumerate() {
            let rank = index as u32 + 1;
            let peer =
                report.peers.iter().find(|p| p.rank == rank).ok_or_else(|| Wrong(format!("the report has no peer {rank}")))?;
            for &f in &plan.wanted {
                let file = &self.scenario.files[f];
                let name = output_file_name(rank, &file.name);
                let gave_up = peer.abandoned.contains(&file.name);
                if gave_up {
                    let owners_left =
                        self.scenario.peers.iter().enumerate().any(|(owner, plan)| {
                            plan.owned.contains(&f) && self.faults.leave_of(Rank(owner as u32 + 1)).is_some()
                        });
                    if !owners_left {
                        return Err(Wrong(format!("peer {rank} gave up on {}, though none of its owners left", file.name)));
                    }
                }
                if present(&name) {
                    expected.push((name, &file.hashes[..]));
                } else if !peer.left && !gave_up {
                    return Err(Wrong(format!(
                        "{name} is missing, though peer {rank} neither left nor gave up on {}",
                        file.name
                    )));
                }
            }
        }
        Ok(crate::analysis::verify::check_expected(&expected, out)?)
    }
}

/// The `candidates` (ranks) that may free ride in `scenario`: those that are not the only
/// owners of a file some peer wants, which the tracker refuses.
fn free_riders(scenario: &Scenario, candidates: Vec<usize>) -> Vec<Rank> {
    let peers: Vec<(&[usize], &[usize])> = scenario.peers.iter().map(|p| (&p.owned[..], &p.wanted[..])).collect();
    let mut riders: Vec<Rank> = candidates.into_iter().map(|r| Rank(r as u32)).collect();
    while let Some(file) = Faults::stranded(&peers, |peer| riders.contains(&peer)) {
        let owners: Vec<Rank> = Faults::owners(&peers, file).collect();
        riders.retain(|r| !owners.contains(r));
    }
    riders
}

/// The capacity and faults files of a run, in its folder.
const CAPACITIES: &str = "capacities.txt";
const FAULTS: &str = "faults.txt";

/// What is wrong with a run's outcome, said in words.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Wrong(pub String);

impl From<Mismatch> for Wrong {
    fn from(mismatch: Mismatch) -> Wrong {
        Wrong(mismatch.to_string())
    }
}

impl From<LogError> for Wrong {
    fn from(error: LogError) -> Wrong {
        Wrong(error.to_string())
    }
}

/// Whether the run's log shows it kept every rule of the protocol (see [`crate::analysis::audit`]).
fn keeps_the_rules(log: &Path) -> Result<(), Wrong> {
    let audit = crate::analysis::audit::audit(&Log::read(log)?);
    match (audit.breaches.first(), audit.not_whole) {
        (Some(breach), _) => Err(Wrong(format!("{} broken: run.log {breach}", breach.rule.describe()))),
        (None, Some(why)) => Err(Wrong(format!("run.log is not whole: {why}"))),
        (None, None) => Ok(()),
    }
}

/// What became of one run.
enum Fate {
    Passed,
    Hang,
    Wrong(String),
}

/// Runs the trials one after another, a line each, then the totals; whether all passed.
pub fn run(options: &StressOptions, out: &mut impl Write) -> anyhow::Result<bool> {
    let work = tempfile::tempdir().context("creating a temporary folder")?;
    let (mut hangs, mut wrong) = (0, 0);
    let mut slowest: Option<(Duration, Trial)> = None;
    for i in 0..options.runs {
        let trial = Trial::draw(options.seed.wrapping_add(i), options.max_ranks);
        let dir = work.path().join(format!("seed-{}", trial.seed));
        trial.write(&dir).with_context(|| format!("writing {}", dir.display()))?;
        let Trialled { launched: run, report } =
            run_in_folder(&options.program, &dir, trial.scenario.ranks(), &trial.settings, true, options.limit)
                .context("starting a run")?;
        let outcome = if run.timed_out {
            Fate::Hang
        } else {
            match trial
                .judge(&run, &dir.join(&trial.settings.out), report.as_ref().ok())
                .and_then(|()| keeps_the_rules(&dir.join(LOG)))
            {
                Ok(()) => Fate::Passed,
                Err(Wrong(problem)) => Fate::Wrong(problem),
            }
        };
        let verdict = match &outcome {
            Fate::Passed => format!("ok in {:.2} s", run.wall.as_secs_f64()),
            Fate::Hang => format!("HANG: stopped after {} s", options.limit.as_secs()),
            Fate::Wrong(problem) => format!("WRONG: {problem}"),
        };
        writeln!(out, "run {}/{} (seed {}): {}: {verdict}", i + 1, options.runs, trial.seed, trial.describe())?;
        match outcome {
            Fate::Passed => std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?,
            failed => {
                hangs += usize::from(matches!(failed, Fate::Hang));
                wrong += usize::from(matches!(failed, Fate::Wrong(_)));
                let kept = keep(options, &dir, &trial, &run)?;
                writeln!(
                    out,
                    "  kept in {}; run it again with: mpitorrent stress --runs 1 --seed {}",
                    kept.display(),
                    trial.seed
                )?;
            }
        }
        if slowest.as_ref().is_none_or(|(wall, _)| run.wall > *wall) {
            slowest = Some((run.wall, trial));
        }
        out.flush()?;
    }
    writeln!(out, "\n{} runs: {hangs} hangs, {wrong} wrong outcomes", options.runs)?;
    if let Some((wall, trial)) = slowest {
        writeln!(out, "slowest: {:.2} s, seed {}: {}", wall.as_secs_f64(), trial.seed, trial.describe())?;
    }
    Ok(hangs + wrong == 0)
}

/// Moves a failing run's folder under `options.keep`, with the command and what it printed.
fn keep(options: &StressOptions, dir: &Path, trial: &Trial, run: &Launched) -> anyhow::Result<PathBuf> {
    let command = format!("{} mpitorrent {}\n", Mpi::linked().command_line(trial.scenario.ranks()), trial.args().join(" "));
    let printed = format!("exit code {:?}\n--- stdout\n{}--- stderr\n{}", run.code, run.stdout, run.stderr);
    std::fs::write(dir.join("command.txt"), command)?;
    std::fs::write(dir.join("printed.txt"), printed)?;
    let kept = options.keep.join(format!("seed-{}", trial.seed));
    std::fs::create_dir_all(&options.keep).with_context(|| format!("creating {}", options.keep.display()))?;
    let _ = std::fs::remove_dir_all(&kept);
    // A rename cannot cross file systems; copy then.
    if std::fs::rename(dir, &kept).is_err() {
        copy_folder(dir, &kept).with_context(|| format!("keeping the run in {}", kept.display()))?;
    }
    Ok(kept)
}

/// Copies the folder `from`, with everything in it, to `to`.
pub fn copy_folder(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        match entry.file_type()?.is_dir() {
            true => copy_folder(&entry.path(), &to.join(entry.file_name()))?,
            false => std::fs::copy(entry.path(), to.join(entry.file_name())).map(drop)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::generate::{PeerPlan, ScenarioFile};
    use crate::tools::run::run_in_process;

    #[test]
    fn free_riders_drawn_leave_every_wanted_file_an_owner_that_uploads() {
        // Ranks 1 and 2 own file 0, rank 3 owns file 1; rank 4 wants both.
        let file = ScenarioFile { name: "f".into(), hashes: Vec::new() };
        let plan = |owned: &[usize], wanted: &[usize]| PeerPlan { owned: owned.to_vec(), wanted: wanted.to_vec() };
        let peers = vec![plan(&[0], &[]), plan(&[0], &[]), plan(&[1], &[]), plan(&[], &[0, 1])];
        let scenario = Scenario { files: vec![file.clone(), file], peers };
        assert_eq!(free_riders(&scenario, vec![1, 3, 4]), [Rank(1), Rank(4)], "rank 3 alone owns file 1");
        assert_eq!(free_riders(&scenario, vec![2, 1]), Vec::<Rank>::new(), "ranks 1 and 2 own file 0 together");
        assert_eq!(free_riders(&scenario, vec![2, 4]), [Rank(2), Rank(4)]);
    }

    /// A real run, in-process, of a flash crowd of 3 peers with `faults`: the trial, its output
    /// folder and its report.
    fn ran(faults: Faults) -> (Trial, tempfile::TempDir, Report) {
        let mut trial = Trial::draw(1, 4);
        (trial.scenario, trial.faults, trial.capacities) = (Scenario::flash_crowd(3, 20, 1), faults, None);
        let dir = tempfile::tempdir().unwrap();
        trial.write(dir.path()).unwrap();
        let config = Settings {
            inputs: dir.path().join("in"),
            out: dir.path().join("out"),
            faults: trial.faults.clone(),
            ..Settings::default()
        };
        let ranks = trial.scenario.ranks();
        let (done, outcome) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || {
            let _ = done.send(run_in_process(ranks, &config).map(|model| model.report()));
        });
        let report = outcome.recv_timeout(Duration::from_secs(30)).expect("the run ends: no hang").unwrap();
        (trial, dir, report)
    }

    /// A launch that ended with `code`, having printed `stderr`.
    fn exited(code: i32, stderr: &str) -> Launched {
        let (stdout, stderr) = (String::new(), stderr.to_string());
        Launched { code: Some(code), timed_out: false, stdout, stderr, wall: Duration::ZERO, cpu: Duration::ZERO }
    }

    #[test]
    fn a_good_run_passes_and_each_kind_of_wrong_outcome_is_named() {
        let (trial, dir, report) = ran(Faults::default());
        let out = dir.path().join("out");
        let judge = |code: i32, stderr: &str, report: Option<&Report>| trial.judge(&exited(code, stderr), &out, report);
        assert_eq!(judge(0, "", Some(&report)), Ok(()));
        assert!(judge(0, "thread 'download' panicked at src/peer/download.rs", Some(&report))
            .unwrap_err()
            .0
            .contains("panicked"));
        assert_eq!(judge(3, "", Some(&report)).unwrap_err().0, "exit code Some(3), though the report says incomplete: false");
        assert_eq!(judge(0, "", None).unwrap_err().0, "exit code Some(0) and no report");

        let first = out.join("client2_file1");
        let right = std::fs::read_to_string(&first).unwrap();
        std::fs::write(&first, right.replacen(&trial.scenario.files[0].hashes[0].to_string(), "x", 1)).unwrap();
        assert!(judge(0, "", Some(&report)).unwrap_err().0.contains("client2_file1: line 1: expected"));
        std::fs::remove_file(&first).unwrap();
        let missing = judge(0, "", Some(&report)).unwrap_err().0;
        assert_eq!(missing, "client2_file1 is missing, though peer 2 neither left nor gave up on file1");
        // Peer 3 left, but peer 1, the owner, did not: nothing justifies giving up.
        let mut gave_up = report.clone();
        gave_up.peers[1].abandoned = vec!["file1".into()];
        let mut left = trial.clone();
        left.faults.leaves = vec![Leave { peer: Rank(3), at_ms: 0 }];
        let unfounded = left.judge(&exited(3, ""), &out, Some(&gave_up)).unwrap_err().0;
        assert_eq!(unfounded, "peer 2 gave up on file1, though none of its owners left");
        std::fs::write(&first, right).unwrap();
        std::fs::write(out.join(".client2_file1.tmp"), "").unwrap();
        assert!(judge(0, "", Some(&report)).unwrap_err().0.contains("not a wanted output"));
    }

    /// Peer 3 leaves at once, often before the tracker answers its request for the file, which
    /// it then never does: the peer must not wait for it.
    #[test]
    fn a_peer_that_left_may_lack_its_output() {
        let (trial, dir, report) = ran(Faults { leaves: vec![Leave { peer: Rank(3), at_ms: 0 }], ..Faults::default() });
        assert!(report.peers[2].left && !dir.path().join("out/client3_file1").exists());
        assert_eq!(trial.judge(&exited(0, ""), &dir.path().join("out"), Some(&report)), Ok(()));
    }

    #[test]
    fn the_same_seed_draws_the_same_run_and_runs_stay_within_the_largest_size() {
        assert_eq!(Trial::draw(7, 33).args(), Trial::draw(7, 33).args());
        assert_eq!(Trial::draw(7, 33).describe(), Trial::draw(7, 33).describe());
        let trials: Vec<Trial> = (0..200).map(|seed| Trial::draw(seed, 12)).collect();
        assert!(trials.iter().all(|t| (2..=12).contains(&t.scenario.ranks())));
        assert!(trials.iter().all(|t| t.faults.check(t.scenario.ranks()).is_ok()));
        assert!(trials.iter().any(|t| !t.faults.leaves.is_empty()) && trials.iter().any(|t| !t.faults.corrupt.is_empty()));
        assert!(trials.iter().any(|t| t.capacities.is_some()) && trials.iter().any(|t| t.settings.chunk_time_ms == 0));
        for order in PieceOrder::value_variants() {
            assert!(trials.iter().any(|t| t.settings.strategy.pieces == *order), "{order:?} is drawn");
        }
        for choice in PeerChoice::value_variants() {
            assert!(trials.iter().any(|t| t.settings.strategy.peers == *choice), "{choice:?} is drawn");
        }
    }
}
