//! A run as a Chrome trace (the JSON trace event format, which Perfetto and chrome://tracing
//! open): a process per rank; each peer's uploads and downloads on tracks of their own, as many
//! of each as the transfers that overlap need (slices on one track must nest, and transfers only
//! overlap); flow arrows from each upload to its download; a counter of the chunks each peer
//! received; the tracker's milestones as instant events.
//!
//! An upload's slice ends when the chunk was served and lasts the chunk time; its download's
//! slice starts with it and ends when the chunk arrived. Each arrow starts inside the upload's
//! slice and ends inside the download's (`"bp": "e"`), one microsecond before each ends.

use super::{transfers, Transfer};
use crate::protocol::events::Event;
use crate::protocol::ids::Rank;
use crate::record::log::Log;
use serde_json::{json, Value};

/// The shortest slice, in microseconds: room for an arrow's end inside it.
const SHORTEST: u64 = 2;
/// Tracks are numbered from here: uploads first, then downloads.
const UPLOAD_TRACKS: u64 = 1;
const DOWNLOAD_TRACKS: u64 = 1001;

/// The trace's JSON text. Each event is written out as soon as it is made: a tree of every event
/// of a long run would take far more memory than its text.
pub fn trace(log: &Log) -> String {
    let header = &log.header;
    let chunk_time = header.options.chunk_time_ms.saturating_mul(1000).max(SHORTEST);
    let mut events = Events::default();
    events.push(json!({"ph": "M", "name": "process_name", "pid": 0, "args": {"name": "tracker"}}));
    for peer in 1..=header.peers {
        events.push(json!({"ph": "M", "name": "process_name", "pid": peer, "args": {"name": format!("peer {peer}")}}));
        events.push(json!({"ph": "M", "name": "process_sort_index", "pid": peer, "args": {"sort_index": peer}}));
    }
    let name = |t: &Transfer| {
        let file = header.files.get(t.file.index()).map_or("?", |f| f.name.as_str());
        format!("{file}#{}", t.chunk.0)
    };
    let mut lanes = Lanes::default();
    for (id, t) in transfers(&log.events).iter().enumerate() {
        let (chunk, start) = (name(t), t.served_at.saturating_sub(chunk_time));
        let served = t.served_at.max(start.saturating_add(SHORTEST));
        let upload = lanes.place(t.uploader, UPLOAD_TRACKS, start, served);
        let args = json!({"file": chunk, "to": t.downloader.0});
        events.push(slice(t.uploader, upload, start, served, format!("→{} {chunk}", t.downloader), args));
        // An arrow only for a chunk that arrived: a flow needs both its ends.
        let Some(arrived) = t.arrived_at else { continue };
        let end = arrived.max(start.saturating_add(SHORTEST));
        let download = lanes.place(t.downloader, DOWNLOAD_TRACKS, start, end);
        let args = json!({"file": chunk, "from": t.uploader.0});
        events.push(slice(t.downloader, download, start, end, format!("←{} {chunk}", t.uploader), args));
        let flow = |ph: &str, rank: Rank, track: u64, ts: u64| json!({"ph": ph, "id": id, "name": "chunk", "cat": "transfer", "pid": rank.0, "tid": track, "ts": ts});
        events.push(flow("s", t.uploader, upload, served - 1));
        let mut finish = flow("f", t.downloader, download, end - 1);
        finish["bp"] = "e".into(); // bound to the slice it lies in, the download
        events.push(finish);
    }
    for (rank, first, count) in lanes.tracks() {
        let kind = if first == UPLOAD_TRACKS { "upload" } else { "download" };
        for lane in 0..count {
            let track = first + lane;
            events.push(json!({"ph": "M", "name": "thread_name", "pid": rank.0, "tid": track, "args": {"name": format!("{kind} {}", lane + 1)}}));
            events.push(
                json!({"ph": "M", "name": "thread_sort_index", "pid": rank.0, "tid": track, "args": {"sort_index": track}}),
            );
        }
    }
    let mut held = vec![0u64; header.peers as usize + 1];
    for stamped in &log.events {
        match &stamped.event {
            Event::ChunkReceived { downloader, .. } if downloader.0 <= header.peers => {
                held[downloader.0 as usize] += 1;
                let args = json!({"chunks": held[downloader.0 as usize]});
                events.push(json!({"ph": "C", "name": "chunks received", "pid": downloader.0, "ts": stamped.at, "args": args}));
            }
            Event::Started | Event::Shutdown | Event::FileCompleted { .. } | Event::PeerDone { .. } | Event::PeerLeft { .. } => {
                let name = serde_json::to_value(&stamped.event).expect("events serialize");
                let name = name.as_str().map(String::from).unwrap_or_else(|| name.to_string());
                events.push(json!({"ph": "i", "s": "p", "name": name, "pid": 0, "tid": 0, "ts": stamped.at}));
            }
            _ => {}
        }
    }
    events.0 + "],\"displayTimeUnit\":\"ms\"}\n"
}

/// The trace's text so far: its start and the events, comma-separated.
struct Events(String);

impl Default for Events {
    fn default() -> Self {
        Events("{\"traceEvents\":[".to_string())
    }
}

impl Events {
    fn push(&mut self, event: Value) {
        if !self.0.ends_with('[') {
            self.0.push(',');
        }
        self.0 += &event.to_string();
    }
}

fn slice(rank: Rank, track: u64, start: u64, end: u64, name: String, args: Value) -> Value {
    json!({"ph": "X", "name": name, "cat": "transfer", "pid": rank.0, "tid": track, "ts": start, "dur": end - start, "args": args})
}

/// The tracks of each rank's uploads or downloads: a slice goes on the first track free by its
/// start, so none overlap on one track.
#[derive(Default)]
struct Lanes {
    /// Per (rank, first track): when each track's last slice ends.
    busy_until: std::collections::BTreeMap<(Rank, u64), Vec<u64>>,
}

impl Lanes {
    /// The track for a slice from `start` to `end`.
    fn place(&mut self, rank: Rank, first: u64, start: u64, end: u64) -> u64 {
        let lanes = self.busy_until.entry((rank, first)).or_default();
        let lane = match lanes.iter().position(|&until| until <= start) {
            Some(lane) => lane,
            None => {
                lanes.push(0);
                lanes.len() - 1
            }
        };
        lanes[lane] = end;
        first + lane as u64
    }

    /// Every rank's first track of a kind and how many there are.
    fn tracks(&self) -> impl Iterator<Item = (Rank, u64, u64)> + '_ {
        self.busy_until.iter().map(|(&(rank, first), lanes)| (rank, first, lanes.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    /// The trace format's rules that Perfetto relies on, checked on a real run's trace.
    #[test]
    fn the_trace_keeps_the_formats_rules_and_has_an_arrow_per_arrival() {
        let log = crate::analysis::export::recorded_run();
        let trace: Value = serde_json::from_str(&trace(&log)).expect("the trace is JSON");
        let events = trace["traceEvents"].as_array().unwrap();
        let field = |e: &Value, key: &str| e[key].as_u64().unwrap_or_else(|| panic!("{key} in {e}"));
        let of = |ph: &'static str| events.iter().filter(move |e| e["ph"] == ph);

        // Slices on one track never overlap, so they nest trivially.
        let mut tracks: BTreeMap<(u64, u64), Vec<(u64, u64)>> = BTreeMap::new();
        for e in of("X") {
            let start = field(e, "ts");
            tracks.entry((field(e, "pid"), field(e, "tid"))).or_default().push((start, start + field(e, "dur")));
        }
        for slices in tracks.values_mut() {
            slices.sort_unstable();
            assert!(slices.windows(2).all(|w| w[0].1 <= w[1].0), "{slices:?}");
        }
        // Every track and process is named.
        let named: Vec<(u64, u64)> =
            of("M").filter(|e| e["name"] == "thread_name").map(|e| (field(e, "pid"), field(e, "tid"))).collect();
        assert!(tracks.keys().all(|track| named.contains(track)), "{named:?}");
        assert_eq!(of("M").filter(|e| e["name"] == "process_name").count(), log.header.peers as usize + 1);

        // Flow events bind to slices: each start and end lies inside a slice of its own track.
        let inside = |e: &Value| {
            let ts = field(e, "ts");
            tracks.get(&(field(e, "pid"), field(e, "tid"))).is_some_and(|s| s.iter().any(|&(a, b)| a <= ts && ts < b))
        };
        let starts: HashMap<u64, &Value> = of("s").map(|e| (field(e, "id"), e)).collect();
        let mut ends = 0;
        for end in of("f") {
            let start = starts[&field(end, "id")];
            assert_eq!(end["bp"], "e", "{end}");
            assert!(inside(start) && inside(end), "{start} {end}");
            assert!(field(start, "ts") <= field(end, "ts") && field(start, "pid") != field(end, "pid"));
            ends += 1;
        }
        let arrivals = crate::analysis::export::transfers(&log.events).iter().filter(|t| t.arrived_at.is_some()).count();
        assert_eq!((ends, starts.len()), (arrivals, arrivals), "an arrow per arrival, each with both ends");
        assert!(of("C").count() > 0 && of("i").any(|e| e["name"] == "Started"));
    }
}
