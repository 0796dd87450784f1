//! Typed, timestamped events that the tracker and the peers emit as the swarm works. Peers
//! forward theirs to rank 0 in batches; there every consumer (the final report, the dashboard,
//! the recorder) reads one stream, through the analysis layer's state model.

use crate::protocol::ids::{ChunkIdx, FileId, Rank};
use crate::scenario::header::RunHeader;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A swarm member's role in one file, as the tracker sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Role {
    /// Holds the whole file.
    Seed,
    /// Downloading, and already holds some chunks.
    Peer,
    /// Downloading, holds nothing yet.
    Leecher,
}

/// A request the tracker handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Request {
    FileRequest,
    /// A report of chunks received, every few chunks.
    Update,
    FileComplete,
    PeerDone,
    /// A peer leaving the run.
    Leave,
    /// A downloader's report of a source that sent a wrong hash.
    BadSource,
}

/// One member of a swarm as the tracker announces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Member {
    pub peer: Rank,
    pub role: Role,
    /// Uploads served, as the tracker counts them: the member's busyness.
    pub uploads: u64,
}

/// Why a peer that still wants chunks of a file asks for no more of them now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Wait {
    /// The tracker has not answered the file request yet: no hashes, no swarm.
    Tracker,
    /// No member it knows of holds a chunk it lacks (and has not on its way), or it is backing
    /// off before asking the tracker again; chunks already asked for may still be on their way.
    NoHolder,
    /// Members hold what it lacks, but each of them already has as many of its requests as it
    /// serves at once.
    HoldersBusy,
    /// It has as many requests out as its download limit allows.
    Limit,
    /// It asks by interest (first-free): its interests wait for a holder's free slot.
    Interest,
    /// Every member holding a chunk it lacks chokes it (tit-for-tat): its interests wait to be
    /// unchoked.
    Choked,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Event {
    /// The tracker heard from every peer and let the downloads begin.
    Started,
    /// The tracker handled a request from `peer` and answered it with `replies` messages.
    TrackerRequest {
        peer: Rank,
        request: Request,
        replies: u32,
    },
    /// The tracker's view of a swarm changed or was sent out, least busy first.
    SwarmUpdated {
        file: FileId,
        members: Vec<Member>,
    },
    /// The tracker learnt that `peer` has all of `file`: it is a seed of it now.
    FileCompleted {
        peer: Rank,
        file: FileId,
    },
    /// `peer` has everything it wanted.
    PeerDone {
        peer: Rank,
    },
    /// Every peer was done; the tracker told every upload thread to stop.
    Shutdown,
    ChunkRequested {
        downloader: Rank,
        uploader: Rank,
        file: FileId,
        chunk: ChunkIdx,
    },
    /// The uploader sent the chunk's hash: an ACK.
    ChunkServed {
        uploader: Rank,
        downloader: Rank,
        file: FileId,
        chunk: ChunkIdx,
    },
    /// The uploader answered that it does not hold the chunk.
    ChunkNacked {
        downloader: Rank,
        uploader: Rank,
        file: FileId,
        chunk: ChunkIdx,
    },
    /// The downloader verified the chunk against the tracker's hash and now holds it: a transfer.
    ChunkReceived {
        downloader: Rank,
        uploader: Rank,
        file: FileId,
        chunk: ChunkIdx,
    },
    /// The hash that came back was not the tracker's.
    ChunkRejected {
        downloader: Rank,
        uploader: Rank,
        file: FileId,
        chunk: ChunkIdx,
    },
    /// A second copy of a chunk already held arrived: the price of the end game.
    ChunkDuplicate {
        downloader: Rank,
        uploader: Rank,
        file: FileId,
        chunk: ChunkIdx,
    },
    /// The uploader chokes the downloader, so it refused the request; the downloader asks
    /// elsewhere, and tells the uploader it is interested.
    ChunkChoked {
        downloader: Rank,
        uploader: Rank,
        file: FileId,
        chunk: ChunkIdx,
    },
    /// The uploader serves the downloader's requests from now on (tit-for-tat): for what the
    /// downloader gave it lately, or, if `optimistic`, as the one peer it tries for nothing.
    Unchoked {
        uploader: Rank,
        downloader: Rank,
        optimistic: bool,
    },
    /// The uploader stops serving the downloader: others gave it more, or the downloader asks
    /// nothing of it. Its requests are refused until it is unchoked again.
    Choked {
        uploader: Rank,
        downloader: Rank,
    },
    /// The uploader did not answer in time, or left (the tracker's answer to a report said so);
    /// the downloader asks elsewhere.
    ChunkTimedOut {
        downloader: Rank,
        uploader: Rank,
        file: FileId,
        chunk: ChunkIdx,
    },
    /// `peer` gave up on `file`: some chunk had no holder left that would serve it.
    FileAbandoned {
        peer: Rank,
        file: FileId,
    },
    /// `peer` left the run (`--leave`); the tracker dropped it from every swarm.
    PeerLeft {
        peer: Rank,
    },
    /// `reporter` told the tracker that `suspect` sent a wrong hash; the tracker lists it as a
    /// suspect from then on.
    SourceReported {
        reporter: Rank,
        suspect: Rank,
    },
    /// `peer` reported `chunks` newly held chunks of `file` to the tracker.
    SegmentReported {
        peer: Rank,
        file: FileId,
        chunks: u32,
    },
    /// The interests (requests naming no chunk, each answered once) and withdrawals of interests
    /// a peer sent since it last said, with each report to the tracker and as its download thread
    /// finishes: counted, not an event each, since first-free sends one or more for nearly every
    /// chunk.
    InterestsSent {
        peer: Rank,
        interests: u64,
        withdrawals: u64,
    },
    /// Why `peer`'s download of `file` asks for no more chunks now changed: `why` is the new
    /// reason, `None` once it asks at full pace again (or the download is over).
    Waiting {
        peer: Rank,
        file: FileId,
        why: Option<Wait>,
    },
    /// The CPU time a rank used from the tracker's start message on, sent as it finishes (under
    /// mpirun, one process a rank).
    CpuUsed {
        rank: Rank,
        micros: u64,
    },
}

/// A chunk that reached its downloader, and from whom: its uploader, downloader, file and chunk.
pub type Arrival = (Rank, Rank, FileId, ChunkIdx);

impl Event {
    /// The chunk this event says reached a downloader, kept, rejected or as a duplicate.
    pub fn arrival(&self) -> Option<Arrival> {
        match *self {
            Event::ChunkReceived { downloader, uploader, file, chunk }
            | Event::ChunkRejected { downloader, uploader, file, chunk }
            | Event::ChunkDuplicate { downloader, uploader, file, chunk } => Some((uploader, downloader, file, chunk)),
            _ => None,
        }
    }
}

/// An event and when it happened: microseconds since the tracker started the run. Every rank
/// stamps by the system clock against the start time the tracker sent, so events of different
/// ranks line up (exactly on one host; as well as the hosts' clocks agree on several).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stamped {
    pub at: u64,
    pub event: Event,
}

/// What rank 0's consumers read: the run's header once everyone registered, then its events.
#[derive(Clone, Debug, PartialEq)]
pub enum Feed {
    Begin(Box<RunHeader>),
    Event(Stamped),
}

/// Where an event stands in the run: after the first `events` events `rank` emitted. A chunk's
/// reply and every request to the tracker carry how many events their sender had emitted, so
/// that what the receiver emits because of them is recorded after those (`tracker::holdback`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct After {
    pub rank: Rank,
    pub events: u64,
}

pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);

    /// Emits an event that follows from another rank's events: rank 0 records it after them.
    fn emit_after(&self, event: Event, _after: After) {
        self.emit(event);
    }

    /// How many events this sink took so far: what a message sent now says its sender emitted.
    fn emitted(&self) -> u64;
}

/// Every event emitted, in order, for the tests to read.
#[cfg(test)]
#[derive(Default)]
pub struct Collected(std::sync::Mutex<Vec<Event>>);

#[cfg(test)]
impl Collected {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }
}

#[cfg(test)]
impl EventSink for Collected {
    fn emit(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }

    fn emitted(&self) -> u64 {
        self.0.lock().unwrap().len() as u64
    }
}

/// Microseconds since the run started, for stamping events.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// The start, in microseconds since the Unix epoch.
    epoch_us: u64,
}

impl Clock {
    /// A clock that starts `lead` from now: the tracker's.
    pub fn starting_in(lead: Duration) -> Clock {
        Clock { epoch_us: now_us() + lead.as_micros() as u64 }
    }

    /// A clock that started at the tracker's `epoch_us`.
    pub fn since(epoch_us: u64) -> Clock {
        Clock { epoch_us }
    }

    pub fn epoch_us(&self) -> u64 {
        self.epoch_us
    }

    pub fn stamp(&self, event: Event) -> Stamped {
        Stamped { at: now_us().saturating_sub(self.epoch_us), event }
    }
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// The CPU time, user and system, this process has used, in microseconds.
pub fn process_cpu_us() -> u64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage = unsafe { std::mem::zeroed::<libc::rusage>() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    micros(usage.ru_utime) + micros(usage.ru_stime)
}
