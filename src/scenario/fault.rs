//! Faults injected into a run, to show what a swarm does when peers go away, lie or take without
//! giving: `--leave R@T` (peer R leaves T ms after the start), `--corrupt R:P` (peer R sends a
//! wrong hash with probability P) and `--freeride R` (peer R downloads but never uploads). The tracker adds those of a faults file (`--faults`), checks the ranks against
//! the run's size, records them in the log header and sends them to every peer with the start.
//!
//! The file has one fault per line, written as the options are; blank lines and `#` comments are
//! ignored:
//!
//! ```text
//! leave 3@500      # peer 3 leaves 500 ms after the start
//! corrupt 2:0.25   # peer 2 sends a wrong hash a quarter of the time
//! freeride 4       # peer 4 downloads but never uploads
//! ```

use crate::protocol::ids::Rank;
use crate::scenario::input::{InputError, Invalid};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Peer `peer` leaves `at_ms` milliseconds after the start: its upload thread stops answering,
/// its download thread stops, and it tells the tracker, which drops it from every swarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Leave {
    pub peer: Rank,
    pub at_ms: u64,
}

/// Peer `peer` sends a wrong hash for a chunk with probability `probability`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Corrupt {
    pub peer: Rank,
    pub probability: f64,
}

// A probability is parsed and checked to lie in 0..=1, so it is never NaN.
impl Eq for Corrupt {}

/// `R@T`, as `--leave` and the faults file write it ([`parse_leave`] reads it back).
impl std::fmt::Display for Leave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.peer, self.at_ms)
    }
}

/// `R:P`, as `--corrupt` and the faults file write it ([`parse_corrupt`] reads it back).
impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.peer, self.probability)
    }
}

/// Every fault of a run. No field is ever skipped when serialized: the start message carries it
/// in postcard, which has no field names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::Args)]
pub struct Faults {
    /// Peer R leaves T ms after the start: it stops answering and the tracker drops it (repeatable)
    #[serde(default)]
    #[arg(long = "leave", value_name = "R@T", value_parser = parse_leave)]
    pub leaves: Vec<Leave>,
    /// Peer R sends a wrong hash with probability P (repeatable)
    #[serde(default)]
    #[arg(long, value_name = "R:P", value_parser = parse_corrupt)]
    pub corrupt: Vec<Corrupt>,
    /// Peer R downloads but never uploads: it chokes every other peer (repeatable)
    #[serde(default)]
    #[arg(long, value_name = "R", value_parser = parse_peer)]
    pub freeride: Vec<Rank>,
}

impl Faults {
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty() && self.corrupt.is_empty() && self.freeride.is_empty()
    }

    /// Checks every named peer against a run of `ranks` ranks, the tracker included.
    pub fn check(&self, ranks: u32) -> Result<(), Invalid> {
        let named = self.leaves.iter().map(|l| ("--leave", l.peer)).chain(self.corrupt.iter().map(|c| ("--corrupt", c.peer)));
        let named = named.chain(self.freeride.iter().map(|&r| ("--freeride", r)));
        for (option, peer) in named {
            if peer == Rank::TRACKER || peer.0 >= ranks {
                let peers = ranks - 1;
                return Err(Invalid(format!("{option} names rank {peer}, but the peers of this run are ranks 1 to {peers}")));
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

    /// Whether `peer` downloads but never uploads (`--freeride`).
    pub fn free_rides(&self, peer: Rank) -> bool {
        self.freeride.contains(&peer)
    }

    /// The first file some peer wants that has owners, every one of them a free rider by
    /// `rides`: it could never arrive. `peers` holds each peer's owned and wanted files, peer `i`
    /// being rank `i + 1`; a file is whatever identifies it there.
    pub fn stranded<F: Copy + PartialEq>(peers: &[(&[F], &[F])], rides: impl Fn(Rank) -> bool) -> Option<F> {
        peers.iter().flat_map(|(_, wanted)| wanted.iter().copied()).find(|&file| {
            let mut owners = Faults::owners(peers, file).peekable();
            owners.peek().is_some() && owners.all(&rides)
        })
    }

    /// The ranks of the owners of `file` among `peers` (see [`Faults::stranded`]).
    pub fn owners<'a, F: Copy + PartialEq + 'a>(peers: &'a [(&[F], &[F])], file: F) -> impl Iterator<Item = Rank> + 'a {
        peers.iter().enumerate().filter(move |(_, (owned, _))| owned.contains(&file)).map(|(i, _)| Rank::from_peer_index(i))
    }

    /// The faults file's text for these faults, one per line.
    pub fn text(&self) -> String {
        let leaves = self.leaves.iter().map(|l| format!("leave {l}\n"));
        let corrupt = self.corrupt.iter().map(|c| format!("corrupt {c}\n"));
        let freeride = self.freeride.iter().map(|r| format!("freeride {r}\n"));
        leaves.chain(corrupt).chain(freeride).collect()
    }
}

/// The options' faults and those of the faults file at `path`, if one is given.
pub fn read_faults(options: &Faults, path: Option<&Path>) -> Result<Faults, InputError> {
    let Some(path) = path else { return Ok(options.clone()) };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InputError::new(&shown, None, format!("cannot read: {e}")))?;
    let mut faults = parse_faults(&text, &shown)?;
    faults.leaves.extend_from_slice(&options.leaves);
    faults.corrupt.extend_from_slice(&options.corrupt);
    faults.freeride.extend_from_slice(&options.freeride);
    Ok(faults)
}

/// Parses a faults file's text; `shown` names it in errors.
pub fn parse_faults(text: &str, shown: &str) -> Result<Faults, InputError> {
    let mut faults = Faults::default();
    for (at, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let error = |problem: String| InputError::new(shown, Some(at + 1), problem);
        let fields: Vec<&str> = line.split('#').next().unwrap_or("").split_whitespace().collect();
        match fields[..] {
            [] => {}
            ["leave", leave] => faults.leaves.push(parse_leave(leave).map_err(|p| error(p.0))?),
            ["corrupt", corrupt] => faults.corrupt.push(parse_corrupt(corrupt).map_err(|p| error(p.0))?),
            ["freeride", peer] => faults.freeride.push(parse_peer(peer).map_err(|p| error(p.0))?),
            _ => return Err(error(format!("expected {EXPECTED}, got '{}'", line.trim()))),
        }
    }
    Ok(faults)
}

/// What a faults file's lines may say.
const EXPECTED: &str = "'leave RANK@MS', 'corrupt RANK:PROBABILITY' or 'freeride RANK'";

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
pub fn parse_leave(text: &str) -> Result<Leave, Invalid> {
    let (peer, at) = text.split_once('@').ok_or_else(|| Invalid(format!("'{text}' is not RANK@MS, as in 3@500")))?;
    let peer = parse_peer(peer)?;
    let at_ms = at.trim().parse().map_err(|_| Invalid(format!("'{at}' is not a time in whole milliseconds")))?;
    Ok(Leave { peer, at_ms })
}

/// Parses `R:P`, for `--corrupt`.
pub fn parse_corrupt(text: &str) -> Result<Corrupt, Invalid> {
    let (peer, p) = text.split_once(':').ok_or_else(|| Invalid(format!("'{text}' is not RANK:PROBABILITY, as in 3:0.2")))?;
    let peer = parse_peer(peer)?;
    let probability: f64 = p.trim().parse().map_err(|_| Invalid(format!("'{p}' is not a probability")))?;
    if !(0.0..=1.0).contains(&probability) {
        return Err(Invalid(format!("probability {probability} is not between 0 and 1")));
    }
    Ok(Corrupt { peer, probability })
}

pub fn parse_peer(text: &str) -> Result<Rank, Invalid> {
    match text.trim().parse::<u32>() {
        Ok(0) => Err(Invalid("rank 0 is the tracker, not a peer".into())),
        Ok(rank) => Ok(Rank(rank)),
        Err(_) => Err(Invalid(format!("'{text}' is not a peer's rank"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_leaves_and_corruption_and_names_what_is_wrong() {
        assert_eq!(parse_leave("3@500"), Ok(Leave { peer: Rank(3), at_ms: 500 }));
        assert_eq!(parse_corrupt("2:0.25"), Ok(Corrupt { peer: Rank(2), probability: 0.25 }));
        assert!(parse_leave("3").unwrap_err().0.contains("RANK@MS"));
        assert!(parse_leave("0@5").unwrap_err().0.contains("tracker"));
        assert!(parse_leave("3@-1").unwrap_err().0.contains("milliseconds"));
        assert!(parse_corrupt("2:1.5").unwrap_err().0.contains("between 0 and 1"));
        assert!(parse_corrupt("x:0.5").unwrap_err().0.contains("rank"));
    }

    #[test]
    fn a_file_is_stranded_when_every_owner_free_rides_and_someone_wants_it() {
        // Ranks 1 and 2 own file 0, rank 3 owns file 1; rank 4 wants both; nobody owns file 2.
        let peers: [(&[usize], &[usize]); 4] = [(&[0], &[]), (&[0], &[]), (&[1], &[2]), (&[], &[0, 1])];
        let riding = |ranks: &'static [u32]| move |peer: Rank| ranks.contains(&peer.0);
        assert_eq!(Faults::stranded(&peers, riding(&[1, 4])), None, "rank 2 still serves file 0");
        assert_eq!(Faults::stranded(&peers, riding(&[1, 2])), Some(0));
        assert_eq!(Faults::stranded(&peers, riding(&[3])), Some(1));
        assert_eq!(Faults::stranded(&peers, riding(&[])), None, "a file nobody owns is no free rider's doing");
        assert_eq!(Faults::owners(&peers, 0).collect::<Vec<_>>(), [Rank(1), Rank(2)]);
    }

    #[test]
    fn peers_are_checked_against_the_run() {
        let faults = Faults { leaves: vec![Leave { peer: Rank(4), at_ms: 1 }], ..Faults::default() };
        assert!(faults.check(5).is_ok());
        let rider = Faults { freeride: vec![Rank(5)], ..Faults::default() };
        assert_eq!(rider.check(5).unwrap_err().0, "--freeride names rank 5, but the peers of this run are ranks 1 to 4");
        assert_eq!(faults.check(4).unwrap_err().0, "--leave names rank 4, but the peers of this run are ranks 1 to 3");
        let twice =
            Faults { leaves: vec![Leave { peer: Rank(2), at_ms: 9 }, Leave { peer: Rank(2), at_ms: 3 }], ..Faults::default() };
        assert_eq!(twice.leave_of(Rank(2)), Some(3));
        assert_eq!(twice.leave_of(Rank(1)), None);
    }

    #[test]
    fn a_faults_file_reads_like_the_options_and_names_the_line_of_a_mistake() {
        let faults = parse_faults("\u{feff}# faults\n\nleave 3@500  # the seed\ncorrupt 2:0.25\r\n", "f.txt").unwrap();
        assert_eq!(faults.leaves, [Leave { peer: Rank(3), at_ms: 500 }]);
        assert_eq!(faults.corrupt, [Corrupt { peer: Rank(2), probability: 0.25 }]);
        assert_eq!(parse_faults(&faults.text(), "again").unwrap(), faults);
        let error = |text: &str| parse_faults(text, "f.txt").unwrap_err().to_string();
        assert_eq!(error("leave 3@500\nleave 4"), "f.txt:2: '4' is not RANK@MS, as in 3@500");
        assert_eq!(error("corrupt 2:2"), "f.txt:1: probability 2 is not between 0 and 1");
        let expected = "expected 'leave RANK@MS', 'corrupt RANK:PROBABILITY' or 'freeride RANK'";
        assert_eq!(error("\nstop 3"), format!("f.txt:2: {expected}, got 'stop 3'"));
        assert_eq!(error("leave 3 @ 500"), format!("f.txt:1: {expected}, got 'leave 3 @ 500'"));
        assert_eq!(error("freeride 0"), "f.txt:1: rank 0 is the tracker, not a peer");
        let riders = parse_faults("freeride 4 # takes, never gives\nfreeride 5", "f.txt").unwrap();
        assert_eq!(riders.freeride, [Rank(4), Rank(5)]);
        assert!(riders.free_rides(Rank(5)) && !riders.free_rides(Rank(3)));
        assert_eq!(parse_faults(&riders.text(), "again").unwrap(), riders);
    }
}
