//! `mpitorrent export`: a recorded run in the formats of other tools, `chrome` (a trace that
//! Perfetto and chrome://tracing open) and `shiviz` (a log with vector clocks that ShiViz draws
//! as a time-space diagram).

pub mod chrome;
pub mod shiviz;

use crate::protocol::events::{Arrival, Event, Stamped};
use crate::protocol::ids::{ChunkIdx, FileId, Rank};
use std::collections::{HashMap, VecDeque};

/// The formats `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Chrome's trace event format: a process per rank, upload and download tracks, transfers
    /// as slices with flow arrows, counters of chunks held
    Chrome,
    /// A ShiViz log: every rank's events with vector clocks, a transfer linking its upload and
    /// its arrival
    Shiviz,
    /// An asciinema cast (asciicast v2) of the replay in the dashboard, at the run's own pace
    Asciicast,
    /// The dashboard at one moment (--at) as an SVG image
    Svg,
}

/// One chunk's way from an uploader to a downloader: when it was served and when (and whether)
/// it arrived. Sorted by the time it was served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub uploader: Rank,
    pub downloader: Rank,
    pub file: FileId,
    pub chunk: ChunkIdx,
    pub served_at: u64,
    /// When the downloader took it in (kept, rejected, or a duplicate); `None` if the log never
    /// says (the downloader left, or the log was cut).
    pub arrived_at: Option<u64>,
}

/// Every transfer of a log: the uploads of a chunk from one uploader to one downloader matched,
/// in turn, with its arrivals there.
pub fn transfers(events: &[Stamped]) -> Vec<Transfer> {
    let mut arrivals: HashMap<Arrival, VecDeque<u64>> = HashMap::new();
    let mut served: Vec<(Arrival, u64)> = Vec::new();
    for stamped in events {
        if let Event::ChunkServed { uploader, downloader, file, chunk } = stamped.event {
            served.push(((uploader, downloader, file, chunk), stamped.at));
        }
        if let Some(arrival) = stamped.event.arrival() {
            arrivals.entry(arrival).or_default().push_back(stamped.at);
        }
    }
    served.sort_by_key(|&(_, at)| at);
    for queue in arrivals.values_mut() {
        queue.make_contiguous().sort_unstable();
    }
    let transfer = |((uploader, downloader, file, chunk), served_at): (Arrival, u64)| {
        let arrived_at = arrivals.get_mut(&(uploader, downloader, file, chunk)).and_then(VecDeque::pop_front);
        Transfer { uploader, downloader, file, chunk, served_at, arrived_at }
    };
    served.into_iter().map(transfer).collect()
}

/// A real run, recorded: in-process, with a chunk time, two upload slots, the end game and a
/// liar, so every kind of transfer is in it.
#[cfg(test)]
pub(crate) fn recorded_run() -> crate::record::log::Log {
    use crate::protocol::strategy::PieceOrder;
    use crate::scenario::fault::{Corrupt, Faults};
    use crate::scenario::generate::{RandomSpec, Scenario};
    use crate::scenario::settings::{Settings, Strategy};
    use crate::tools::run::run_in_process_with;
    let scenario = Scenario::random(&RandomSpec { peers: 6, files: 2, chunks: 10..=30, owners: 1..=2, wanted: 1..=2 }, 3);
    let dir = tempfile::tempdir().unwrap();
    scenario.write(&dir.path().join("in")).unwrap();
    let config = Settings {
        inputs: dir.path().join("in"),
        out: dir.path().join("out"),
        chunk_time_ms: 1,
        upload_slots: 2,
        strategy: Strategy { pieces: PieceOrder::Rarest, end_game: true, ..Strategy::default() },
        faults: Faults { leaves: vec![], corrupt: vec![Corrupt { peer: Rank(1), probability: 0.3 }], ..Faults::default() },
        ..Settings::default()
    };
    let path = dir.path().join("run.log");
    let recorder = crate::record::log::Recorder::create(&path, false).unwrap();
    run_in_process_with(scenario.ranks(), &config, |t| t, Some(recorder)).unwrap();
    crate::record::log::Log::read(&path).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_upload_is_matched_with_its_arrival_once() {
        let log = recorded_run();
        let transfers = transfers(&log.events);
        let arrivals = log.events.iter().filter(|s| s.event.arrival().is_some()).count();
        assert_eq!(transfers.iter().filter(|t| t.arrived_at.is_some()).count(), arrivals);
        assert!(transfers.iter().all(|t| t.arrived_at.is_some_and(|at| at >= t.served_at)));
        assert!(transfers.windows(2).all(|w| w[0].served_at <= w[1].served_at));
    }
}
