//! Everything ranks say to each other. Each kind of message has its own MPI tag and goes to one
//! endpoint (thread) of the receiving rank.

use crate::protocol::events::{After, Stamped};
use crate::protocol::hash::ChunkHash;
use crate::protocol::ids::{ChunkIdx, FileId, Rank};
use crate::scenario::capacity::Capacity;
use crate::scenario::fault::Faults;
use crate::scenario::input::{InputError, PeerInput};
use fixedbitset::FixedBitSet;
use serde::{Deserialize, Serialize};

/// The thread of a rank that a message is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Tracker,
    Download,
    Upload,
    /// Rank 0's collector of the peers' events.
    Events,
}

impl Endpoint {
    pub const ALL: [Endpoint; 4] = [Endpoint::Tracker, Endpoint::Download, Endpoint::Upload, Endpoint::Events];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The endpoint a tag is for: tags 1-9 go to the tracker, 10-19 to a peer's download thread,
    /// 20-29 to its upload thread, 30-39 to rank 0's event collector.
    pub fn of_tag(tag: i32) -> Option<Endpoint> {
        match tag {
            1..=9 => Some(Endpoint::Tracker),
            10..=19 => Some(Endpoint::Download),
            20..=29 => Some(Endpoint::Upload),
            30..=39 => Some(Endpoint::Events),
            _ => None,
        }
    }

    /// Whether a rank runs this endpoint: the tracker and the collector run on rank 0, the two peer
    /// threads elsewhere.
    pub fn runs_on(self, rank: Rank) -> bool {
        matches!(self, Endpoint::Tracker | Endpoint::Events) == (rank == Rank::TRACKER)
    }
}

/// What a peer tells the tracker at start: its input, or why it could not read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    /// The input file as the peer names it in errors.
    pub path: String,
    pub input: Result<PeerInput, InputError>,
}

/// Which chunks of a file a swarm member holds, as the tracker knows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Holding {
    /// A seed: owns or has completed the whole file.
    All,
    /// A peer still downloading: the chunks it has reported.
    Some(FixedBitSet),
}

impl Holding {
    pub fn has(&self, chunk: ChunkIdx) -> bool {
        match self {
            Holding::All => true,
            Holding::Some(bits) => bits.contains(chunk.index()),
        }
    }

    /// Adds what `news` says is held, since a holding only grows; whether anything was new.
    pub fn learn(&mut self, news: &Holding) -> bool {
        match (&mut *self, news) {
            (Holding::All, _) => false,
            (_, Holding::All) => {
                *self = Holding::All;
                true
            }
            (Holding::Some(mine), Holding::Some(theirs)) => {
                // Word by word: every reply carries the uploader's whole holding.
                let new = !theirs.is_subset(mine);
                mine.grow(theirs.len());
                mine.union_with(theirs);
                new
            }
        }
    }

    /// Whether it holds any of a file's `chunks` chunks that `held` lacks.
    pub fn offers(&self, held: &FixedBitSet, chunks: usize) -> bool {
        match self {
            Holding::All => held.count_ones(..chunks.min(held.len())) < chunks,
            Holding::Some(bits) => offers(bits, held, chunks),
        }
    }
}

/// Whether `bits` has any of a file's `chunks` chunks that `held` lacks.
pub fn offers(bits: &FixedBitSet, held: &FixedBitSet, chunks: usize) -> bool {
    if bits.len() <= chunks {
        // Word by word: this runs for every interest at every member, on files of thousands of chunks.
        !bits.is_subset(held)
    } else {
        bits.difference(held).any(|c| c < chunks)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwarmMember {
    pub rank: Rank,
    /// Uploads served so far, as the tracker has counted them from downloaders' reports.
    pub uploads: u64,
    /// Requests waiting at or being served by its upload thread, as it last reported.
    pub queue: u32,
    pub holding: Holding,
    /// Another peer reported that it sent a wrong hash: ask it only when no one else holds a chunk.
    pub suspect: bool,
}

/// A file's swarm, least busy member first.
pub type Swarm = Vec<SwarmMember>;

/// A chunk an uploader sends: which one (with `rarest`, an original owner may send another than
/// the one asked for) and its hash; and how many events the uploader had emitted, its
/// `ChunkServed` the last, for the chunk's arrival to be recorded after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    pub chunk: ChunkIdx,
    pub hash: ChunkHash,
    pub emitted: u64,
}

/// A chunk a peer received, and from whom, as reported to the tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    pub chunk: ChunkIdx,
    pub from: Rank,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message {
    // peer -> tracker; once the run started, each says how many events the peer had emitted
    // (`emitted`), and the tracker's events in answer are recorded after those.
    Register(Registration),
    FileRequest {
        file: FileId,
        emitted: u64,
    },
    /// Chunks received since the last report, and the length of this peer's upload queue.
    Update {
        file: FileId,
        received: Vec<Received>,
        queue: u32,
        emitted: u64,
    },
    FileComplete {
        file: FileId,
        received: Vec<Received>,
        emitted: u64,
    },
    PeerDone {
        emitted: u64,
    },
    /// The peer leaves the run (`--leave`): drop it from every swarm. Its last word.
    Leave {
        emitted: u64,
    },
    /// `from` sent a chunk of `file` whose hash was not the tracker's.
    BadSource {
        file: FileId,
        from: Rank,
        emitted: u64,
    },
    // tracker -> peer's download thread
    /// Everyone registered: downloads may begin. Carries the catalog of file names (a file's id is
    /// its position in it) and the run's start time, in microseconds since the Unix epoch, against
    /// which every rank stamps its events.
    /// Also every peer's capacity (rank 1 first): its own, and its uploaders' slots; and the
    /// faults to inject, from the options and the faults file.
    Start {
        catalog: Vec<String>,
        epoch_us: u64,
        capacities: Vec<Capacity>,
        faults: Faults,
    },
    /// The run cannot go on; the tracker prints the reason.
    Abort,
    FileInfo {
        file: FileId,
        hashes: Vec<ChunkHash>,
        swarm: Swarm,
    },
    SwarmReply {
        file: FileId,
        swarm: Swarm,
        /// Every peer that left the run so far: what a downloader asked of them is never answered.
        left: Vec<Rank>,
    },
    // upload thread (or, for a parked interest, download thread) -> download thread
    /// The answer to a request for `asked` (`None`: to an interest): the chunk sent (ACK), or
    /// nothing (NACK, a refusal to a peer the uploader chokes, or an interest answered). Always
    /// the uploader's holding, so downloaders learn who holds what from the data path, not only
    /// from the tracker, and whether the uploader chokes the requester now.
    ChunkReply {
        file: FileId,
        asked: Option<ChunkIdx>,
        sent: Option<Sent>,
        holding: Holding,
        choked: bool,
    },
    // download thread -> upload thread
    /// A request for `chunk`, or, with `None`, an interest: to be answered once the uploader
    /// holds something the requester lacks. `held` is what the requester holds or has on its way: what it wants from no one else
    /// (left empty in a named request unless the piece order is rarest-first, where an owner
    /// may send another chunk than the one named).
    ChunkRequest {
        file: FileId,
        chunk: Option<ChunkIdx>,
        held: FixedBitSet,
    },
    /// The requester needs nothing more from this uploader: answer its parked interests now.
    Withdraw {
        file: FileId,
    },
    // tracker -> upload thread
    Stop,
    // peer -> rank 0's collector
    /// A batch of the peer's events, each with the events of another rank it follows from, if
    /// any; `last` on its final batch, sent after the stop.
    Events {
        events: Vec<(Stamped, Option<After>)>,
        last: bool,
    },
}

impl Message {
    pub fn tag(&self) -> i32 {
        match self {
            Message::Register(_) => 1,
            Message::FileRequest { .. } => 2,
            Message::Update { .. } => 3,
            Message::FileComplete { .. } => 4,
            Message::PeerDone { .. } => 5,
            Message::Leave { .. } => 6,
            Message::BadSource { .. } => 7,
            Message::Start { .. } => 10,
            Message::Abort => 11,
            Message::FileInfo { .. } => 12,
            Message::SwarmReply { .. } => 13,
            Message::ChunkReply { .. } => 14,
            Message::ChunkRequest { .. } => 20,
            Message::Stop => 21,
            Message::Withdraw { .. } => 22,
            Message::Events { .. } => 30,
        }
    }

    /// How many events the sender of a request to the tracker had emitted when it sent it.
    pub fn emitted(&self) -> Option<u64> {
        match *self {
            Message::FileRequest { emitted, .. }
            | Message::Update { emitted, .. }
            | Message::FileComplete { emitted, .. }
            | Message::PeerDone { emitted }
            | Message::Leave { emitted }
            | Message::BadSource { emitted, .. } => Some(emitted),
            _ => None,
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::of_tag(self.tag()).expect("every tag has an endpoint")
    }

    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("messages always serialize")
    }

    pub fn decode(bytes: &[u8]) -> Result<Message, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// A received message and its sender.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    pub from: Rank,
    pub msg: Message,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::events::Event;
    use crate::scenario::fault::Leave;

    fn samples() -> Vec<Message> {
        let mut bits = FixedBitSet::with_capacity(70);
        bits.insert(3);
        bits.insert(69);
        let swarm = vec![
            SwarmMember { rank: Rank(2), uploads: 7, queue: 0, holding: Holding::All, suspect: true },
            SwarmMember { rank: Rank(1), uploads: 9, queue: 3, holding: Holding::Some(bits), suspect: false },
        ];
        vec![
            Message::Register(Registration { path: "in1.txt".into(), input: Ok(PeerInput::default()) }),
            Message::Register(Registration { path: "in1.txt".into(), input: Err(InputError::new("in1.txt", Some(3), "bad")) }),
            Message::FileRequest { file: FileId(1), emitted: 3 },
            Message::Update {
                file: FileId(0),
                received: vec![Received { chunk: ChunkIdx(4), from: Rank(3) }],
                queue: 2,
                emitted: 9,
            },
            Message::FileComplete { file: FileId(0), received: vec![], emitted: 12 },
            Message::PeerDone { emitted: 20 },
            Message::Leave { emitted: 0 },
            Message::BadSource { file: FileId(0), from: Rank(2), emitted: 5 },
            Message::Start {
                catalog: vec!["a".into(), "b".into()],
                epoch_us: 1_700_000_000_000_000,
                capacities: vec![Capacity { upload_slots: 2, download_limit: Some(3) }],
                faults: Faults { leaves: vec![Leave { peer: Rank(1), at_ms: 5 }], ..Faults::default() },
            },
            Message::Abort,
            Message::FileInfo { file: FileId(2), hashes: vec![ChunkHash::from_u128(9)], swarm: swarm.clone() },
            Message::SwarmReply { file: FileId(2), swarm, left: vec![Rank(4)] },
            Message::ChunkReply {
                file: FileId(0),
                asked: Some(ChunkIdx(1)),
                sent: Some(Sent { chunk: ChunkIdx(2), hash: ChunkHash::from_u128(1), emitted: 40 }),
                holding: Holding::All,
                choked: false,
            },
            Message::ChunkReply {
                file: FileId(0),
                asked: None,
                sent: None,
                holding: Holding::Some(FixedBitSet::with_capacity(3)),
                choked: true,
            },
            Message::ChunkRequest { file: FileId(0), chunk: Some(ChunkIdx(1)), held: FixedBitSet::with_capacity(9) },
            Message::Withdraw { file: FileId(0) },
            Message::Stop,
            Message::Events {
                events: vec![
                    (Stamped { at: 7, event: Event::Started }, None),
                    (Stamped { at: 8, event: Event::PeerDone { peer: Rank(1) } }, Some(After { rank: Rank(2), events: 4 })),
                ],
                last: true,
            },
        ]
    }

    #[test]
    fn every_message_round_trips_through_its_encoding() {
        for msg in samples() {
            assert_eq!(Message::decode(&msg.encode()).unwrap(), msg);
        }
    }

    #[test]
    fn each_kind_has_its_own_tag_and_one_endpoint() {
        let tags: std::collections::BTreeSet<i32> = samples().iter().map(Message::tag).collect();
        assert_eq!(tags.len(), 16, "{tags:?}");
        assert_eq!(Message::Stop.endpoint(), Endpoint::Upload);
        let held = FixedBitSet::new();
        assert_eq!(Message::ChunkRequest { file: FileId(0), chunk: None, held }.endpoint(), Endpoint::Upload);
        assert_eq!(Message::Withdraw { file: FileId(0) }.endpoint(), Endpoint::Upload);
        let reply = Message::ChunkReply { file: FileId(0), asked: None, sent: None, holding: Holding::All, choked: false };
        assert_eq!(reply.endpoint(), Endpoint::Download);
        assert_eq!(Endpoint::of_tag(0), None);
        assert_eq!(Endpoint::of_tag(40), None);
        assert!(Endpoint::Tracker.runs_on(Rank(0)) && !Endpoint::Tracker.runs_on(Rank(3)));
        assert!(Endpoint::Upload.runs_on(Rank(3)) && !Endpoint::Download.runs_on(Rank(0)));
        assert_eq!(Message::Abort.endpoint(), Endpoint::Download);
        assert_eq!(Message::PeerDone { emitted: 0 }.endpoint(), Endpoint::Tracker);
        assert_eq!(Message::Events { events: vec![], last: false }.endpoint(), Endpoint::Events);
        assert!(Endpoint::Events.runs_on(Rank(0)) && !Endpoint::Events.runs_on(Rank(1)));
    }

    #[test]
    fn holdings_grow_by_what_is_learnt_and_say_what_they_offer() {
        let bits = |chunks: &[usize]| {
            let mut b = FixedBitSet::with_capacity(4);
            chunks.iter().for_each(|&c| b.insert(c));
            b
        };
        let mut holding = Holding::Some(bits(&[0]));
        assert!(!holding.learn(&Holding::Some(bits(&[0]))));
        assert!(holding.learn(&Holding::Some(bits(&[2]))));
        assert_eq!(holding, Holding::Some(bits(&[0, 2])));
        let mut unknown = Holding::Some(FixedBitSet::new());
        assert!(unknown.learn(&Holding::Some(bits(&[3]))), "a chunk past what it knew of is new");
        assert!(!unknown.learn(&Holding::Some(bits(&[3]))));
        assert!(holding.offers(&bits(&[0]), 4) && !holding.offers(&bits(&[0, 2, 3]), 4));
        assert!(holding.learn(&Holding::All) && !holding.learn(&Holding::Some(bits(&[1]))));
        assert!(holding.offers(&bits(&[0, 1, 2]), 4) && !holding.offers(&bits(&[0, 1, 2, 3]), 4));
    }

    #[test]
    fn garbage_does_not_decode() {
        assert!(Message::decode(&[0xff, 0xff, 0xff]).is_err());
    }
}
