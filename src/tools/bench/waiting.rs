//! `mpitorrent bench --waiting`: what ranks cost while they wait. A flash crowd of 32 peers (one
//! seed, a file of 100 chunks) at 20 ms a chunk with the default options: the cores it keeps busy
//! on average over the whole run (the CPU time of mpirun and every rank over the wall time),
//! beside a job of as many ranks that only starts and stops. Then a crowd of 128 at 10 ms a chunk,
//! first-free and rarest first, on however many cores the machine has: how close to the bound.

use super::{machine, run_with, BenchOptions, Cost, Outcome};
use crate::protocol::strategy::{PeerChoice, PieceOrder};
use crate::scenario::generate::{PeerPlan, Scenario};
use crate::scenario::settings::{Settings, Strategy};
use anyhow::Context;
use std::io::Write;
use std::time::Duration;

/// Runs of each row: figures vary from run to run.
const RUNS: u64 = 5;

pub fn run(options: &BenchOptions, out: &mut impl Write) -> anyhow::Result<()> {
    let work = tempfile::tempdir().context("creating a temporary folder")?;
    writeln!(out, "{}\n", machine())?;
    writeln!(out, "Each row: {RUNS} runs; cores busy is the CPU time of mpirun and every rank over the wall time.\n")?;
    writeln!(out, "| scenario | options | ranks | wall s | CPU s | cores busy | makespan ratio |")?;
    writeln!(out, "|---|---|---|---|---|---|---|")?;
    let idle = Scenario { files: Vec::new(), peers: vec![PeerPlan::default(); 32] };
    let crowd = Scenario::flash_crowd(32, 100, 1);
    let large = Scenario::flash_crowd(128, 100, 1);
    let first_free = Strategy { pieces: PieceOrder::Rarest, peers: PeerChoice::FirstFree, ..Strategy::default() };
    let rows = [
        ("only start and stop", "", &idle, Settings::default()),
        ("flash crowd: n = 32, k = 100", "--chunk-time 20", &crowd, Settings { chunk_time_ms: 20, ..Settings::default() }),
        (
            "flash crowd: n = 128, k = 100",
            "--chunk-time 10 --peer-choice first-free --piece-order rarest",
            &large,
            Settings { chunk_time_ms: 10, strategy: first_free, ..Settings::default() },
        ),
    ];
    for (label, shown, scenario, settings) in rows {
        let mut runs = Vec::new();
        for seed in 1..=RUNS {
            let strategy = Strategy { seed, ..settings.strategy };
            match run_with(options, work.path(), scenario, Settings { strategy, ..settings.clone() }, &[])? {
                Outcome::Done(report, cost) => runs.push((report.efficiency.makespan_ratio, cost)),
                Outcome::TimedOut => anyhow::bail!("a run timed out after {} s", options.timeout.as_secs()),
            }
        }
        let seconds = |f: fn(&Cost) -> Duration| runs.iter().map(|(_, c)| f(c).as_secs_f64()).collect::<Vec<_>>();
        let busy: Vec<f64> = runs.iter().map(|(_, c)| c.cpu.as_secs_f64() / c.wall.as_secs_f64()).collect();
        let ratios: Vec<f64> = runs.iter().filter_map(|(ratio, _)| *ratio).collect();
        writeln!(
            out,
            "| {label} | {shown} | {} | {} | {} | {} | {} |",
            scenario.ranks(),
            spread(&seconds(|c| c.wall), 2),
            spread(&seconds(|c| c.cpu), 2),
            spread(&busy, 2),
            if ratios.is_empty() { "-".to_string() } else { spread(&ratios, 2) },
        )?;
        out.flush()?;
    }
    Ok(())
}

/// The mean of `values`, and their range.
fn spread(values: &[f64], digits: usize) -> String {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let (low, high) = values.iter().fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    format!("{mean:.digits$} ({low:.digits$}-{high:.digits$})")
}
