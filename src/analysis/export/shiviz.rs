//! A run as a ShiViz log: the default parser expression's format, each event a line of text and
//! then a line `<host> <vector clock>`, the hosts `tracker` and `peer1`, `peer2`, .... The file
//! begins with that expression and an empty line (one execution), as ShiViz expects of a file.
//!
//! Every rank's clock counts its own events from 1, one by one. The arrival of a chunk (kept,
//! rejected or a duplicate) merges the clock its uploader had when it served it, so ShiViz draws
//! the transfer as a message. Events are taken in time order, each rank's in the order it
//! emitted them, and an upload before an arrival stamped the same microsecond.

use crate::protocol::events::{Arrival, Event, Stamped};
use crate::protocol::ids::{FileId, Rank};
use crate::record::log::Log;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;

/// ShiViz's default parser expression, written on the file's first line.
pub const DEFAULT_EXPRESSION: &str = r"(?<event>.*)\n(?<host>\S*) (?<clock>{.*})";

/// A vector clock: each host's count of events, hosts not yet heard of left out.
type Clock = BTreeMap<String, u64>;

pub fn text(log: &Log) -> String {
    let mut order: Vec<&Stamped> = log.events.iter().collect();
    order.sort_by_key(|s| (s.at, s.event.arrival().is_some())); // stable: a rank's events keep their order
    let name = |file: FileId| log.header.files.get(file.index()).map_or("?", |f| f.name.as_str()).to_string();
    let mut clocks: HashMap<Rank, Clock> = HashMap::new();
    // The uploader's clock at each upload not yet arrived: (uploader, downloader, file, chunk).
    let mut in_transit: HashMap<Arrival, VecDeque<Clock>> = HashMap::new();
    let mut out = format!("{DEFAULT_EXPRESSION}\n\n");
    for stamped in order {
        let Some((rank, what)) = describe(&stamped.event, &name) else { continue };
        let clock = clocks.entry(rank).or_default();
        if let Some(arrival) = stamped.event.arrival() {
            let sent = in_transit.get_mut(&arrival).and_then(VecDeque::pop_front);
            for (host, count) in sent.into_iter().flatten() {
                let mine = clock.entry(host).or_default();
                *mine = (*mine).max(count);
            }
        }
        *clock.entry(host(rank)).or_default() += 1;
        if let Event::ChunkServed { uploader, downloader, file, chunk } = stamped.event {
            in_transit.entry((uploader, downloader, file, chunk)).or_default().push_back(clock.clone());
        }
        let clock = serde_json::to_string(&clock).expect("a clock serializes");
        writeln!(out, "{what} (at {} µs)\n{} {clock}", stamped.at, host(rank)).expect("writing to a string");
    }
    out
}

fn host(rank: Rank) -> String {
    match rank {
        Rank::TRACKER => "tracker".to_string(),
        peer => format!("peer{}", peer.0),
    }
}

/// The rank an event happened at, and what it says; `None` for events left out (the tracker's
/// bookkeeping).
fn describe(event: &Event, name: &dyn Fn(FileId) -> String) -> Option<(Rank, String)> {
    Some(match *event {
        Event::Started => (Rank::TRACKER, "start".into()),
        Event::Shutdown => (Rank::TRACKER, "stop".into()),
        Event::FileCompleted { peer, file } => (Rank::TRACKER, format!("peer {peer} completed {}", name(file))),
        Event::PeerDone { peer } => (Rank::TRACKER, format!("peer {peer} is done")),
        Event::PeerLeft { peer } => (Rank::TRACKER, format!("peer {peer} left")),
        Event::ChunkRequested { downloader, uploader, file, chunk } => {
            (downloader, format!("asks peer {uploader} for {}#{}", name(file), chunk.0))
        }
        Event::ChunkServed { uploader, downloader, file, chunk } => {
            (uploader, format!("serves {}#{} to peer {downloader}", name(file), chunk.0))
        }
        Event::ChunkReceived { downloader, uploader, file, chunk } => {
            (downloader, format!("receives {}#{} from peer {uploader}", name(file), chunk.0))
        }
        Event::ChunkRejected { downloader, uploader, file, chunk } => {
            (downloader, format!("rejects a wrong hash for {}#{} from peer {uploader}", name(file), chunk.0))
        }
        Event::ChunkDuplicate { downloader, uploader, file, chunk } => {
            (downloader, format!("receives a duplicate of {}#{} from peer {uploader}", name(file), chunk.0))
        }
        Event::ChunkNacked { downloader, uploader, file, chunk } => {
            (downloader, format!("peer {uploader} does not hold {}#{}", name(file), chunk.0))
        }
        Event::ChunkTimedOut { downloader, uploader, file, chunk } => {
            (downloader, format!("gives up waiting for {}#{} from peer {uploader}", name(file), chunk.0))
        }
        Event::FileAbandoned { peer, file } => (peer, format!("gives up on {}", name(file))),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read as ShiViz reads it with its default expression, `(?<event>.*)\n(?<host>\S*) (?<clock>{.*})`:
    /// every host's own count goes 1, 2, 3, ...; no count ever goes down; an arrival knows of
    /// its upload.
    #[test]
    fn the_log_reads_as_shiviz_default_expression_expects() {
        let log = crate::analysis::export::recorded_run();
        let text = text(&log);
        let body = text.strip_prefix(&format!("{DEFAULT_EXPRESSION}\n\n")).expect("the expression, then no delimiter");
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines.len() % 2, 0);
        let mut last: HashMap<String, Clock> = HashMap::new();
        // Each upload's text as the arrival will say it, and the uploader's count when it served.
        let mut uploads: HashMap<String, VecDeque<u64>> = HashMap::new();
        let mut arrivals = 0;
        for pair in lines.chunks(2) {
            let (event, stamp) = (pair[0], pair[1]);
            let (host, clock) = stamp.split_once(' ').expect("host, a space, the clock");
            assert!(!host.is_empty() && !host.contains(char::is_whitespace), "{stamp}");
            let clock: Clock = serde_json::from_str(clock).expect("the clock is a JSON object of counts");
            let before = last.remove(host).unwrap_or_default();
            assert_eq!(clock[host], before.get(host).copied().unwrap_or(0) + 1, "{event} / {stamp}");
            assert!(before.iter().all(|(h, n)| clock.get(h).is_some_and(|m| m >= n)), "{stamp} after {before:?}");
            let words: Vec<&str> = event.split(' ').collect();
            if let ["serves", chunk, "to", "peer", to, ..] = words[..] {
                uploads.entry(format!("{chunk} {host} {to}")).or_default().push_back(clock[host]);
            }
            let arrival = matches!(words[0], "receives" | "rejects");
            if let Some(at) = words.iter().position(|&w| w == "from").filter(|_| arrival) {
                // "receives f#3 from peer 2", "rejects a wrong hash for f#3 from peer 2", ...
                let (chunk, from) = (words[at - 1], words[at + 2]);
                let me = host.trim_start_matches("peer");
                let served = uploads.get_mut(&format!("{chunk} peer{from} {me}")).and_then(VecDeque::pop_front);
                let served = served.unwrap_or_else(|| panic!("{event}: no upload before it"));
                assert!(clock[&format!("peer{from}")] >= served, "{event} / {stamp}: knows of its upload");
                arrivals += 1;
            }
            last.insert(host.to_string(), clock);
        }
        let expected = log.events.iter().filter(|s| s.event.arrival().is_some()).count();
        assert_eq!(arrivals, expected);
    }
}
