//! The state of a run as its events describe it. One pure [`SwarmModel::apply`] updates it, live
//! on rank 0 and in replay alike; the dashboard draws it and the final report is read from it.

use crate::protocol::events::{Event, Member, Request, Stamped, Wait};
use crate::protocol::ids::{ChunkIdx, FileId, Rank};
use crate::record::log::Log;
use crate::scenario::header::RunHeader;
use std::collections::{BTreeMap, VecDeque};

/// Width of one bucket of a peer's upload history.
pub const HISTORY_BUCKET_US: u64 = 100_000;
/// Buckets of upload history kept: the latest ones, all a dashboard shows.
pub const HISTORY_LEN: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwarmModel {
    pub header: RunHeader,
    /// Time of the latest event applied, in microseconds since the start.
    pub now: u64,
    pub started: bool,
    /// When the tracker stopped everyone, once it has.
    pub finished: Option<u64>,
    pub peers: Vec<PeerView>,
    pub files: Vec<FileView>,
    /// Chunks delivered, by uploader then downloader (peer indices).
    pub matrix: Vec<Vec<u32>>,
    /// Every transfer, in the order they were applied (by time, but for the few rank 0 heard
    /// of late).
    pub transfers: Vec<Transfer>,
    /// Chunks delivered in each round (see [`SwarmModel::round_us`]), the first round first.
    pub per_round: Vec<u32>,
    pub tracker: TrackerCounts,
    /// CPU time the ranks reported using, in microseconds.
    pub cpu_us: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerView {
    /// Chunks received of each wanted file, in the order of `header.wanted`.
    pub got: Vec<u32>,
    pub completed: Vec<FileId>,
    pub downloaded_from: BTreeMap<Rank, u64>,
    /// Chunks other peers received from this one.
    pub uploads: u64,
    /// Uploads per [`HISTORY_BUCKET_US`], the latest [`HISTORY_LEN`] buckets.
    pub upload_history: History,
    pub requests: u64,
    /// Interests and withdrawals sent, as the peer reported them so far.
    pub interests: u64,
    pub withdrawals: u64,
    pub nacks: u64,
    pub bad_hashes: u64,
    /// End-game copies of chunks already held.
    pub duplicates: u64,
    /// Requests that got no answer in time, or were given up when their uploader left.
    pub timeouts: u64,
    /// Wanted files it gave up on: a chunk had no holder left.
    pub abandoned: Vec<FileId>,
    /// It left the run (`--leave`).
    pub left: bool,
    /// The chunk last requested, and from whom.
    pub fetching: Option<(FileId, ChunkIdx, Rank)>,
    /// Requests not answered yet (by the chunk, a NACK, a wrong hash, a second copy or a
    /// timeout).
    pub in_flight: u32,
    /// The last chunk served, to whom, and when.
    pub serving: Option<(Rank, FileId, ChunkIdx, u64)>,
    /// Why it asks for no more chunks now, while it still wants some.
    pub waiting: Option<Wait>,
    /// The peers it unchokes now (tit-for-tat), each with whether optimistically.
    pub unchoked: Vec<(Rank, bool)>,
    /// Unchokes and chokes it gave, and its requests refused because their uploader choked it.
    pub unchokes: u64,
    pub chokes: u64,
    pub refused: u64,
    pub done: bool,
    /// When it had everything it wanted (not when it left).
    pub done_at: Option<u64>,
}

/// Counts per time bucket, keeping only the latest [`HISTORY_LEN`] buckets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// The bucket of `counts[0]`.
    first: u64,
    counts: VecDeque<u32>,
}

impl History {
    pub fn add(&mut self, bucket: u64) {
        if bucket < self.first {
            return; // older than anything kept
        }
        if bucket >= self.end() {
            // A jump past everything kept starts afresh instead of filling the gap.
            if bucket - self.end() >= HISTORY_LEN as u64 {
                self.counts.clear();
                self.first = bucket;
            }
            let missing = bucket + 1 - self.end();
            self.counts.extend(std::iter::repeat_n(0, missing as usize));
            while self.counts.len() > HISTORY_LEN {
                self.counts.pop_front();
                self.first += 1;
            }
        }
        self.counts[(bucket - self.first) as usize] += 1;
    }

    fn end(&self) -> u64 {
        self.first + self.counts.len() as u64
    }

    /// The `width` buckets up to and including `bucket`, oldest first; none before the start.
    pub fn recent(&self, bucket: u64, width: usize) -> Vec<u32> {
        (0..width as u64)
            .rev()
            .map(|back| {
                let count = |b: u64| b.checked_sub(self.first).and_then(|i| self.counts.get(i as usize)).copied();
                bucket.checked_sub(back).and_then(count).unwrap_or(0)
            })
            .collect()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileView {
    /// The swarm as the tracker last announced it, least busy first.
    pub members: Vec<Member>,
    /// How many peers still in the run hold each chunk: a peer that leaves takes its chunks
    /// with it.
    pub holders: Vec<u32>,
    /// Per peer (rank 1 first), each chunk as that peer has it; empty for a peer that neither
    /// owns nor wants the file.
    pub pieces: Vec<Vec<Piece>>,
}

/// One chunk of a file, as one peer has it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Piece {
    #[default]
    Missing,
    /// Asked of `from` at `since`, not here yet.
    Arriving { from: Rank, since: u64 },
    /// Held since `at`: from `from`, or owned from the start (`None`).
    Held { at: u64, from: Option<Rank> },
}

impl Piece {
    pub fn is_held(&self) -> bool {
        matches!(self, Piece::Held { .. })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub at: u64,
    pub uploader: Rank,
    pub downloader: Rank,
    pub file: FileId,
    pub chunk: ChunkIdx,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackerCounts {
    pub file_requests: u64,
    pub updates: u64,
    pub completions: u64,
    pub peers_done: u64,
    /// Peers leaving, and reports of sources that sent wrong hashes.
    pub leaves: u64,
    pub bad_sources: u64,
    /// Messages the tracker sent in answer to requests.
    pub replies: u64,
}

impl TrackerCounts {
    pub fn requests(&self) -> u64 {
        self.file_requests + self.updates + self.completions + self.peers_done + self.leaves + self.bad_sources
    }
}

/// The downloader whose request the event answers, if it answers one.
fn answered(event: &Event) -> Option<Rank> {
    match *event {
        Event::ChunkNacked { downloader, .. }
        | Event::ChunkTimedOut { downloader, .. }
        | Event::ChunkChoked { downloader, .. } => Some(downloader),
        _ => event.arrival().map(|(_, downloader, ..)| downloader),
    }
}

impl SwarmModel {
    pub fn new(header: RunHeader) -> SwarmModel {
        let peers = header.peers as usize;
        let mut files: Vec<FileView> = header
            .files
            .iter()
            .map(|f| FileView { members: Vec::new(), holders: vec![0; f.chunks as usize], pieces: vec![Vec::new(); peers] })
            .collect();
        for (peer, owned) in header.owned.iter().enumerate() {
            for file in owned {
                let view = &mut files[file.index()];
                view.holders.iter_mut().for_each(|h| *h += 1);
                view.pieces[peer] = vec![Piece::Held { at: 0, from: None }; view.holders.len()];
            }
        }
        for (peer, wanted) in header.wanted.iter().enumerate() {
            for file in wanted {
                let view = &mut files[file.index()];
                if view.pieces[peer].is_empty() {
                    view.pieces[peer] = vec![Piece::Missing; view.holders.len()];
                }
            }
        }
        let peer_views = header.wanted.iter().map(|w| PeerView { got: vec![0; w.len()], ..PeerView::default() }).collect();
        SwarmModel {
            now: 0,
            started: false,
            finished: None,
            peers: peer_views,
            files,
            matrix: vec![vec![0; peers]; peers],
            transfers: Vec::new(),
            per_round: Vec::new(),
            tracker: TrackerCounts::default(),
            cpu_us: 0,
            header,
        }
    }

    /// Takes one event into account. Events naming peers, files or chunks the run does not have
    /// (as a damaged log might) are ignored.
    pub fn apply(&mut self, stamped: &Stamped) {
        self.now = self.now.max(stamped.at);
        let at = stamped.at;
        if let Some(view) = answered(&stamped.event).and_then(|downloader| self.peer_mut(downloader)) {
            view.in_flight = view.in_flight.saturating_sub(1);
        }
        match &stamped.event {
            Event::Started => self.started = true,
            Event::TrackerRequest { request, replies, .. } => {
                let counts = &mut self.tracker;
                *match request {
                    Request::FileRequest => &mut counts.file_requests,
                    Request::Update => &mut counts.updates,
                    Request::FileComplete => &mut counts.completions,
                    Request::PeerDone => &mut counts.peers_done,
                    Request::Leave => &mut counts.leaves,
                    Request::BadSource => &mut counts.bad_sources,
                } += 1;
                counts.replies += u64::from(*replies);
            }
            Event::SwarmUpdated { file, members } => {
                if let Some(view) = self.files.get_mut(file.index()) {
                    view.members.clone_from(members);
                }
            }
            Event::FileCompleted { peer, file } => {
                let known = file.index() < self.files.len();
                if let Some(view) = self.peer_mut(*peer).filter(|_| known) {
                    view.completed.push(*file);
                }
            }
            Event::PeerDone { peer } => {
                if let Some(view) = self.peer_mut(*peer) {
                    view.done_at = view.done_at.or((!view.left).then_some(at));
                    view.done = true;
                    view.fetching = None;
                    view.waiting = None;
                }
            }
            Event::Shutdown => self.finished = Some(at),
            Event::ChunkRequested { downloader, uploader, file, chunk } => {
                if let Some(view) = self.peer_mut(*downloader) {
                    view.requests += 1;
                    view.in_flight += 1;
                    view.fetching = Some((*file, *chunk, *uploader));
                }
                if let Some(piece @ Piece::Missing) = self.piece_mut(*downloader, *file, *chunk) {
                    *piece = Piece::Arriving { from: *uploader, since: at };
                }
            }
            Event::ChunkServed { uploader, downloader, file, chunk } => {
                if let Some(view) = self.peer_mut(*uploader) {
                    view.serving = Some((*downloader, *file, *chunk, at));
                }
            }
            Event::ChunkNacked { downloader, uploader, file, chunk } => {
                if let Some(view) = self.peer_mut(*downloader) {
                    view.nacks += 1;
                }
                self.not_arriving(*downloader, *uploader, *file, *chunk);
            }
            Event::ChunkRejected { downloader, uploader, file, chunk } => {
                if let Some(view) = self.peer_mut(*downloader) {
                    view.bad_hashes += 1;
                }
                self.not_arriving(*downloader, *uploader, *file, *chunk);
            }
            Event::ChunkDuplicate { downloader, .. } => {
                if let Some(view) = self.peer_mut(*downloader) {
                    view.duplicates += 1;
                }
            }
            Event::ChunkReceived { downloader, uploader, file, chunk } => {
                self.receive(Transfer { at, uploader: *uploader, downloader: *downloader, file: *file, chunk: *chunk })
            }
            Event::ChunkChoked { downloader, uploader, file, chunk } => {
                if let Some(view) = self.peer_mut(*downloader) {
                    view.refused += 1;
                }
                self.not_arriving(*downloader, *uploader, *file, *chunk);
            }
            Event::Unchoked { uploader, downloader, optimistic } => {
                if let Some(view) = self.peer_mut(*uploader) {
                    // An unchoke of a peer unchoked already says which kind it is now.
                    let before = view.unchoked.len();
                    view.unchoked.retain(|&(p, _)| p != *downloader);
                    view.unchokes += u64::from(view.unchoked.len() == before);
                    // One optimistic unchoke at a time, should the event of the one it moves on
                    // from come second.
                    if *optimistic {
                        view.unchoked.iter_mut().for_each(|(_, o)| *o = false);
                    }
                    view.unchoked.push((*downloader, *optimistic));
                }
            }
            Event::Choked { uploader, downloader } => {
                if let Some(view) = self.peer_mut(*uploader) {
                    view.chokes += 1;
                    view.unchoked.retain(|&(p, _)| p != *downloader);
                }
            }
            Event::ChunkTimedOut { downloader, uploader, file, chunk } => {
                if let Some(view) = self.peer_mut(*downloader) {
                    view.timeouts += 1;
                }
                self.not_arriving(*downloader, *uploader, *file, *chunk);
            }
            Event::FileAbandoned { peer, file } => {
                let known = file.index() < self.files.len();
                if let Some(view) = self.peer_mut(*peer).filter(|_| known) {
                    view.abandoned.push(*file);
                }
            }
            Event::PeerLeft { peer } => {
                let Some(index) = self.index(*peer) else { return };
                let view = &mut self.peers[index];
                if view.left {
                    return;
                }
                (view.left, view.done, view.fetching, view.waiting) = (true, true, None, None);
                for file in &mut self.files {
                    let held = file.pieces[index].iter().map(Piece::is_held);
                    file.holders.iter_mut().zip(held).filter(|(_, held)| *held).for_each(|(h, _)| *h -= 1);
                }
            }
            Event::SegmentReported { .. } | Event::SourceReported { .. } => {}
            Event::InterestsSent { peer, interests, withdrawals } => {
                if let Some(view) = self.peer_mut(*peer) {
                    view.interests += interests;
                    view.withdrawals += withdrawals;
                }
            }
            Event::Waiting { peer, why, .. } => {
                if let Some(view) = self.peer_mut(*peer) {
                    view.waiting = *why;
                }
            }
            Event::CpuUsed { micros, .. } => self.cpu_us += micros,
        }
    }

    fn receive(&mut self, t: Transfer) {
        let (Some(down), Some(up)) = (self.index(t.downloader), self.index(t.uploader)) else { return };
        if let Some(piece) = self.piece_mut(t.downloader, t.file, t.chunk) {
            *piece = Piece::Held { at: t.at, from: Some(t.uploader) };
        }
        let Some(holders) = self.files.get_mut(t.file.index()).and_then(|f| f.holders.get_mut(t.chunk.index())) else { return };
        *holders += u32::from(!self.peers[down].left);
        let downloader = &mut self.peers[down];
        if let Some(slot) = self.header.wanted[down].iter().position(|&f| f == t.file) {
            downloader.got[slot] += 1;
        }
        *downloader.downloaded_from.entry(t.uploader).or_default() += 1;
        let uploader = &mut self.peers[up];
        uploader.uploads += 1;
        uploader.upload_history.add(t.at / HISTORY_BUCKET_US);
        self.matrix[up][down] += 1;
        let round = (t.at / self.round_us()) as usize;
        if self.per_round.len() <= round {
            self.per_round.resize(round + 1, 0);
        }
        self.per_round[round] += 1;
        self.transfers.push(t);
    }

    fn piece_mut(&mut self, peer: Rank, file: FileId, chunk: ChunkIdx) -> Option<&mut Piece> {
        let index = self.index(peer)?;
        self.files.get_mut(file.index())?.pieces.get_mut(index)?.get_mut(chunk.index())
    }

    /// A chunk asked of `uploader` that will not come from it: missing again.
    fn not_arriving(&mut self, downloader: Rank, uploader: Rank, file: FileId, chunk: ChunkIdx) {
        if let Some(piece) = self.piece_mut(downloader, file, chunk) {
            if matches!(*piece, Piece::Arriving { from, .. } if from == uploader) {
                *piece = Piece::Missing;
            }
        }
    }

    fn index(&self, peer: Rank) -> Option<usize> {
        (peer != Rank::TRACKER && (peer.0 as usize) <= self.peers.len()).then(|| peer.peer_index())
    }

    fn peer_mut(&mut self, peer: Rank) -> Option<&mut PeerView> {
        let index = self.index(peer)?;
        self.peers.get_mut(index)
    }

    /// The length of a round: the chunk time, or [`HISTORY_BUCKET_US`] for runs without one.
    pub fn round_us(&self) -> u64 {
        match self.header.options.chunk_time_ms {
            0 => HISTORY_BUCKET_US,
            ms => ms * 1000,
        }
    }

    pub fn chunks_delivered(&self) -> u64 {
        self.peers.iter().map(|p| p.downloaded_from.values().sum::<u64>()).sum()
    }

    /// Chunks all peers want, in all.
    pub fn chunks_wanted(&self) -> u64 {
        let chunks = |f: &FileId| u64::from(self.header.files[f.index()].chunks);
        self.header.wanted.iter().flatten().map(chunks).sum()
    }
}

impl Log {
    /// The state at the log's last event.
    pub fn model(&self) -> SwarmModel {
        let mut model = SwarmModel::new(self.header.clone());
        self.events.iter().for_each(|e| model.apply(e));
        model
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocol::events::Role;
    use crate::scenario::fault::Faults;
    use crate::scenario::header::FileSpec;
    use crate::scenario::settings::Settings;

    /// Peer 1 owns file 0 (3 chunks); peers 2 and 3 want it.
    pub fn header() -> RunHeader {
        RunHeader {
            peers: 3,
            files: vec![FileSpec { name: "a".into(), chunks: 3 }],
            owned: vec![vec![FileId(0)], vec![], vec![]],
            wanted: vec![vec![], vec![FileId(0)], vec![FileId(0)]],
            options: Settings::default(),
            capacities: vec![],
            faults: Faults::default(),
        }
    }

    fn at(at: u64, event: Event) -> Stamped {
        Stamped { at, event }
    }

    fn received(at_us: u64, down: u32, up: u32, chunk: u32) -> Stamped {
        at(at_us, Event::ChunkReceived { downloader: Rank(down), uploader: Rank(up), file: FileId(0), chunk: ChunkIdx(chunk) })
    }

    #[test]
    fn transfers_move_progress_availability_busyness_and_the_matrix() {
        let mut model = SwarmModel::new(header());
        assert_eq!(model.files[0].holders, [1, 1, 1]);
        model.apply(&at(0, Event::Started));
        model.apply(&received(10, 2, 1, 0));
        model.apply(&received(150_000, 3, 1, 0));
        model.apply(&received(160_000, 3, 2, 1));
        assert_eq!(model.peers[1].got, [1]);
        assert_eq!(model.peers[2].got, [2]);
        assert_eq!(model.files[0].holders, [3, 2, 1]);
        assert_eq!(model.peers[0].uploads, 2);
        assert_eq!(model.peers[0].upload_history.recent(1, 3), [0, 1, 1]);
        assert_eq!(model.matrix[0][2], 1);
        assert_eq!(model.matrix[1][2], 1);
        assert_eq!(model.transfers.len(), 3);
        assert_eq!(model.per_round, [1, 2], "rounds of 0.1 s without a chunk time");
        assert_eq!(model.now, 160_000);
        assert_eq!(model.chunks_delivered(), 3);
        model.apply(&at(170_000, Event::PeerLeft { peer: Rank(1) }));
        model.apply(&at(170_000, Event::PeerLeft { peer: Rank(1) }));
        assert_eq!(model.files[0].holders, [2, 1, 0], "a peer that leaves takes its chunks with it, once");
        model.apply(&received(180_000, 1, 2, 2));
        assert_eq!(model.files[0].holders, [2, 1, 0], "nor counts what it receives after");
    }

    #[test]
    fn each_peer_s_pieces_go_from_missing_to_arriving_to_held() {
        let mut model = SwarmModel::new(header());
        let pieces = |model: &SwarmModel, peer: usize| model.files[0].pieces[peer].clone();
        assert_eq!(pieces(&model, 0), [Piece::Held { at: 0, from: None }; 3], "the owner holds all from the start");
        assert_eq!(pieces(&model, 1), [Piece::Missing; 3]);
        let chunk = |c| (FileId(0), ChunkIdx(c));
        let (file, c0) = chunk(0);
        model.apply(&at(5, Event::ChunkRequested { downloader: Rank(2), uploader: Rank(1), file, chunk: c0 }));
        assert_eq!(pieces(&model, 1)[0], Piece::Arriving { from: Rank(1), since: 5 });
        model.apply(&at(6, Event::ChunkNacked { downloader: Rank(2), uploader: Rank(3), file, chunk: c0 }));
        assert_eq!(pieces(&model, 1)[0], Piece::Arriving { from: Rank(1), since: 5 }, "another uploader's NACK");
        model.apply(&at(7, Event::ChunkTimedOut { downloader: Rank(2), uploader: Rank(1), file, chunk: c0 }));
        assert_eq!(pieces(&model, 1)[0], Piece::Missing);
        model.apply(&at(8, Event::ChunkRequested { downloader: Rank(2), uploader: Rank(1), file, chunk: c0 }));
        model.apply(&received(9, 2, 1, 0));
        assert_eq!(pieces(&model, 1)[0], Piece::Held { at: 9, from: Some(Rank(1)) });
        model.apply(&at(10, Event::ChunkRequested { downloader: Rank(2), uploader: Rank(3), file, chunk: c0 }));
        assert_eq!(pieces(&model, 1)[0], Piece::Held { at: 9, from: Some(Rank(1)) }, "an end-game copy changes nothing");
        assert_eq!(pieces(&model, 2), [Piece::Missing; 3], "peer 3 got nothing");
    }

    #[test]
    fn inconsistent_headers_are_refused() {
        assert_eq!(header().validate(), Ok(()));
        let short = RunHeader { owned: vec![vec![]], ..header() };
        assert_eq!(short.validate().unwrap_err().0, "3 peers, but owned files for 1 and wanted files for 3");
        let unknown = RunHeader { wanted: vec![vec![], vec![FileId(5)], vec![]], ..header() };
        assert_eq!(unknown.validate().unwrap_err().0, "file 5 named, but there are 1 files");
    }

    #[test]
    fn history_keeps_the_latest_buckets_only() {
        let mut history = History::default();
        history.add(0);
        history.add(2);
        history.add(2);
        assert_eq!(history.recent(3, 4), [1, 0, 2, 0]);
        history.add(1000);
        assert_eq!(history.recent(1000, 3), [0, 0, 1]);
        assert_eq!(history.recent(2, 3), [0, 0, 0], "old buckets are gone");
        history.add(5);
        assert_eq!(history.recent(1000, 1), [1], "too old to count");
        history.add(u64::MAX / HISTORY_BUCKET_US);
        assert_eq!(history.recent(u64::MAX / HISTORY_BUCKET_US, 1), [1]);
    }

    #[test]
    fn the_report_reads_the_model() {
        let mut model = SwarmModel::new(header());
        let request = |peer, request, replies| Event::TrackerRequest { peer: Rank(peer), request, replies };
        model.apply(&at(0, Event::Started));
        model.apply(&at(1, request(2, Request::FileRequest, 1)));
        model
            .apply(&at(2, Event::ChunkRequested { downloader: Rank(2), uploader: Rank(1), file: FileId(0), chunk: ChunkIdx(0) }));
        model.apply(&at(3, Event::ChunkNacked { downloader: Rank(2), uploader: Rank(1), file: FileId(0), chunk: ChunkIdx(0) }));
        for chunk in 0..3 {
            model.apply(&received(10 + chunk as u64, 2, 1, chunk));
        }
        model.apply(&at(20, request(2, Request::FileComplete, 0)));
        model.apply(&at(20, Event::FileCompleted { peer: Rank(2), file: FileId(0) }));
        model.apply(&at(21, Event::InterestsSent { peer: Rank(2), interests: 4, withdrawals: 1 }));
        model.apply(&at(21, Event::PeerDone { peer: Rank(2) }));
        model.apply(&at(2_000_000, Event::Shutdown));
        let report = model.report();
        assert_eq!(report.wall_time_s, 2.0);
        assert_eq!(report.chunks_delivered, 3);
        assert_eq!(report.peers[1].completed, ["a"]);
        assert_eq!(report.peers[1].downloaded_from, BTreeMap::from([(1, 3)]));
        assert_eq!((report.peers[1].requests_sent, report.peers[1].nacks_received), (1, 1));
        assert_eq!((report.peers[1].interests_sent, report.peers[1].withdrawals_sent), (4, 1));
        assert_eq!(report.peer_messages_per_chunk(), (2.0 * (1.0 + 4.0) + 1.0) / 3.0, "each request and interest answered");
        assert_eq!(report.peers[0].uploads_served, 3);
        assert_eq!(report.tracker.messages_received, 3 + 2);
        assert_eq!(report.tracker.messages_sent, 3 + 1 + 3);
        assert_eq!(report.tracker.file_requests, 1);
    }

    #[test]
    fn a_peer_waits_for_the_latest_reason_it_gave_until_it_is_done() {
        let mut model = SwarmModel::new(header());
        let waiting = |why| Event::Waiting { peer: Rank(2), file: FileId(0), why };
        model.apply(&at(1, waiting(Some(Wait::Tracker))));
        model.apply(&at(2, waiting(Some(Wait::HoldersBusy))));
        assert_eq!(model.peers[1].waiting, Some(Wait::HoldersBusy));
        model.apply(&at(3, waiting(None)));
        assert_eq!(model.peers[1].waiting, None);
        model.apply(&at(4, waiting(Some(Wait::NoHolder))));
        model.apply(&at(5, Event::PeerDone { peer: Rank(2) }));
        assert_eq!(model.peers[1].waiting, None, "a peer done waits for nothing");
    }

    #[test]
    fn an_uploader_s_unchokes_follow_its_events_with_one_optimistic_at_a_time() {
        let mut model = SwarmModel::new(header());
        let unchoked = |downloader, optimistic| Event::Unchoked { uploader: Rank(1), downloader: Rank(downloader), optimistic };
        model.apply(&at(1, unchoked(2, false)));
        model.apply(&at(1, unchoked(3, true)));
        assert_eq!(model.peers[0].unchoked, [(Rank(2), false), (Rank(3), true)]);
        model.apply(&at(2, Event::Choked { uploader: Rank(1), downloader: Rank(2) }));
        model.apply(&at(2, unchoked(2, true)));
        assert_eq!(model.peers[0].unchoked, [(Rank(3), false), (Rank(2), true)], "3 stays, for what it gave");
        model.apply(&at(2, unchoked(3, false)));
        assert_eq!(model.peers[0].unchoked, [(Rank(2), true), (Rank(3), false)], "3's kind said again: not counted");
        model.apply(&at(3, Event::ChunkChoked { downloader: Rank(3), uploader: Rank(2), file: FileId(0), chunk: ChunkIdx(0) }));
        assert_eq!((model.peers[0].unchokes, model.peers[0].chokes, model.peers[2].refused), (3, 1, 1));
    }

    #[test]
    fn swarms_and_roles_follow_the_tracker() {
        let mut model = SwarmModel::new(header());
        let members = vec![
            Member { peer: Rank(1), role: Role::Seed, uploads: 0 },
            Member { peer: Rank(2), role: Role::Leecher, uploads: 0 },
        ];
        model.apply(&at(5, Event::SwarmUpdated { file: FileId(0), members: members.clone() }));
        assert_eq!(model.files[0].members, members);
    }

    #[test]
    fn events_about_unknown_peers_files_or_chunks_are_ignored() {
        let mut model = SwarmModel::new(header());
        let before = model.clone();
        model.apply(&received(1, 9, 1, 0));
        model.apply(&received(1, 2, 0, 0));
        model.apply(&at(1, Event::ChunkReceived { downloader: Rank(2), uploader: Rank(1), file: FileId(4), chunk: ChunkIdx(0) }));
        model.apply(&received(1, 2, 1, 99));
        model.apply(&at(1, Event::PeerDone { peer: Rank(7) }));
        model.apply(&at(1, Event::FileCompleted { peer: Rank(2), file: FileId(9) }));
        assert_eq!(SwarmModel { now: 0, ..model }, before);
    }
}
