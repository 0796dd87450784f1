//! `mpitorrent bench`: the canonical scenarios run under mpirun, one table of how close each comes
//! to the lower bound, how fairly it spreads the uploads, what it costs in messages, and how fast
//! it moves chunks; then the raw MPI request and reply rate, the same through mpitorrent's
//! transport and threads, and its chunk rate beside them.
//!
//! Each run is a separate `mpirun` of this same executable, on a scenario written to a temporary
//! folder; its outputs are checked hash by hash and its `--report` read back.

pub mod incentives;
pub mod round_trips;
pub mod waiting;

use crate::analysis::report::Report;
use crate::protocol::strategy::{PeerChoice, PieceOrder};
use crate::scenario::generate::{RandomSpec, Scenario};
use crate::scenario::settings::{option_name, Settings, Strategy};
use crate::tools::launch;
use crate::tools::launch::Trialled;
use anyhow::{bail, Context};
use round_trips::{RoundTrips, WINDOW};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct BenchOptions {
    /// Flash crowd sizes: peers, the seed included.
    pub peers: Vec<usize>,
    /// Flash crowd file sizes, in chunks.
    pub chunks: Vec<usize>,
    pub orders: Vec<PieceOrder>,
    /// Peer choices to run each scenario and order with.
    pub choices: Vec<PeerChoice>,
    /// Peers of the random multi-file swarm (none: no such run).
    pub swarm_peers: usize,
    /// The chunk time of the runs measured in rounds.
    pub chunk_time_ms: u64,
    /// A run that takes longer is stopped and shown as such.
    pub timeout: Duration,
    /// How long each request and reply rate is measured for, per size.
    pub round_trip_time: Duration,
    /// The executable to run under mpirun: this one.
    pub program: PathBuf,
}

/// The random multi-file swarm run beside the flash crowds: a file for every 4 peers, of 100 to
/// 300 chunks, one or two owners each, one to three files wanted per peer.
pub fn random_swarm(peers: usize) -> (String, Scenario) {
    let files = (peers / 4).max(1);
    let spec = RandomSpec { peers, files, chunks: 100..=300, owners: 1..=2.min(peers), wanted: 1..=3 };
    (format!("random: {peers} peers, {files} files of 100-300 chunks"), Scenario::random(&spec, 1))
}

/// What one run gave and cost, or why it gave nothing.
enum Outcome {
    Done(Box<Report>, Cost),
    TimedOut,
}

/// What a run cost: its wall time, and the CPU time of mpirun and every rank.
struct Cost {
    wall: Duration,
    cpu: Duration,
}

pub fn run(options: &BenchOptions, out: &mut impl Write) -> anyhow::Result<()> {
    let work = tempfile::tempdir().context("creating a temporary folder")?;
    writeln!(out, "{}\n", machine())?;
    writeln!(
        out,
        "Rounds at --chunk-time {} ms; makespan and bound in rounds; fairness is Jain's index of uploads per slot.\n",
        options.chunk_time_ms
    )?;
    writeln!(
        out,
        "| scenario | piece order | peer choice | ranks | chunks | bound | makespan | ratio | fairness | max/mean uploads | tracker msgs/chunk | requests/chunk | peer msgs/chunk | chunks/s |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    let mut scenarios: Vec<(String, Scenario)> = Vec::new();
    for &k in &options.chunks {
        for &n in &options.peers {
            scenarios.push((format!("flash crowd: n = {n}, k = {k}"), Scenario::flash_crowd(n, k, 1)));
        }
    }
    if options.swarm_peers > 0 {
        scenarios.push(random_swarm(options.swarm_peers));
    }
    for (label, scenario) in &scenarios {
        for &order in &options.orders {
            for &choice in &options.choices {
                let outcome = run_once(options, work.path(), scenario, (order, choice), options.chunk_time_ms)?;
                writeln!(out, "{}", row(label, (order, choice), scenario, &outcome, options.timeout))?;
                out.flush()?;
            }
        }
    }
    writeln!(
        out,
        "\nAt --chunk-time 0 (rarest first, flash crowd of the largest k): mpitorrent's chunks per second against the raw MPI"
    )?;
    writeln!(
        out,
        "request and reply rate with as many ranks ({WINDOW} requests out per rank, random partners), and against the"
    )?;
    writeln!(out, "same exchange through mpitorrent's transport and a peer's two threads, with no protocol.\n")?;
    writeln!(
        out,
        "| ranks | raw MPI round trips/s | through its threads | mpitorrent chunks/s | fraction of raw | fraction of through its threads |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    let k = options.chunks.iter().copied().max().unwrap_or(1000);
    for &n in &options.peers {
        let scenario = Scenario::flash_crowd(n, k, 1);
        let raw = round_trip_rate(options, work.path(), scenario.ranks(), false)?.per_second();
        let threads = round_trip_rate(options, work.path(), scenario.ranks(), true)?.per_second();
        let ours = run_once(options, work.path(), &scenario, (PieceOrder::Rarest, PeerChoice::Busyness), 0)?;
        let start = format!("| {} | {raw:.0} | {threads:.0} |", scenario.ranks());
        let line = match ours {
            Outcome::Done(report, _) => {
                let rate = report.chunks_delivered as f64 / report.wall_time_s;
                format!("{start} {rate:.0} | {:.2} | {:.2} |", rate / raw, rate / threads)
            }
            Outcome::TimedOut => format!("{start} timed out | | |"),
        };
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(())
}

/// One run of `scenario` under mpirun, its outputs checked.
fn run_once(
    options: &BenchOptions,
    work: &Path,
    scenario: &Scenario,
    (order, choice): (PieceOrder, PeerChoice),
    chunk_time_ms: u64,
) -> anyhow::Result<Outcome> {
    let strategy = Strategy { pieces: order, peers: choice, ..Strategy::default() };
    run_with(options, work, scenario, Settings { chunk_time_ms, strategy, ..Settings::default() }, &[])
}

/// One run of `scenario` under mpirun with `settings` (its folders aside) and `files` written
/// beside the scenario (name and text), its outputs checked.
fn run_with(
    options: &BenchOptions,
    work: &Path,
    scenario: &Scenario,
    settings: Settings,
    files: &[(&str, String)],
) -> anyhow::Result<Outcome> {
    let dir = work.join("run");
    let _ = std::fs::remove_dir_all(&dir);
    let settings = Settings { inputs: "in".into(), out: "out".into(), ..settings };
    let order = settings.strategy.pieces;
    scenario.write(&dir.join(&settings.inputs)).context("writing the scenario")?;
    for (name, text) in files {
        std::fs::write(dir.join(name), text).with_context(|| format!("writing {name}"))?;
    }
    let Trialled { launched: run, report } =
        launch::run_in_folder(&options.program, &dir, scenario.ranks(), &settings, false, options.timeout)
            .context("starting a run")?;
    if run.timed_out {
        return Ok(Outcome::TimedOut);
    }
    if !run.success() {
        bail!("a run failed ({} ranks, {}): {}", scenario.ranks(), option_name(&order), run.stderr.trim());
    }
    crate::analysis::verify::check_expected(&scenario.expected_outputs(), &dir.join(&settings.out)).context("wrong output")?;
    let cost = Cost { wall: run.wall, cpu: run.cpu };
    Ok(Outcome::Done(Box::new(report.context("reading the run's report")?), cost))
}

/// The request and reply rate with `ranks` ranks: raw MPI, or `through_transport`.
fn round_trip_rate(options: &BenchOptions, work: &Path, ranks: u32, through_transport: bool) -> anyhow::Result<RoundTrips> {
    let milliseconds = format!("{}", options.round_trip_time.as_millis());
    let mut args = vec!["bench", "--round-trips-ms", &milliseconds];
    if through_transport {
        args.push("--through-transport");
    }
    let run = launch::launch(work, ranks, &options.program, &args, options.timeout).context("starting a run")?;
    if !run.success() {
        bail!("the round trip measure failed with {ranks} ranks: {}", run.stderr.trim());
    }
    serde_json::from_str(run.stdout.trim())
        .with_context(|| format!("reading the round trip measure's output: {}", run.stdout.trim()))
}

fn row(
    label: &str,
    (order, choice): (PieceOrder, PeerChoice),
    scenario: &Scenario,
    outcome: &Outcome,
    timeout: Duration,
) -> String {
    let (order, choice) = (option_name(&order), option_name(&choice));
    let start = format!("| {label} | {order} | {choice} | {} | {} |", scenario.ranks(), scenario.chunks_wanted());
    let Outcome::Done(report, _) = outcome else {
        return format!("{start} timed out after {} s | | | | | | | | |", timeout.as_secs());
    };
    let e = &report.efficiency;
    let figure = |x: Option<f64>, digits: usize| x.map_or("-".to_string(), |x| format!("{x:.digits$}"));
    format!(
        "{start} {} | {} | {} | {} | {} | {:.3} | {:.2} | {:.2} | {:.0} |",
        e.lower_bound_rounds,
        figure(e.makespan_rounds, 0),
        figure(e.makespan_ratio, 2),
        figure(e.fairness, 3),
        figure(e.upload_max_over_mean, 2),
        report.tracker.messages_per_chunk,
        e.requests_per_chunk,
        report.peer_messages_per_chunk(),
        report.chunks_delivered as f64 / report.wall_time_s,
    )
}

/// The machine the figures were measured on: processor, cores, memory, system, MPI.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu =
        cpuinfo.lines().find_map(|l| l.strip_prefix("model name")).map(|l| l.trim_start_matches([' ', '\t', ':']).to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0));
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let system = os_release.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).map(|l| l.trim_matches('"').to_string());
    let unknown = || "unknown".to_string();
    format!(
        "Machine: {} ({cores} cores), {} memory, {}, {}",
        cpu.unwrap_or_else(unknown),
        memory.unwrap_or_else(unknown),
        system.unwrap_or_else(unknown),
        launch::library()
    )
}
