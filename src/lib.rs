//! mpitorrent: the BitTorrent protocol simulated on MPI. Rank 0 is the tracker; every other rank
//! is a peer with a download thread and an upload thread. The tracker and peer logic talk only
//! through [`transport::Transport`], so the same code runs under `mpirun` and inside tests.

pub mod audit;
pub mod bench;
pub mod capacity;
pub mod collector;
pub mod efficiency;
pub mod events;
pub mod export;
pub mod fault;
pub mod hash;
pub mod ids;
pub mod input;
pub mod launch;
pub mod log;
pub mod message;
pub mod model;
pub mod output;
pub mod peer;
pub mod report;
pub mod run;
pub mod scenario;
pub mod strategy;
pub mod stress;
pub mod tracker;
pub mod transport;
pub mod tui;
pub mod verify;

/// Writes `line` and a newline to stderr in one write: ranks share mpirun's stderr, and
/// `eprintln!` writes piece by piece, so lines of several ranks could interleave mid-line.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(format!("{line}\n").as_bytes());
}
