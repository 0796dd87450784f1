//! Typed events that the tracker and the peers emit as the swarm works. Consumers (the final
//! report now; the dashboard and the recorder later) receive them through one [`EventSink`].

use crate::ids::{ChunkIdx, FileId, Rank};
use crate::message::PeerTally;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// A swarm member's role in one file, as the tracker sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Holds the whole file.
    Seed,
    /// Downloading, and already holds some chunks.
    Peer,
    /// Downloading, holds nothing yet.
    Leecher,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The tracker heard from every peer and let the downloads begin.
    Started { peers: u32, files: u32 },
    ChunkRequested { downloader: Rank, uploader: Rank, file: FileId, chunk: ChunkIdx },
    /// The uploader answered that it does not hold the chunk.
    ChunkNacked { downloader: Rank, uploader: Rank, file: FileId, chunk: ChunkIdx },
    /// The uploader sent the chunk's hash (its upload thread's view).
    ChunkServed { uploader: Rank, downloader: Rank, file: FileId, chunk: ChunkIdx },
    /// The downloader verified the chunk against the tracker's hash and now holds it.
    ChunkReceived { downloader: Rank, uploader: Rank, file: FileId, chunk: ChunkIdx },
    /// The hash that came back was not the tracker's.
    ChunkRejected { downloader: Rank, uploader: Rank, file: FileId, chunk: ChunkIdx },
    /// The tracker's view of a swarm changed or was sent out, least busy first.
    SwarmUpdated { file: FileId, members: Vec<(Rank, Role, u64)> },
    FileCompleted { peer: Rank, file: FileId },
    PeerDone { peer: Rank },
    /// The tracker told every upload thread to stop.
    Shutdown,
}

pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}

/// Discards every event.
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _: Event) {}
}

/// Folds one peer's own events into the counts it reports when it is done.
#[derive(Default)]
pub struct Tally(Mutex<PeerTally>);

impl Tally {
    pub fn snapshot(&self) -> PeerTally {
        self.0.lock().expect("tally lock").clone()
    }
}

impl PeerTally {
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::ChunkRequested { .. } => self.requests_sent += 1,
            Event::ChunkNacked { .. } => self.nacks_received += 1,
            Event::ChunkRejected { .. } => self.bad_hashes += 1,
            _ => {}
        }
    }
}

impl EventSink for Tally {
    fn emit(&self, event: Event) {
        self.0.lock().expect("tally lock").apply(&event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_requests_nacks_and_bad_hashes() {
        let tally = Tally::default();
        let (d, u, file, chunk) = (Rank(1), Rank(2), FileId(0), ChunkIdx(0));
        tally.emit(Event::ChunkRequested { downloader: d, uploader: u, file, chunk });
        tally.emit(Event::ChunkRequested { downloader: d, uploader: u, file, chunk });
        tally.emit(Event::ChunkNacked { downloader: d, uploader: u, file, chunk });
        tally.emit(Event::ChunkRejected { downloader: d, uploader: u, file, chunk });
        tally.emit(Event::ChunkReceived { downloader: d, uploader: u, file, chunk });
        assert_eq!(tally.snapshot(), PeerTally { requests_sent: 2, nacks_received: 1, bad_hashes: 1 });
    }
}
