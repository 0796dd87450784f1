//! The tracker's bookkeeping, free of any transport: it takes one message and says what to send.
//! See `INVARIANTS.md` for the rules it keeps.

use crate::events::{Event, EventSink, Role};
use crate::hash::ChunkHash;
use crate::ids::{FileId, Rank};
use crate::input::PeerInput;
use crate::message::{Holding, Message, PeerTally, Received, Swarm, SwarmMember};
use crate::report::{PeerReport, Report, TrackerReport};
use fixedbitset::FixedBitSet;
use std::collections::BTreeMap;
use std::time::Duration;

pub struct CatalogFile {
    pub name: String,
    pub hashes: Vec<ChunkHash>,
}

struct TrackedFile {
    name: String,
    hashes: Vec<ChunkHash>,
    /// Every peer that owns, has completed, or has asked for this file.
    members: BTreeMap<Rank, Holding>,
}

#[derive(Default)]
struct PeerRecord {
    owned: Vec<FileId>,
    wanted: Vec<FileId>,
    completed: Vec<FileId>,
    /// Chunks this peer received, by source, as it reported them.
    received_from: BTreeMap<Rank, u64>,
    /// Chunks other peers reported receiving from this one: its busyness.
    uploads: u64,
    /// Present once the peer is done.
    tally: Option<PeerTally>,
}

#[derive(Default)]
struct Counters {
    received: u64,
    sent: u64,
    file_requests: u64,
    updates: u64,
}

pub struct Tracker {
    files: Vec<TrackedFile>,
    peers: Vec<PeerRecord>,
    counters: Counters,
}

pub type Outgoing = Vec<(Rank, Message)>;

impl Tracker {
    /// `inputs[i]` is peer `i + 1`'s input, already checked against `files`.
    pub fn new(files: Vec<CatalogFile>, inputs: &[PeerInput]) -> Tracker {
        let mut files: Vec<TrackedFile> = files
            .into_iter()
            .map(|f| TrackedFile { name: f.name, hashes: f.hashes, members: BTreeMap::new() })
            .collect();
        let id_of = |name: &str, files: &[TrackedFile]| {
            FileId(files.iter().position(|f| f.name == name).expect("registry checked every name") as u32)
        };
        let peers = inputs
            .iter()
            .enumerate()
            .map(|(i, input)| {
                let owned: Vec<FileId> = input.owned.iter().map(|o| id_of(&o.name, &files)).collect();
                for &file in &owned {
                    files[file.index()].members.insert(Rank::from_peer_index(i), Holding::All);
                }
                let wanted = input.wanted.iter().map(|w| id_of(&w.name, &files)).collect();
                PeerRecord { owned, wanted, ..PeerRecord::default() }
            })
            .collect();
        // Each peer's registration was one message to the tracker.
        let counters = Counters { received: inputs.len() as u64, ..Counters::default() };
        Tracker { files, peers, counters }
    }

    pub fn catalog(&self) -> Vec<String> {
        self.files.iter().map(|f| f.name.clone()).collect()
    }

    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    pub fn all_done(&self) -> bool {
        self.peers.iter().all(|p| p.tally.is_some())
    }

    /// The message that lets every peer start, to each of them.
    pub fn start(&mut self, events: &dyn EventSink) -> Outgoing {
        events.emit(Event::Started { peers: self.peers.len() as u32, files: self.files.len() as u32 });
        let catalog = self.catalog();
        self.count_out((0..self.peers.len()).map(|i| (Rank::from_peer_index(i), Message::Start { catalog: catalog.clone() })).collect())
    }

    /// Handles one message from a peer. An error means the peer broke the protocol.
    pub fn handle(&mut self, from: Rank, msg: Message, events: &dyn EventSink) -> Result<Outgoing, String> {
        self.counters.received += 1;
        if from == Rank::TRACKER || from.peer_index() >= self.peers.len() {
            return Err(format!("message from rank {from}, which is not a peer"));
        }
        let out = match msg {
            Message::FileRequest { file } => {
                self.counters.file_requests += 1;
                let tracked = self.file_mut(file)?;
                let chunks = tracked.hashes.len();
                tracked.members.entry(from).or_insert_with(|| Holding::Some(FixedBitSet::with_capacity(chunks)));
                let hashes = tracked.hashes.clone();
                let swarm = self.swarm(file, events);
                vec![(from, Message::FileInfo { file, hashes, swarm })]
            }
            Message::Update { file, received } => {
                self.counters.updates += 1;
                self.record(from, file, &received)?;
                vec![(from, Message::SwarmReply { file, swarm: self.swarm(file, events) })]
            }
            Message::FileComplete { file, received } => {
                self.record(from, file, &received)?;
                self.file_mut(file)?.members.insert(from, Holding::All);
                self.peers[from.peer_index()].completed.push(file);
                events.emit(Event::FileCompleted { peer: from, file });
                self.swarm(file, events);
                vec![]
            }
            Message::PeerDone(tally) => {
                let record = &mut self.peers[from.peer_index()];
                if record.tally.replace(tally).is_some() {
                    return Err(format!("peer {from} said it was done twice"));
                }
                events.emit(Event::PeerDone { peer: from });
                if self.all_done() {
                    events.emit(Event::Shutdown);
                    (0..self.peers.len()).map(|i| (Rank::from_peer_index(i), Message::Stop)).collect()
                } else {
                    vec![]
                }
            }
            other => return Err(format!("unexpected message from peer {from}: {other:?}")),
        };
        Ok(self.count_out(out))
    }

    fn count_out(&mut self, out: Outgoing) -> Outgoing {
        self.counters.sent += out.len() as u64;
        out
    }

    fn file_mut(&mut self, file: FileId) -> Result<&mut TrackedFile, String> {
        self.files.get_mut(file.index()).ok_or_else(|| format!("no file with id {}", file.0))
    }

    /// Takes note of chunks `peer` received: it holds them now, and their sources were busy.
    fn record(&mut self, peer: Rank, file: FileId, received: &[Received]) -> Result<(), String> {
        let tracked = self.files.get_mut(file.index()).ok_or_else(|| format!("no file with id {}", file.0))?;
        let chunks = tracked.hashes.len();
        let holding = tracked
            .members
            .get_mut(&peer)
            .ok_or_else(|| format!("peer {peer} reported chunks of '{}' without asking for it", tracked.name))?;
        for r in received {
            if r.chunk.index() >= chunks || r.from == Rank::TRACKER || r.from.peer_index() >= self.peers.len() {
                return Err(format!("peer {peer} reported an impossible chunk {:?}", r));
            }
            if let Holding::Some(bits) = holding {
                bits.insert(r.chunk.index());
            }
            *self.peers[peer.peer_index()].received_from.entry(r.from).or_default() += 1;
            self.peers[r.from.peer_index()].uploads += 1;
        }
        Ok(())
    }

    /// The swarm of `file`, least busy first (ties by rank), as sent to peers and shown to viewers.
    fn swarm(&self, file: FileId, events: &dyn EventSink) -> Swarm {
        let mut swarm: Swarm = self.files[file.index()]
            .members
            .iter()
            .map(|(&rank, holding)| SwarmMember {
                rank,
                uploads: self.peers[rank.peer_index()].uploads,
                holding: holding.clone(),
            })
            .collect();
        swarm.sort_by_key(|m| (m.uploads, m.rank));
        let members = swarm
            .iter()
            .map(|m| {
                let role = match &m.holding {
                    Holding::All => Role::Seed,
                    Holding::Some(bits) if bits.is_clear() => Role::Leecher,
                    Holding::Some(_) => Role::Peer,
                };
                (m.rank, role, m.uploads)
            })
            .collect();
        events.emit(Event::SwarmUpdated { file, members });
        swarm
    }

    pub fn report(&self, wall_time: Duration) -> Report {
        let names = |ids: &[FileId]| ids.iter().map(|f| self.files[f.index()].name.clone()).collect::<Vec<_>>();
        let peers: Vec<PeerReport> = self
            .peers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let tally = p.tally.clone().unwrap_or_default();
                PeerReport {
                    rank: Rank::from_peer_index(i).0,
                    owned: names(&p.owned),
                    wanted: names(&p.wanted),
                    completed: names(&p.completed),
                    chunks_downloaded: p.received_from.values().sum(),
                    downloaded_from: p.received_from.iter().map(|(r, n)| (r.0, *n)).collect(),
                    uploads_served: p.uploads,
                    requests_sent: tally.requests_sent,
                    nacks_received: tally.nacks_received,
                    bad_hashes: tally.bad_hashes,
                }
            })
            .collect();
        let chunks: u64 = peers.iter().map(|p| p.chunks_downloaded).sum();
        let c = &self.counters;
        Report {
            ranks: self.peers.len() as u32 + 1,
            files: self.files.len() as u32,
            chunks_delivered: chunks,
            wall_time_s: wall_time.as_secs_f64(),
            tracker: TrackerReport {
                messages_received: c.received,
                messages_sent: c.sent,
                file_requests: c.file_requests,
                updates: c.updates,
                messages_per_chunk: if chunks == 0 { 0.0 } else { (c.received + c.sent) as f64 / chunks as f64 },
            },
            peers,
        }
    }
}
