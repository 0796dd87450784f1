//! Typed, timestamped events that the tracker and the peers emit as the swarm works. Peers
//! forward theirs to rank 0 in batches; there every consumer (the final report, the dashboard,
//! the recorder) reads one stream, through the state model in [`crate::model`].

use crate::ids::{ChunkIdx, FileId, Rank};
use crate::model::RunHeader;
use serde::{Deserialize, Serialize};
use std::time::Instant;

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

/// A request the tracker handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    FileRequest,
    /// A report of chunks received, every few chunks.
    Update,
    FileComplete,
    PeerDone,
}

/// One member of a swarm as the tracker announces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub peer: Rank,
    pub role: Role,
    /// Uploads served, as the tracker counts them: the member's busyness.
    pub uploads: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// The tracker heard from every peer and let the downloads begin.
    Started,
    /// The tracker handled a request from `peer` and answered it with `replies` messages.
    TrackerRequest { peer: Rank, request: Request, replies: u32 },
    /// The tracker's view of a swarm changed or was sent out, least busy first.
    SwarmUpdated { file: FileId, members: Vec<Member> },
    /// The tracker learnt that `peer` has all of `file`: it is a seed of it now.
    FileCompleted { peer: Rank, file: FileId },
    /// `peer` has everything it wanted.
    PeerDone { peer: Rank },
    /// Every peer was done; the tracker told every upload thread to stop.
    Shutdown,
    ChunkRequested { downloader: Rank, uploader: Rank, file: FileId, chunk: ChunkIdx },
    /// The uploader sent the chunk's hash: an ACK.
    ChunkServed { uploader: Rank, downloader: Rank, file: FileId, chunk: ChunkIdx },
    /// The uploader answered that it does not hold the chunk.
    ChunkNacked { downloader: Rank, uploader: Rank, file: FileId, chunk: ChunkIdx },
    /// The downloader verified the chunk against the tracker's hash and now holds it: a transfer.
    ChunkReceived { downloader: Rank, uploader: Rank, file: FileId, chunk: ChunkIdx },
    /// The hash that came back was not the tracker's.
    ChunkRejected { downloader: Rank, uploader: Rank, file: FileId, chunk: ChunkIdx },
    /// `peer` reported `chunks` newly held chunks of `file` to the tracker.
    SegmentReported { peer: Rank, file: FileId, chunks: u32 },
}

/// An event and when it happened: microseconds since the run's start, by the clock of the rank
/// that emitted it (each rank starts its clock when the tracker's start reaches it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped {
    pub at: u64,
    pub event: Event,
}

/// What rank 0's consumers read: the run's header once everyone registered, then its events.
#[derive(Clone, Debug, PartialEq)]
pub enum Feed {
    Begin(RunHeader),
    Event(Stamped),
}

pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}

/// Microseconds since the run started, for stamping events.
#[derive(Clone, Copy, Debug)]
pub struct Clock(Instant);

impl Clock {
    pub fn start() -> Clock {
        Clock(Instant::now())
    }

    pub fn stamp(&self, event: Event) -> Stamped {
        Stamped { at: self.0.elapsed().as_micros() as u64, event }
    }
}
