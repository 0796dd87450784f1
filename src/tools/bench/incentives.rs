//! `mpitorrent bench --incentives`: what choking does to free riders. A flash crowd of 32 peers,
//! 4 of them free riders, each run with and without tit-for-tat, behind one seed of one upload
//! slot and behind a generous seed of 16, ten runs each; the free riders' mean finish time against the
//! others'; and tit-for-tat's cost against the bound when nobody free rides.

use super::{machine, run_with, BenchOptions, Outcome};
use crate::protocol::ids::Rank;
use crate::protocol::strategy::{PeerChoice, PieceOrder};
use crate::scenario::fault::Faults;
use crate::scenario::generate::Scenario;
use crate::scenario::settings::{option_name, Settings, Strategy};
use anyhow::Context;
use std::io::Write;

/// Peers of the crowd, the seed included, and the chunks of its file.
const PEERS: usize = 32;
const CHUNKS: usize = 100;
/// Free riders, spread evenly over the ranks, so that none is favoured by when its rank starts.
const FREE_RIDERS: u32 = 4;
/// The generous seed's upload slots.
const GENEROUS_SLOTS: u32 = 16;
/// Runs of each row, each with its own seed: finish times vary from run to run.
const RUNS: u64 = 10;

pub fn run(options: &BenchOptions, out: &mut impl Write) -> anyhow::Result<()> {
    let work = tempfile::tempdir().context("creating a temporary folder")?;
    let every = PEERS as u32 / FREE_RIDERS;
    let riders: Vec<Rank> = (1..=FREE_RIDERS).map(|i| Rank(i * every)).collect();
    writeln!(out, "{}\n", machine())?;
    writeln!(
        out,
        "Flash crowd of {PEERS} peers (one seed), a file of {CHUNKS} chunks, rarest first, --chunk-time {} ms; the free riders are \
         ranks {}; times are means over {RUNS} runs (seeds 1-{RUNS}), in seconds from the start.\n",
        options.chunk_time_ms,
        riders.iter().map(Rank::to_string).collect::<Vec<_>>().join(", "),
    )?;
    writeln!(
        out,
        "| seed | free riders | peer choice | bound | makespan | ratio | free riders done | others done | free riders / others |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    let scenario = Scenario::flash_crowd(PEERS, CHUNKS, 1);
    for generous in [false, true] {
        for freeride in [true, false] {
            for choice in [PeerChoice::Busyness, PeerChoice::TitForTat] {
                let faults = Faults { freeride: if freeride { riders.clone() } else { Vec::new() }, ..Faults::default() };
                let mut figures = Vec::new();
                for seed in 1..=RUNS {
                    let strategy = Strategy { pieces: PieceOrder::Rarest, peers: choice, seed, ..Strategy::default() };
                    let capacities = generous.then(|| "capacities.txt".into());
                    let settings = Settings {
                        chunk_time_ms: options.chunk_time_ms,
                        strategy,
                        faults: faults.clone(),
                        capacities,
                        ..Settings::default()
                    };
                    let files = [("capacities.txt", format!("1 {GENEROUS_SLOTS}\n"))];
                    match run_with(options, work.path(), &scenario, settings, if generous { &files } else { &[] })? {
                        Outcome::Done(report, _) => figures.push(report),
                        Outcome::TimedOut => anyhow::bail!("a run timed out after {} s", options.timeout.as_secs()),
                    }
                }
                let mean = |f: &dyn Fn(&crate::analysis::report::Report) -> Option<f64>| {
                    let values: Vec<f64> = figures.iter().filter_map(|r| f(r)).collect();
                    (values.len() == figures.len()).then(|| values.iter().sum::<f64>() / values.len() as f64)
                };
                let show = |x: Option<f64>, digits: usize| x.map_or("-".to_string(), |x| format!("{x:.digits$}"));
                let riders_done = mean(&|r| r.finish_times().map(|t| t.0));
                let others_done = mean(&|r| r.finish_times().map(|t| t.1));
                writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    if generous { format!("generous ({GENEROUS_SLOTS} slots)") } else { "one slot".into() },
                    if freeride { FREE_RIDERS } else { 0 },
                    option_name(&choice),
                    figures[0].efficiency.lower_bound_rounds,
                    show(mean(&|r| r.efficiency.makespan_rounds), 0),
                    show(mean(&|r| r.efficiency.makespan_ratio), 2),
                    show(riders_done, 2),
                    show(others_done, 2),
                    show(riders_done.zip(others_done).map(|(r, o)| r / o), 2),
                )?;
                out.flush()?;
            }
        }
    }
    Ok(())
}
