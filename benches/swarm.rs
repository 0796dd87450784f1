//! Benchmark: wall time, CPU time and chunks per second of whole runs under mpirun, beside the
//! launch floor (an MPI program that only starts and stops, with the same number of ranks).
//!
//! `cargo bench --bench swarm` prints a Markdown table. Under mpirun with `--floor`, this same
//! executable is the floor program.

#[path = "../tests/common/mod.rs"]
mod common;

use mpitorrent::analysis::report::Report;
use mpitorrent::scenario::generate::{RandomSpec, Scenario};
use std::time::Duration;

const REPEATS: usize = 3;
const LIMIT: Duration = Duration::from_secs(300);

struct Case {
    label: &'static str,
    spec: RandomSpec,
    chunk_time_ms: u64,
}

fn cases() -> Vec<Case> {
    let swarm = |chunks| RandomSpec { peers: 64, files: 10, chunks: chunks..=chunks, owners: 2..=2, wanted: 3..=3 };
    vec![
        Case { label: "64 peers, 10 files x 100 chunks", spec: swarm(100), chunk_time_ms: 0 },
        Case { label: "64 peers, 10 files x 1000 chunks", spec: swarm(1000), chunk_time_ms: 0 },
        Case {
            label: "32 peers, 4 files x 50 chunks, --chunk-time 20",
            spec: RandomSpec { peers: 32, files: 4, chunks: 50..=50, owners: 2..=2, wanted: 1..=2 },
            chunk_time_ms: 20,
        },
    ]
}

fn main() {
    if std::env::args().any(|a| a == "--floor") {
        // The same thread level as mpitorrent, so the floor pays what any such program must.
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Multiple).expect("MPI initializes");
        drop(universe);
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo bench` passes --bench; `cargo test --all-targets` runs this without it.
        println!("benchmark skipped: run it with cargo bench --bench swarm");
        return;
    }
    let me = std::env::current_exe().expect("own path");
    println!(
        "| scenario | ranks | chunks | floor wall | floor CPU | mpitorrent wall | above floor | CPU | \
         cores busy above floor | chunks/s | peer msgs/chunk | tracker msgs/chunk |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for case in cases() {
        let scenario = Scenario::random(&case.spec, 1);
        let dir = tempfile::tempdir().expect("temporary folder");
        scenario.write(&dir.path().join("in")).expect("inputs written");

        let np = scenario.ranks();
        let floor = median((0..REPEATS).map(|_| {
            let run = common::launch(dir.path(), np, &me, &["--floor"], LIMIT);
            assert!(run.success(), "floor program failed: {}", run.stderr);
            (run.wall, run.cpu, None::<Report>)
        }));
        let chunk_time = case.chunk_time_ms.to_string();
        let args = ["--inputs", "in", "--out", "out", "--report", "report.json", "--chunk-time", &chunk_time];
        let ours = median((0..REPEATS).map(|_| {
            let _ = std::fs::remove_dir_all(dir.path().join("out"));
            let run = common::mpirun(dir.path(), np, &args, LIMIT);
            assert!(run.success(), "mpitorrent failed: {}", run.stderr);
            let report: Report = serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
            assert_eq!(report.chunks_delivered as usize, scenario.chunks_wanted());
            (run.wall, run.cpu, Some(report))
        }));
        let report = ours.2.expect("mpitorrent's report");
        let above = ours.0.as_secs_f64() - floor.0.as_secs_f64();
        println!(
            "| {} | {np} | {} | {:.2} s | {:.2} s | {:.2} s | {above:.2} s | {:.2} s | {:.2} | {:.0} | {:.2} | {:.2} |",
            case.label,
            scenario.chunks_wanted(),
            floor.0.as_secs_f64(),
            floor.1.as_secs_f64(),
            ours.0.as_secs_f64(),
            ours.1.as_secs_f64(),
            (ours.1.as_secs_f64() - floor.1.as_secs_f64()) / above,
            report.chunks_delivered as f64 / report.wall_time_s,
            report.peer_messages_per_chunk(),
            report.tracker.messages_per_chunk,
        );
    }
    let first = &cases()[0];
    let scenario = Scenario::random(&first.spec, 1);
    let dir = tempfile::tempdir().expect("temporary folder");
    scenario.write(&dir.path().join("in")).expect("inputs written");
    record_overhead(dir.path(), &scenario);
}

/// `--record` against plain headless, on the first scenario: the cost of logging every event.
/// The two kinds of run alternate, so a drift of the machine's speed hits both alike.
fn record_overhead(dir: &std::path::Path, scenario: &Scenario) {
    const PAIRS: usize = 7;
    let run = |record: bool| {
        let _ = std::fs::remove_dir_all(dir.join("out"));
        let mut args = vec!["--inputs", "in", "--out", "out", "--report", "report.json"];
        if record {
            args.extend(["--record", "run.log", "--force"]);
        }
        let run = common::mpirun(dir, scenario.ranks(), &args, LIMIT);
        assert!(run.success(), "mpitorrent failed: {}", run.stderr);
        let report: Report = serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
        (run.wall, run.cpu, report.wall_time_s)
    };
    let (mut plain, mut recorded) = (Vec::new(), Vec::new());
    for _ in 0..PAIRS {
        plain.push(run(false));
        recorded.push(run(true));
    }
    // Each figure's own median.
    type Figure = fn(&(Duration, Duration, f64)) -> f64;
    let middle = |runs: &[(Duration, Duration, f64)], figure: Figure| {
        let mut values: Vec<f64> = runs.iter().map(figure).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let (wall, time): (Figure, Figure) = (|r| r.0.as_secs_f64(), |r| r.2);
    let lines = std::fs::read_to_string(dir.join("run.log")).map_or(0, |log| log.lines().count());
    println!();
    println!("| 64 peers, 10 files x 100 chunks, medians of {PAIRS} | wall | run time (start to stop) | log lines |");
    println!("|---|---|---|---|");
    println!("| headless | {:.2} s | {:.3} s | |", middle(&plain, wall), middle(&plain, time));
    println!("| headless with --record | {:.2} s | {:.3} s | {lines} |", middle(&recorded, wall), middle(&recorded, time));
    println!(
        "| ratio | {:.2} | {:.2} | |",
        middle(&recorded, wall) / middle(&plain, wall),
        middle(&recorded, time) / middle(&plain, time)
    );
}

/// The run with the median wall time.
fn median<R>(runs: impl Iterator<Item = (Duration, Duration, R)>) -> (Duration, Duration, R) {
    let mut runs: Vec<_> = runs.collect();
    runs.sort_by_key(|r| r.0);
    runs.swap_remove(runs.len() / 2)
}
