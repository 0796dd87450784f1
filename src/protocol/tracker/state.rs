//! The tracker's bookkeeping, free of any transport: it takes one message and says what to send.
//! See `INVARIANTS.md` for the rules it keeps.

use crate::protocol::error::Breach;
use crate::protocol::events::{Event, EventSink, Member, Request, Role};
use crate::protocol::hash::ChunkHash;
use crate::protocol::ids::{FileId, Rank};
use crate::protocol::message::{Holding, Message, Received, Swarm, SwarmMember};
use crate::scenario::capacity::Capacity;
use crate::scenario::fault::Faults;
use crate::scenario::header::{FileSpec, RunHeader};
use crate::scenario::input::{Invalid, PeerInput};
use crate::scenario::settings::Settings;
use fixedbitset::FixedBitSet;
use std::collections::BTreeMap;

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
    /// Chunks other peers reported receiving from this one: its busyness.
    uploads: u64,
    /// Its upload queue, as it last reported.
    queue: u32,
    done: bool,
    /// It left the run (`--leave`): what its threads still say is ignored.
    left: bool,
    /// Another peer reported it sent a wrong hash: swarms list it as a suspect, a last resort.
    suspect: bool,
}

pub struct Tracker {
    files: Vec<TrackedFile>,
    peers: Vec<PeerRecord>,
}

pub type Outgoing = Vec<(Rank, Message)>;

fn tracked(files: &mut [TrackedFile], file: FileId) -> Result<&mut TrackedFile, Breach> {
    files.get_mut(file.index()).ok_or_else(|| Breach(format!("no file with id {}", file.0)))
}

impl Tracker {
    /// `inputs[i]` is peer `i + 1`'s input, already checked against `files`.
    pub fn new(files: Vec<CatalogFile>, inputs: &[PeerInput]) -> Tracker {
        let mut files: Vec<TrackedFile> =
            files.into_iter().map(|f| TrackedFile { name: f.name, hashes: f.hashes, members: BTreeMap::new() }).collect();
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
        Tracker { files, peers }
    }

    /// The scenario as every consumer of the run's events needs it first.
    pub fn header(&self, options: Settings, capacities: Vec<Capacity>, faults: Faults) -> RunHeader {
        RunHeader {
            peers: self.peers.len() as u32,
            files: self.files.iter().map(|f| FileSpec { name: f.name.clone(), chunks: f.hashes.len() as u32 }).collect(),
            owned: self.peers.iter().map(|p| p.owned.clone()).collect(),
            wanted: self.peers.iter().map(|p| p.wanted.clone()).collect(),
            options,
            capacities,
            faults,
        }
    }

    /// Checks that a peer that uploads owns every file some peer wants: a free rider
    /// (`--freeride`) serves nobody, so a file only free riders own could never arrive.
    pub fn check_free_riders(&self, faults: &Faults) -> Result<(), Invalid> {
        let peers: Vec<(&[FileId], &[FileId])> = self.peers.iter().map(|p| (&p.owned[..], &p.wanted[..])).collect();
        match Faults::stranded(&peers, |peer| faults.free_rides(peer)) {
            Some(file) => {
                let riders: Vec<String> = Faults::owners(&peers, file).map(|r| r.to_string()).collect();
                let name = &self.files[file.index()].name;
                Err(Invalid(format!(
                    "--freeride: '{name}' is owned only by free riders (peer {}), so it could never arrive",
                    riders.join(", ")
                )))
            }
            None => Ok(()),
        }
    }

    pub fn catalog(&self) -> Vec<String> {
        self.files.iter().map(|f| f.name.clone()).collect()
    }

    pub fn all_done(&self) -> bool {
        self.peers.iter().all(|p| p.done)
    }

    /// The message that lets every peer start, to each of them, with the run's start time, every
    /// peer's capacity and the faults to inject.
    pub fn start(&mut self, epoch_us: u64, capacities: &[Capacity], faults: &Faults, events: &dyn EventSink) -> Outgoing {
        events.emit(Event::Started);
        let catalog = self.catalog();
        let start =
            || Message::Start { catalog: catalog.clone(), epoch_us, capacities: capacities.to_vec(), faults: faults.clone() };
        (0..self.peers.len()).map(|i| (Rank::from_peer_index(i), start())).collect()
    }

    /// Handles one message from a peer. An error means the peer broke the protocol.
    pub fn handle(&mut self, from: Rank, msg: Message, events: &dyn EventSink) -> Result<Outgoing, Breach> {
        if !is_peer(from, self.peers.len()) {
            return Err(Breach(format!("message from rank {from}, which is not a peer")));
        }
        if self.peers[from.peer_index()].left {
            return Ok(vec![]); // its download thread may not have seen the leave time yet
        }
        let (request, out) = match msg {
            Message::FileRequest { file, .. } => {
                let tracked = tracked(&mut self.files, file)?;
                let chunks = tracked.hashes.len();
                tracked.members.entry(from).or_insert_with(|| Holding::Some(FixedBitSet::with_capacity(chunks)));
                let hashes = tracked.hashes.clone();
                (Request::FileRequest, vec![(from, Message::FileInfo { file, hashes, swarm: self.swarm(file, events) })])
            }
            Message::Update { file, received, queue, .. } => {
                self.peers[from.peer_index()].queue = queue;
                self.record(from, file, &received)?;
                let left = (0..self.peers.len()).filter(|&i| self.peers[i].left).map(Rank::from_peer_index).collect();
                (Request::Update, vec![(from, Message::SwarmReply { file, swarm: self.swarm(file, events), left })])
            }
            Message::FileComplete { file, received, .. } => {
                self.record(from, file, &received)?;
                tracked(&mut self.files, file)?.members.insert(from, Holding::All);
                events.emit(Event::FileCompleted { peer: from, file });
                self.announce(file, events);
                (Request::FileComplete, vec![])
            }
            Message::PeerDone { .. } => {
                self.finish(from)?;
                events.emit(Event::PeerDone { peer: from });
                (Request::PeerDone, vec![])
            }
            Message::Leave { .. } => {
                let record = &mut self.peers[from.peer_index()];
                record.left = true;
                record.done = true;
                for file in 0..self.files.len() {
                    if self.files[file].members.remove(&from).is_some() {
                        self.announce(FileId(file as u32), events);
                    }
                }
                events.emit(Event::PeerLeft { peer: from });
                (Request::Leave, vec![])
            }
            Message::BadSource { file, from: suspect, .. } => {
                tracked(&mut self.files, file)?;
                if !is_peer(suspect, self.peers.len()) {
                    return Err(Breach(format!("peer {from} reported rank {suspect}, which is not a peer")));
                }
                self.peers[suspect.peer_index()].suspect = true;
                events.emit(Event::SourceReported { reporter: from, suspect });
                (Request::BadSource, vec![])
            }
            other => return Err(Breach(format!("unexpected message from peer {from}: {other:?}"))),
        };
        events.emit(Event::TrackerRequest { peer: from, request, replies: out.len() as u32 });
        if matches!(request, Request::PeerDone | Request::Leave) && self.all_done() {
            events.emit(Event::Shutdown);
            return Ok((0..self.peers.len()).map(|i| (Rank::from_peer_index(i), Message::Stop)).collect());
        }
        Ok(out)
    }

    /// `peer` is done, having got everything or left.
    fn finish(&mut self, peer: Rank) -> Result<(), Breach> {
        if std::mem::replace(&mut self.peers[peer.peer_index()].done, true) {
            return Err(Breach(format!("peer {peer} said it was done twice")));
        }
        Ok(())
    }

    /// Takes note of chunks `peer` received: it holds them now, and their sources were busy.
    fn record(&mut self, peer: Rank, file: FileId, received: &[Received]) -> Result<(), Breach> {
        let tracked = tracked(&mut self.files, file)?;
        let chunks = tracked.hashes.len();
        let holding = tracked
            .members
            .get_mut(&peer)
            .ok_or_else(|| Breach(format!("peer {peer} reported chunks of '{}' without asking for it", tracked.name)))?;
        for r in received {
            if r.chunk.index() >= chunks || !is_peer(r.from, self.peers.len()) {
                return Err(Breach(format!("peer {peer} reported an impossible chunk {:?}", r)));
            }
            if let Holding::Some(bits) = holding {
                bits.insert(r.chunk.index());
            }
            self.peers[r.from.peer_index()].uploads += 1;
        }
        Ok(())
    }

    /// The members of `file`'s swarm with their busyness, least busy first, ties by rank.
    fn ranked(&self, file: FileId) -> Vec<(Rank, &Holding, u64)> {
        let mut members: Vec<_> = self.files[file.index()]
            .members
            .iter()
            .map(|(&rank, holding)| (rank, holding, self.peers[rank.peer_index()].uploads))
            .collect();
        members.sort_by_key(|&(rank, _, uploads)| (uploads, rank));
        members
    }

    /// The swarm as sent to peers, announced to whoever watches the run as it goes out.
    fn swarm(&self, file: FileId, events: &dyn EventSink) -> Swarm {
        let ranked = self.ranked(file);
        announce_ranked(file, &ranked, events);
        ranked
            .into_iter()
            .map(|(rank, holding, uploads)| {
                let PeerRecord { queue, suspect, .. } = self.peers[rank.peer_index()];
                SwarmMember { rank, uploads, queue, holding: holding.clone(), suspect }
            })
            .collect()
    }

    /// Shows the swarm, with each member's role, to whoever watches the run.
    fn announce(&self, file: FileId, events: &dyn EventSink) {
        announce_ranked(file, &self.ranked(file), events);
    }
}

/// Whether `rank` is one of the run's `peers` peers.
fn is_peer(rank: Rank, peers: usize) -> bool {
    rank != Rank::TRACKER && rank.peer_index() < peers
}

fn announce_ranked(file: FileId, ranked: &[(Rank, &Holding, u64)], events: &dyn EventSink) {
    let role = |holding: &Holding| match holding {
        Holding::All => Role::Seed,
        Holding::Some(bits) if bits.is_clear() => Role::Leecher,
        Holding::Some(_) => Role::Peer,
    };
    let members = ranked.iter().map(|&(peer, holding, uploads)| Member { peer, role: role(holding), uploads });
    events.emit(Event::SwarmUpdated { file, members: members.collect() });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::events::Collected;
    use crate::protocol::ids::ChunkIdx;
    use crate::scenario::input::{OwnedFile, WantedFile};

    fn h(n: u128) -> ChunkHash {
        ChunkHash::from_u128(n)
    }

    /// Peer 1 and 2 own "a" (3 chunks); peers 3 and 4 want it.
    fn tracker() -> Tracker {
        let owned = || PeerInput {
            owned: vec![OwnedFile { name: "a".into(), hashes: vec![h(1), h(2), h(3)], line: 2, hash_lines: vec![3, 4, 5] }],
            wanted: vec![],
        };
        let wants = || PeerInput { owned: vec![], wanted: vec![WantedFile { name: "a".into(), line: 3 }] };
        Tracker::new(
            vec![CatalogFile { name: "a".into(), hashes: vec![h(1), h(2), h(3)] }],
            &[owned(), owned(), wants(), wants()],
        )
    }

    fn handle(tracker: &mut Tracker, from: u32, msg: Message) -> Outgoing {
        tracker.handle(Rank(from), msg, &Collected::default()).unwrap()
    }

    fn got(chunk: u32, from: u32) -> Received {
        Received { chunk: ChunkIdx(chunk), from: Rank(from) }
    }

    fn ranks_and_uploads(swarm: &Swarm) -> Vec<(u32, u64)> {
        swarm.iter().map(|m| (m.rank.0, m.uploads)).collect()
    }

    #[test]
    fn the_header_describes_the_scenario() {
        let capacities = vec![Capacity::uniform(2); 4];
        let header =
            tracker().header(Settings { chunk_time_ms: 5, ..Settings::default() }, capacities.clone(), Faults::default());
        assert_eq!(header.capacities, capacities);
        assert_eq!(header.peers, 4);
        assert_eq!(header.files, [FileSpec { name: "a".into(), chunks: 3 }]);
        assert_eq!(header.owned, [vec![FileId(0)], vec![FileId(0)], vec![], vec![]]);
        assert_eq!(header.wanted, [vec![], vec![], vec![FileId(0)], vec![FileId(0)]]);
    }

    #[test]
    fn a_file_wanted_must_have_an_owner_that_uploads() {
        // Peers 1 and 2 own the file that peers 3 and 4 want.
        let riders = |ranks: &[u32]| Faults { freeride: ranks.iter().map(|&r| Rank(r)).collect(), ..Faults::default() };
        assert!(tracker().check_free_riders(&riders(&[1, 3])).is_ok());
        assert_eq!(
            tracker().check_free_riders(&riders(&[1, 2])).unwrap_err().0,
            "--freeride: 'a' is owned only by free riders (peer 1, 2), so it could never arrive"
        );
    }

    #[test]
    fn start_goes_to_every_peer_with_the_catalog_capacities_and_faults() {
        let mut tracker = tracker();
        let capacities = [Capacity { upload_slots: 3, download_limit: Some(1) }; 4];
        let faults = Faults { leaves: vec![crate::scenario::fault::Leave { peer: Rank(2), at_ms: 9 }], ..Faults::default() };
        let out = tracker.start(77, &capacities, &faults, &Collected::default());
        assert_eq!(out.len(), 4);
        let start = Message::Start { catalog: vec!["a".into()], epoch_us: 77, capacities: capacities.to_vec(), faults };
        assert!(out.iter().all(|(_, m)| *m == start));
    }

    #[test]
    fn a_requester_gets_hashes_and_joins_the_swarm_holding_nothing() {
        let mut tracker = tracker();
        let out = handle(&mut tracker, 3, Message::FileRequest { file: FileId(0), emitted: 0 });
        let [(to, Message::FileInfo { file, hashes, swarm })] = &out[..] else { panic!("{out:?}") };
        assert_eq!((*to, *file, hashes.len()), (Rank(3), FileId(0), 3));
        assert_eq!(ranks_and_uploads(swarm), [(1, 0), (2, 0), (3, 0)]);
        assert_eq!(swarm[2].holding, Holding::Some(FixedBitSet::with_capacity(3)));
    }

    #[test]
    fn updates_record_holdings_and_sort_the_swarm_by_busyness() {
        let mut tracker = tracker();
        handle(&mut tracker, 3, Message::FileRequest { file: FileId(0), emitted: 0 });
        handle(&mut tracker, 4, Message::FileRequest { file: FileId(0), emitted: 0 });
        let out = handle(
            &mut tracker,
            3,
            Message::Update { file: FileId(0), received: vec![got(0, 1), got(1, 1)], queue: 0, emitted: 0 },
        );
        let [(_, Message::SwarmReply { swarm, .. })] = &out[..] else { panic!("{out:?}") };
        assert_eq!(ranks_and_uploads(swarm), [(2, 0), (3, 0), (4, 0), (1, 2)]);
        assert!(swarm[1].holding.has(ChunkIdx(1)) && !swarm[1].holding.has(ChunkIdx(2)));
    }

    #[test]
    fn a_peer_that_leaves_is_dropped_from_the_swarm_and_named_in_every_later_answer() {
        let mut tracker = tracker();
        handle(&mut tracker, 3, Message::FileRequest { file: FileId(0), emitted: 0 });
        handle(&mut tracker, 4, Message::FileRequest { file: FileId(0), emitted: 0 });
        let update = || Message::Update { file: FileId(0), received: vec![], queue: 0, emitted: 0 };
        let out = handle(&mut tracker, 3, update());
        let [(_, Message::SwarmReply { left, .. })] = &out[..] else { panic!("{out:?}") };
        assert_eq!(left, &[]);
        handle(&mut tracker, 2, Message::Leave { emitted: 0 });
        let out = handle(&mut tracker, 3, update());
        let [(_, Message::SwarmReply { swarm, left, .. })] = &out[..] else { panic!("{out:?}") };
        assert_eq!(ranks_and_uploads(swarm), [(1, 0), (3, 0), (4, 0)]);
        assert_eq!(left, &[Rank(2)]);
    }

    #[test]
    fn completion_makes_a_seed_and_the_last_done_stops_everyone() {
        let mut tracker = tracker();
        handle(&mut tracker, 3, Message::FileRequest { file: FileId(0), emitted: 0 });
        let done = || Message::PeerDone { emitted: 0 };
        assert!(handle(
            &mut tracker,
            3,
            Message::FileComplete { file: FileId(0), received: vec![got(0, 1), got(1, 2), got(2, 2)], emitted: 0 }
        )
        .is_empty());
        for peer in [1, 2, 3] {
            assert!(handle(&mut tracker, peer, done()).is_empty());
        }
        let out = handle(&mut tracker, 4, Message::FileRequest { file: FileId(0), emitted: 0 });
        let [(_, Message::FileInfo { swarm, .. })] = &out[..] else { panic!("{out:?}") };
        assert_eq!(swarm.iter().find(|m| m.rank == Rank(3)).unwrap().holding, Holding::All);
        let stop = handle(&mut tracker, 4, done());
        assert_eq!(stop.iter().map(|(r, _)| r.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert!(stop.iter().all(|(_, m)| *m == Message::Stop));
        assert!(tracker.all_done());
        let busyness: Vec<u64> = tracker.peers.iter().map(|p| p.uploads).collect();
        assert_eq!(busyness, [1, 2, 0, 0]);
    }

    #[test]
    fn swarm_changes_are_announced_with_roles() {
        let mut tracker = tracker();
        let events = Collected::default();
        let mut send = |from: u32, msg| tracker.handle(Rank(from), msg, &events).unwrap();
        send(3, Message::FileRequest { file: FileId(0), emitted: 0 });
        send(3, Message::Update { file: FileId(0), received: vec![got(0, 2)], queue: 0, emitted: 0 });
        send(3, Message::FileComplete { file: FileId(0), received: vec![got(1, 1), got(2, 1)], emitted: 0 });
        let recorded = events.events();
        let swarms: Vec<Vec<(u32, Role, u64)>> = recorded
            .iter()
            .filter_map(|e| match e {
                Event::SwarmUpdated { members, .. } => Some(members.iter().map(|m| (m.peer.0, m.role, m.uploads)).collect()),
                _ => None,
            })
            .collect();
        let requests: Vec<(Request, u32)> = recorded
            .iter()
            .filter_map(|e| match e {
                Event::TrackerRequest { request, replies, .. } => Some((*request, *replies)),
                _ => None,
            })
            .collect();
        assert_eq!(requests, [(Request::FileRequest, 1), (Request::Update, 1), (Request::FileComplete, 0)]);
        assert_eq!(
            swarms,
            [
                vec![(1, Role::Seed, 0), (2, Role::Seed, 0), (3, Role::Leecher, 0)],
                vec![(1, Role::Seed, 0), (3, Role::Peer, 0), (2, Role::Seed, 1)],
                vec![(3, Role::Seed, 0), (2, Role::Seed, 1), (1, Role::Seed, 2)],
            ]
        );
    }

    #[test]
    fn protocol_breaches_are_errors() {
        let mut tracker = tracker();
        let err = |t: &mut Tracker, from, msg| t.handle(Rank(from), msg, &Collected::default()).unwrap_err();
        assert!(err(&mut tracker, 3, Message::Update { file: FileId(0), received: vec![], queue: 0, emitted: 0 })
            .0
            .contains("without asking"));
        assert!(err(&mut tracker, 3, Message::FileRequest { file: FileId(7), emitted: 0 }).0.contains("no file with id 7"));
        assert!(err(&mut tracker, 9, Message::FileRequest { file: FileId(0), emitted: 0 }).0.contains("not a peer"));
        handle(&mut tracker, 3, Message::FileRequest { file: FileId(0), emitted: 0 });
        assert!(err(&mut tracker, 3, Message::Update { file: FileId(0), received: vec![got(5, 1)], queue: 0, emitted: 0 })
            .0
            .contains("impossible"));
        assert!(err(&mut tracker, 3, Message::Stop).0.contains("unexpected"));
        handle(&mut tracker, 1, Message::PeerDone { emitted: 0 });
        assert!(err(&mut tracker, 1, Message::PeerDone { emitted: 0 }).0.contains("twice"));
    }
}
