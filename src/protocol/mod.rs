//! The protocol: ids, hashes, messages, events, the tracker and the peers, free of MPI and UI.

pub mod error;
pub mod events;
pub mod hash;
pub mod ids;
pub mod message;
pub mod peer;
pub mod strategy;
pub mod tracker;
pub mod transport;

/// Chunk requests and interests a downloader keeps outstanding: enough to hide the round trip to
/// an uploader, few enough that one downloader cannot flood the swarm (see docs/performance.md).
pub const IN_FLIGHT: usize = 32;

/// Writes `line` and a newline to stderr in one write: ranks share mpirun's stderr, and
/// `eprintln!` writes piece by piece, so lines of several ranks could interleave mid-line.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(format!("{line}\n").as_bytes());
}
