//! Faults injected into a run, to show what a swarm does when peers go away or lie: `--leave R@T`
//! (peer R leaves T ms after the start) and `--corrupt R:P` (peer R sends a wrong hash with
//! probability P). Every rank parses the same options; the tracker checks the ranks against the
//! run's size and records the faults in the log header.

use crate::ids::Rank;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Peer `peer` leaves `at_ms` milliseconds after the start: its upload thread stops answering,
/// its download thread stops, and it tells the tracker, which drops it from every swarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leave {
    pub peer: Rank,
    pub at_ms: u64,
}

/// Peer `peer` sends a wrong hash for a chunk with probability `probability`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Corrupt {
    pub peer: Rank,
    pub probability: f64,
}

// A probability is parsed and checked to lie in 0..=1, so it is never NaN.
impl Eq for Corrupt {}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leaves: Vec<Leave>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrupt: Vec<Corrupt>,
}

impl Faults {
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty() && self.corrupt.is_empty()
    }

    /// Checks every named peer against a run of `ranks` ranks, the tracker included.
    pub fn check(&self, ranks: u32) -> Result<(), String> {
        let named = self.leaves.iter().map(|l| ("--leave", l.peer)).chain(self.corrupt.iter().map(|c| ("--corrupt", c.peer)));
        for (option, peer) in named {
            if peer == Rank::TRACKER || peer.0 >= ranks {
                return Err(format!("{option} names rank {peer}, but the peers of this run are ranks 1 to {}", ranks - 1));
            }
        }
        Ok(())
    }

    /// When `peer` leaves, if it does: the earliest of its leaves.
    pub fn leave_of(&self, peer: Rank) -> Option<u64> {
        self.leaves.iter().filter(|l| l.peer == peer).map(|l| l.at_ms).min()
    }

    pub fn corruption_of(&self, peer: Rank) -> Option<f64> {
        self.corrupt.iter().filter(|c| c.peer == peer).map(|c| c.probability).reduce(f64::max)
    }
}

/// The instant `at_ms` after the run's start, given as microseconds since the Unix epoch.
pub fn instant_after_start(epoch_us: u64, at_ms: u64) -> Instant {
    let now_us = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
    let due_us = epoch_us + at_ms * 1000;
    let now = Instant::now();
    match due_us.checked_sub(now_us) {
        Some(ahead) => now + Duration::from_micros(ahead),
        None => now,
    }
}

/// Parses `R@T`, for `--leave`.
pub fn parse_leave(text: &str) -> Result<Leave, String> {
    let (peer, at) = text.split_once('@').ok_or_else(|| format!("'{text}' is not RANK@MS, as in 3@500"))?;
    let peer = parse_peer(peer)?;
    let at_ms = at.trim().parse().map_err(|_| format!("'{at}' is not a time in whole milliseconds"))?;
    Ok(Leave { peer, at_ms })
}

/// Parses `R:P`, for `--corrupt`.
pub fn parse_corrupt(text: &str) -> Result<Corrupt, String> {
    let (peer, p) = text.split_once(':').ok_or_else(|| format!("'{text}' is not RANK:PROBABILITY, as in 3:0.2"))?;
    let peer = parse_peer(peer)?;
    let probability: f64 = p.trim().parse().map_err(|_| format!("'{p}' is not a probability"))?;
    if !(0.0..=1.0).contains(&probability) {
        return Err(format!("probability {probability} is not between 0 and 1"));
    }
    Ok(Corrupt { peer, probability })
}

fn parse_peer(text: &str) -> Result<Rank, String> {
    match text.trim().parse::<u32>() {
        Ok(0) => Err("rank 0 is the tracker, not a peer".into()),
        Ok(rank) => Ok(Rank(rank)),
        Err(_) => Err(format!("'{text}' is not a peer's rank")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_leaves_and_corruption_and_names_what_is_wrong() {
        assert_eq!(parse_leave("3@500"), Ok(Leave { peer: Rank(3), at_ms: 500 }));
        assert_eq!(parse_corrupt("2:0.25"), Ok(Corrupt { peer: Rank(2), probability: 0.25 }));
        assert!(parse_leave("3").unwrap_err().contains("RANK@MS"));
        assert!(parse_leave("0@5").unwrap_err().contains("tracker"));
        assert!(parse_leave("3@-1").unwrap_err().contains("milliseconds"));
        assert!(parse_corrupt("2:1.5").unwrap_err().contains("between 0 and 1"));
        assert!(parse_corrupt("x:0.5").unwrap_err().contains("rank"));
    }

    #[test]
    fn peers_are_checked_against_the_run() {
        let faults = Faults { leaves: vec![Leave { peer: Rank(4), at_ms: 1 }], corrupt: vec![] };
        assert!(faults.check(5).is_ok());
        assert_eq!(faults.check(4).unwrap_err(), "--leave names rank 4, but the peers of this run are ranks 1 to 3");
        let twice =
            Faults { leaves: vec![Leave { peer: Rank(2), at_ms: 9 }, Leave { peer: Rank(2), at_ms: 3 }], corrupt: vec![] };
        assert_eq!(twice.leave_of(Rank(2)), Some(3));
        assert_eq!(twice.leave_of(Rank(1)), None);
    }
}
