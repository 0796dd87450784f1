//! A peer's download thread: fetches each wanted file chunk by chunk from the swarm, reports to
//! the tracker every few chunks, and writes each file when it is complete.
//!
//! Chunks are requested in the strategy's order, several at a time ([`IN_FLIGHT`]), each from a
//! member the strategy's peer choice picks among those known to hold it; a NACK or a wrong hash
//! sends the chunk to another member. Every answer carries its sender's holding, so what this
//! peer knows of the swarm is fresh from the data path, not only from the tracker's reports.
//! Members not known to hold anything this peer lacks get an interest instead (see
//! [`crate::protocol::peer::interest`]), answered as soon as they do; interests are withdrawn once every
//! missing chunk is on its way. In the end game, the last chunks on their way are also asked of a
//! second member. The thread reacts to whatever arrives (chunk replies and the tracker's swarm
//! updates interleave), so it never polls.

use crate::protocol::error::{Breach, RunError};
use crate::protocol::events::{Event, EventSink};
use crate::protocol::ids::{ChunkIdx, FileId, Rank};
use crate::protocol::message::{Endpoint, Message, Received, Sent};
use crate::protocol::peer::first_free;
use crate::protocol::peer::interest::{Interests, Requesters};
use crate::protocol::peer::order::ChunkOrder;
use crate::protocol::peer::store::ChunkStore;
use crate::protocol::peer::view::{Pick, SwarmView};
use crate::protocol::strategy::PieceOrder;
use crate::protocol::transport::Transport;
use crate::protocol::IN_FLIGHT;
use crate::scenario::capacity::Capacity;
use crate::scenario::output::{output_file_name, write_atomically, WriteError};
use crate::scenario::settings::Settings;
use fixedbitset::FixedBitSet;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Interests a first-free downloader keeps out at once, at members known to hold something it
/// lacks first. One at every member cost a 64-peer crowd 7 to 8 messages per chunk, many of
/// them for interests parked where they were never used, and at 10 ms a chunk the two cores
/// spent on them showed in the rounds: the median of 8 to 10 runs was 1.22 times the bound
/// without a cap, 1.15 to 1.17 with 16, 1.15 with 12, 1.16 with 24 and 1.21 with 8.
const INTERESTS: usize = 16;
/// The longest a downloader waits before asking the tracker again when nobody holds a chunk.
const LONGEST_BACKOFF: Duration = Duration::from_millis(50);
/// Swarm updates a downloader asks for in a row, without getting a chunk, before it gives up
/// (about 1.3 s of backing off). Only a peer that left can take a chunk's last copy with it, and
/// every blocked downloader's ask reports what it holds, so a copy that exists shows up in the
/// tracker's swarm long before.
const FRUITLESS_UPDATES: u32 = 30;

pub struct Downloader<'a, T: Transport> {
    pub transport: &'a T,
    pub store: &'a ChunkStore,
    pub config: &'a Settings,
    pub catalog: &'a [String],
    /// Every peer's capacity, rank 1 first.
    pub capacities: &'a [Capacity],
    pub events: &'a dyn EventSink,
    /// This peer's upload queue, reported with each update.
    pub upload_queue: &'a AtomicU32,
    /// Interests parked at this peer's upload thread, answered here when a chunk arrives.
    pub interests: &'a Interests,
    /// Peers that asked this one for chunks, as its upload thread met them.
    pub requesters: &'a Requesters,
    /// When this peer leaves the run (`--leave`).
    pub leave_at: Option<Instant>,
    /// Members that once failed to answer in time, or were dropped from a swarm: their late
    /// answers are expected, not breaches of the protocol.
    pub silent: RefCell<HashSet<Rank>>,
    /// Interests and withdrawals sent since they were last reported (with each report to the
    /// tracker, and when the thread finishes).
    pub interests_sent: Cell<u64>,
    pub withdrawals_sent: Cell<u64>,
}

/// An interest of this peer at a member.
struct Interest {
    member: Rank,
    /// When it times out, if it must be answered in time: once withdrawn, and with first-free
    /// when sent to a member known to hold something this peer lacks (it owes a free slot within
    /// the longest queue, like a request).
    due: Option<Instant>,
    withdrawn: bool,
}

/// How a file's download ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fetched {
    Complete,
    /// Given up: some chunk had no holder left that would serve it.
    Abandoned,
    /// This peer left the run before it was complete.
    Left,
}

/// One file's download in progress.
struct Fetch {
    file: FileId,
    chunks: usize,
    view: SwarmView,
    /// Chunks never requested yet, in the strategy's order.
    order: ChunkOrder,
    /// The random choices of this peer for this file.
    rng: SmallRng,
    /// Chunks held (verified).
    got: FixedBitSet,
    /// Chunks to request again: their last source said NACK or sent a wrong hash.
    retry: VecDeque<ChunkIdx>,
    /// Chunks no member is known to hold, until the tracker's next swarm.
    waiting: Vec<ChunkIdx>,
    /// Requests awaiting an answer: the chunk, whom it was asked of, and when the request times out.
    in_flight: Vec<(ChunkIdx, Rank, Instant)>,
    /// Interests of this peer awaiting an answer.
    interests: Vec<Interest>,
    /// Giving up: no more requests, only the answers still due are awaited.
    abandoned: bool,
    /// Members that failed a chunk since the last swarm update.
    tried: HashMap<ChunkIdx, Vec<Rank>>,
    held: usize,
    /// Chunks received since the last report to the tracker.
    unreported: Vec<Received>,
    /// Updates sent whose swarm has not come back yet.
    updating: usize,
    /// How long to wait before the next forced update, once one did not help.
    backoff: Option<Duration>,
    /// Forced updates since the last chunk arrived.
    fruitless: u32,
}

impl<T: Transport> Downloader<'_, T> {
    /// Fetches every wanted file in turn; whether this peer left before the end (its upload
    /// thread tells the tracker).
    pub fn run(&self, wanted: &[FileId]) -> Result<bool, RunError> {
        let mut left = false;
        for &file in wanted {
            if self.fetch_file(file)? == Fetched::Left {
                left = true;
                break;
            }
        }
        self.report_interests();
        Ok(left)
    }

    /// Emits the interests and withdrawals sent since the last time, if any.
    fn report_interests(&self) {
        let (interests, withdrawals) = (self.interests_sent.take(), self.withdrawals_sent.take());
        if interests + withdrawals > 0 {
            self.events.emit(Event::InterestsSent { peer: self.me(), interests, withdrawals });
        }
    }

    fn me(&self) -> Rank {
        self.transport.rank()
    }

    /// Requests this peer keeps out at once: its download limit, if it has one.
    fn window(&self) -> usize {
        self.capacities[self.me().peer_index()].download_limit.map_or(IN_FLIGHT, |limit| limit as usize)
    }

    /// Requests this peer keeps at `uploader` at once. With a chunk time, no more than its upload
    /// slots: more would only wait in its queue while other members sit idle.
    fn per_uploader(&self, uploader: Rank) -> usize {
        match self.config.chunk_time().is_zero() {
            true => self.window(),
            false => self.capacities[uploader.peer_index()].upload_slots as usize,
        }
    }

    fn fetch_file(&self, file: FileId) -> Result<Fetched, RunError> {
        self.transport.send(Rank::TRACKER, &Message::FileRequest { file })?;
        let (hashes, swarm) = loop {
            // Once this peer has left, the tracker ignores it: the answer may never come.
            let Some(envelope) = self.receive_until(self.leave_at)? else { return Ok(Fetched::Left) };
            match envelope.msg {
                Message::FileInfo { file: f, hashes, swarm } if f == file => break (hashes, swarm),
                // A late answer to a request of the last file that timed out.
                Message::ChunkReply { .. } if self.expects_late(envelope.from) => {}
                other => return Err(unexpected("the file's hashes and swarm", other, envelope.from)),
            }
        };
        let chunks = hashes.len();
        self.store.begin(file, hashes);
        let strategy = self.config.strategy;
        // Every peer and file draws its own random choices, all from the run's seed.
        let mut rng = SmallRng::seed_from_u64(strategy.seed ^ (u64::from(self.me().0) << 32) ^ u64::from(file.0));
        let view = SwarmView::new(self.me(), swarm, strategy.seed ^ u64::from(self.me().0));
        let mut order = ChunkOrder::new(chunks, strategy.pieces, &mut rng);
        order.rerank(view.partial_holders());
        let mut fetch = Fetch {
            file,
            chunks,
            view,
            order,
            rng,
            got: FixedBitSet::with_capacity(chunks),
            retry: VecDeque::new(),
            waiting: Vec::new(),
            in_flight: Vec::new(),
            interests: Vec::new(),
            abandoned: false,
            tried: HashMap::new(),
            held: 0,
            unreported: Vec::new(),
            updating: 0,
            backoff: None,
            fruitless: 0,
        };
        // Also waits for duplicate answers of the end game, so none is left for the next file.
        while fetch.wants_more() || fetch.updating > 0 || !fetch.in_flight.is_empty() || !fetch.interests.is_empty() {
            if self.leave_at.is_some_and(|at| at <= Instant::now()) {
                return Ok(Fetched::Left);
            }
            if !fetch.abandoned {
                self.requesters.take(file).into_iter().for_each(|member| fetch.view.meet(member));
                self.request_more(&mut fetch)?;
            }
            if fetch.in_flight.is_empty() && !fetch.awaits_a_slot() && fetch.updating == 0 && fetch.wants_more() {
                // Every missing chunk waits for a holder: ask the tracker again, after a pause
                // if asking did not help last time.
                if fetch.fruitless == FRUITLESS_UPDATES {
                    self.abandon(&mut fetch)?;
                    continue;
                }
                fetch.fruitless += 1;
                if first_free(self.config) {
                    // What its interests said it holds or has coming may be out of date (a chunk
                    // on its way may have gone back to be asked again): they are sent anew.
                    self.withdraw_all(&mut fetch)?;
                }
                if let Some(pause) = fetch.backoff {
                    std::thread::sleep(pause);
                }
                fetch.backoff = Some(fetch.backoff.map_or(Duration::from_millis(1), |b| (b * 2).min(LONGEST_BACKOFF)));
                self.update(&mut fetch)?;
            }
            let Some(envelope) = self.receive_until(fetch.next_due().into_iter().chain(self.leave_at).min())? else {
                self.expire(&mut fetch);
                continue;
            };
            match envelope.msg {
                Message::ChunkReply { file: f, .. } if f != file && self.expects_late(envelope.from) => {
                    // A late answer to a request of an earlier file that timed out.
                }
                Message::ChunkReply { file: f, asked, sent, holding } if f == file => {
                    if fetch.view.learn(envelope.from, &holding) {
                        fetch.reconsider();
                    }
                    match asked {
                        Some(chunk) => self.on_reply(&mut fetch, envelope.from, chunk, sent)?,
                        None => self.on_interest_answered(&mut fetch, envelope.from, sent)?,
                    }
                }
                Message::SwarmReply { file: f, swarm, left } if f == file && fetch.updating > 0 => {
                    fetch.updating -= 1;
                    fetch.view.refresh(swarm);
                    fetch.tried.clear();
                    fetch.reconsider();
                    // What was asked of peers that left is never answered: waiting out its
                    // deadlines held a 32-peer crowd at 10 ms a chunk up by a second.
                    self.give_up(&mut fetch, |member, _| left.contains(&member));
                }
                other => return Err(unexpected("a chunk reply or a swarm update", other, envelope.from)),
            }
        }

        if fetch.abandoned {
            return Ok(Fetched::Abandoned);
        }
        let hashes = self.store.finish(file).map_err(|e| Breach(e.to_string()))?;
        let name = output_file_name(self.me().0, &self.catalog[file.index()]);
        write_atomically(&self.config.out, &name, &hashes)
            .map_err(|source| WriteError { path: self.config.out.join(&name), source })?;
        let received = std::mem::take(&mut fetch.unreported);
        self.transport.send(Rank::TRACKER, &Message::FileComplete { file, received })?;
        Ok(Fetched::Complete)
    }

    /// Gives up on the file: no member served some chunk however often the tracker was asked.
    /// Interests are withdrawn, and their answers awaited, so none is left for the next file.
    fn abandon(&self, fetch: &mut Fetch) -> Result<(), RunError> {
        let chunk = fetch.waiting.iter().chain(&fetch.retry).min().map_or(0, |c| c.0);
        crate::protocol::say(&format!(
            "mpitorrent: peer {} gives up on '{}': no member served chunk {chunk} after {FRUITLESS_UPDATES} swarm updates",
            self.me(),
            self.catalog[fetch.file.index()]
        ));
        self.events.emit(Event::FileAbandoned { peer: self.me(), file: fetch.file });
        fetch.abandoned = true;
        self.withdraw_all(fetch)
    }

    /// Requests and withdrawals that got no answer in time: the member may have left. A request
    /// goes to another holder; the member is not asked again until a swarm lists it anew.
    fn expire(&self, fetch: &mut Fetch) {
        let now = Instant::now();
        self.give_up(fetch, |_, due| due.is_some_and(|at| at <= now));
    }

    /// Gives up on the requests and interests that `hopeless` says will not be answered, given
    /// the member asked and when the answer is due (an interest may have no deadline): a chunk
    /// asked for goes to another holder, and a late answer from the member is dropped.
    fn give_up(&self, fetch: &mut Fetch, hopeless: impl Fn(Rank, Option<Instant>) -> bool) {
        let (me, file) = (self.me(), fetch.file);
        let mut silent = self.silent.borrow_mut();
        let (expired, live): (Vec<_>, Vec<_>) =
            std::mem::take(&mut fetch.in_flight).into_iter().partition(|&(_, uploader, due)| hopeless(uploader, Some(due)));
        fetch.in_flight = live;
        for (chunk, uploader, _) in expired {
            silent.insert(uploader);
            fetch.view.forget(uploader);
            self.events.emit(Event::ChunkTimedOut { downloader: me, uploader, file, chunk });
            fetch.tried.entry(chunk).or_default().push(uploader);
            // Two copies of an end-game chunk may time out together: ask again once.
            if !fetch.got.contains(chunk.index())
                && !fetch.in_flight.iter().any(|&(c, _, _)| c == chunk)
                && !fetch.retry.contains(&chunk)
            {
                fetch.retry.push_back(chunk);
            }
        }
        let (overdue, waiting): (Vec<Interest>, Vec<Interest>) =
            std::mem::take(&mut fetch.interests).into_iter().partition(|i| hopeless(i.member, i.due));
        fetch.interests = waiting;
        for interest in overdue {
            silent.insert(interest.member);
            if !interest.withdrawn {
                fetch.view.forget(interest.member); // it owed a free slot: it may have left
            }
        }
    }

    /// Requests chunks until the window is full or none is left to ask for. A chunk whose
    /// holders all have as many of this peer's requests as they should is put back for later,
    /// and the next chunk tried instead: the scan goes on as long as some member not that busy
    /// may hold one.
    fn request_more(&self, fetch: &mut Fetch) -> Result<(), RunError> {
        if first_free(self.config) {
            // Chunks are asked for by name only when a member answers an interest.
            if fetch.retry.is_empty() && fetch.order.is_empty() {
                self.end_game(fetch)?;
            }
            return self.interest_or_withdraw(fetch);
        }
        let choice = self.config.strategy.peers;
        let mut deferred = Vec::new();
        let mut busy = self.saturated(&fetch.in_flight);
        let mut obtainable = fetch.view.obtainable(&busy);
        while fetch.outstanding() < self.window() && obtainable.is_some() {
            let Some(chunk) = fetch.retry.pop_front().or_else(|| fetch.order.take_next()) else {
                break;
            };
            if fetch.got.contains(chunk.index()) || fetch.in_flight.iter().any(|&(c, _, _)| c == chunk) {
                continue; // it came in place of another chunk
            }
            if !obtainable.as_ref().is_some_and(|o| o.has(chunk)) {
                deferred.push(chunk);
                continue;
            }
            let tried = fetch.tried.get(&chunk).map_or(&[][..], Vec::as_slice);
            match fetch.view.pick(chunk, tried, &busy, choice, &mut fetch.rng) {
                Pick::Chosen(uploader) => {
                    self.request(fetch, chunk, uploader)?;
                    let now_busy = self.saturated(&fetch.in_flight);
                    if now_busy != busy {
                        busy = now_busy;
                        obtainable = fetch.view.obtainable(&busy);
                    }
                }
                Pick::Busy => deferred.push(chunk),
                Pick::Nobody => fetch.waiting.push(chunk),
            }
        }
        let exhausted = deferred.is_empty() && fetch.retry.is_empty() && fetch.order.is_empty();
        // Deferred chunks go first next time.
        fetch.order.put_back(deferred);
        if exhausted {
            self.end_game(fetch)?;
        }
        self.interest_or_withdraw(fetch)
    }

    /// While some missing chunk is not asked for, sends interests to members not known to hold
    /// anything this peer lacks, within the window; once none is left, withdraws them all.
    fn interest_or_withdraw(&self, fetch: &mut Fetch) -> Result<(), RunError> {
        let (me, file) = (self.me(), fetch.file);
        if !fetch.has_free_chunks() {
            return self.withdraw_all(fetch);
        }
        let first_free = first_free(self.config);
        // First-free has all the interests it keeps, one of them at a member that owes a slot; or
        // the window has no room for another.
        let enough = |fetch: &Fetch, live: usize, owed: bool| {
            (first_free && live >= INTERESTS && owed) || self.no_room_for_interests(fetch)
        };
        let mut live = fetch.interests.iter().filter(|i| !i.withdrawn).count();
        let mut owed = fetch.awaits_a_slot();
        // Checked before the strangers are sorted out, which costs a pass over every holding.
        if enough(fetch, live, owed) {
            return Ok(());
        }
        let asked: Vec<Rank> =
            fetch.in_flight.iter().map(|&(_, m, _)| m).chain(fetch.interests.iter().map(|i| i.member)).collect();
        let held_or_coming = fetch.held_or_coming();
        for member in fetch.view.strangers(&held_or_coming, fetch.chunks, &asked, first_free) {
            if enough(fetch, live, owed) {
                break;
            }
            debug_assert_ne!(member, me);
            // Chunks it would not ask this member for count as held, so the member answers only
            // when it can serve one it would.
            let held = if first_free { fetch.not_from(member) } else { held_or_coming.clone() };
            let owes = first_free && fetch.view.offers(member, &held, fetch.chunks);
            // First-free keeps its interests apart from its requests, so that one at a member that
            // will never serve does not crowd out a request; beyond its interests, one more at a
            // member that owes a slot when none of those does (the members that hold what it
            // lacks change as it goes), else it would ask the tracker again for nothing.
            // Only a member that owes a slot may have the one more; the next may.
            if first_free && live >= INTERESTS && !owes {
                continue;
            }
            (live, owed) = (live + 1, owed || owes);
            let due = owes.then(|| Instant::now() + self.request_timeout());
            fetch.interests.push(Interest { member, due, withdrawn: false });
            self.transport.send(member, &Message::ChunkRequest { file, chunk: None, held })?;
            self.interests_sent.set(self.interests_sent.get() + 1);
        }
        Ok(())
    }

    /// Whether the window leaves no room for another interest: first-free keeps its interests
    /// apart from its requests, other choices count both.
    fn no_room_for_interests(&self, fetch: &Fetch) -> bool {
        let taken = if first_free(self.config) { fetch.in_flight.len() } else { fetch.outstanding() };
        taken >= self.window()
    }

    /// Withdraws every interest not yet withdrawn; each withdrawal is answered, or times out.
    fn withdraw_all(&self, fetch: &mut Fetch) -> Result<(), RunError> {
        let due = Instant::now() + self.request_timeout();
        for interest in fetch.interests.iter_mut().filter(|i| !i.withdrawn) {
            (interest.due, interest.withdrawn) = (Some(due), true);
            self.withdraw(interest.member, fetch.file)?;
        }
        Ok(())
    }

    /// Sends `member` a withdrawal of this peer's interest in `file`, or of the slot it promised.
    fn withdraw(&self, member: Rank, file: FileId) -> Result<(), RunError> {
        self.withdrawals_sent.set(self.withdrawals_sent.get() + 1);
        Ok(self.transport.send(member, &Message::Withdraw { file })?)
    }

    fn request_timeout(&self) -> Duration {
        super::request_timeout(self.config.chunk_time(), self.capacities.len() as u32)
    }

    /// An interest came back: the member holds something this peer lacks now (its holding, just
    /// learnt, says what), or the interest was withdrawn. With first-free, the member also has a
    /// slot free for this peer: the first chunk in the piece order it may be asked for is.
    fn on_interest_answered(&self, fetch: &mut Fetch, from: Rank, sent: Option<Sent>) -> Result<(), RunError> {
        let at = fetch.interests.iter().position(|i| i.member == from).filter(|_| sent.is_none());
        let Some(at) = at else {
            if self.expects_late(from) {
                return Ok(()); // the answer to an interest given up on
            }
            return Err(RunError::Protocol(Breach(format!("rank {from} answered an interest it did not have, or with a chunk"))));
        };
        let interest = fetch.interests.swap_remove(at);
        if !first_free(self.config) || interest.withdrawn {
            return Ok(());
        }
        // What its interest told the member it would not ask it for, as of now.
        let unwanted = fetch.not_from(from);
        let holding = fetch.view.holding(from);
        let free = |c: &ChunkIdx| !unwanted.contains(c.index()) && holding.is_some_and(|h| h.has(*c));
        let chunk = match !fetch.abandoned && fetch.in_flight.len() < self.window() {
            true => {
                fetch.retry.iter().position(free).and_then(|at| fetch.retry.remove(at)).or_else(|| fetch.order.take_first(free))
            }
            false => None,
        };
        match chunk {
            Some(chunk) => self.request(fetch, chunk, from),
            // The promised slot is given back at once: nothing of this peer's is parked there
            // now, so the withdrawal is not answered.
            None => self.withdraw(from, fetch.file),
        }
    }

    /// With every missing chunk asked for once, asks a second member for those still on their
    /// way, one copy each at most, within the window.
    fn end_game(&self, fetch: &mut Fetch) -> Result<(), RunError> {
        if !self.config.strategy.end_game || !fetch.waiting.is_empty() {
            return Ok(());
        }
        let alone: Vec<ChunkIdx> = fetch
            .in_flight
            .iter()
            .map(|&(chunk, _, _)| chunk)
            .filter(|&chunk| !fetch.got.contains(chunk.index()))
            .filter(|&chunk| fetch.in_flight.iter().filter(|&&(c, _, _)| c == chunk).count() == 1)
            .collect();
        for chunk in alone {
            if fetch.in_flight.len() >= self.window() {
                break;
            }
            let mut asked: Vec<Rank> = fetch.in_flight.iter().filter(|&&(c, _, _)| c == chunk).map(|&(_, up, _)| up).collect();
            asked.extend(fetch.tried.get(&chunk).into_iter().flatten());
            let busy = self.saturated(&fetch.in_flight);
            if let Pick::Chosen(uploader) = fetch.view.pick(chunk, &asked, &busy, self.config.strategy.peers, &mut fetch.rng) {
                self.request(fetch, chunk, uploader)?;
            }
        }
        Ok(())
    }

    fn request(&self, fetch: &mut Fetch, chunk: ChunkIdx, uploader: Rank) -> Result<(), RunError> {
        fetch.in_flight.push((chunk, uploader, Instant::now() + self.request_timeout()));
        let (me, file) = (self.me(), fetch.file);
        self.events.emit(Event::ChunkRequested { downloader: me, uploader, file, chunk });
        // Only a super-seeding owner (rarest-first) looks at what a named request says is held:
        // other orders spare the bitfield, which costs in swarms of large files.
        let held = if self.config.strategy.pieces == PieceOrder::Rarest { fetch.held_or_coming() } else { FixedBitSet::new() };
        self.transport.send(uploader, &Message::ChunkRequest { file, chunk: Some(chunk), held })?;
        Ok(())
    }

    fn on_reply(&self, fetch: &mut Fetch, from: Rank, asked: ChunkIdx, sent: Option<Sent>) -> Result<(), RunError> {
        let (me, file) = (self.me(), fetch.file);
        let Some(at) = fetch.in_flight.iter().position(|&(c, up, _)| c == asked && up == from) else {
            if self.expects_late(from) {
                return Ok(()); // too late: the request timed out and went elsewhere
            }
            return Err(RunError::Protocol(Breach(format!("rank {from} answered for chunk {} it was not asked for", asked.0))));
        };
        fetch.in_flight.swap_remove(at);
        let (chunk, hash) = match sent {
            Some(Sent { chunk, hash }) => (chunk, Some(hash)),
            None => (asked, None),
        };
        if chunk != asked {
            // A super-seeding owner sent another chunk: the one asked for is to ask for again.
            if self.config.strategy.pieces != PieceOrder::Rarest || chunk.index() >= fetch.chunks {
                return Err(RunError::Protocol(Breach(format!("rank {from} sent chunk {} for chunk {}", chunk.0, asked.0))));
            }
            if !fetch.got.contains(asked.index()) && !fetch.in_flight.iter().any(|&(c, _, _)| c == asked) {
                fetch.retry.push_front(asked);
            }
        }
        if fetch.got.contains(chunk.index()) {
            // The end game's second copy, or its NACK: the chunk is here already.
            if hash.is_some() {
                self.events.emit(Event::ChunkDuplicate { downloader: me, uploader: from, file, chunk });
            }
            return Ok(());
        }
        let announce = || self.events.emit(Event::ChunkReceived { downloader: me, uploader: from, file, chunk });
        match hash {
            Some(hash) if self.store.accept(file, chunk, hash, announce).is_ok() => {
                fetch.tried.remove(&chunk);
                fetch.got.insert(chunk.index());
                fetch.held += 1;
                fetch.backoff = None;
                fetch.fruitless = 0;
                fetch.unreported.push(Received { chunk, from });
                self.interests.gained(self.transport, self.store, file)?;
                if fetch.unreported.len() >= self.config.update_every as usize && fetch.held < fetch.chunks {
                    self.update(fetch)?;
                }
                return Ok(());
            }
            Some(_) => {
                self.events.emit(Event::ChunkRejected { downloader: me, uploader: from, file, chunk });
                if fetch.view.shun(from) {
                    self.transport.send(Rank::TRACKER, &Message::BadSource { file, from })?;
                }
            }
            None => self.events.emit(Event::ChunkNacked { downloader: me, uploader: from, file, chunk }),
        }
        fetch.tried.entry(chunk).or_default().push(from);
        // A copy still on its way from another member may yet bring it.
        if !fetch.in_flight.iter().any(|&(c, _, _)| c == chunk) {
            fetch.retry.push_back(chunk);
        }
        Ok(())
    }

    /// Reports the chunks received since the last report; the tracker answers with a fresh swarm.
    fn update(&self, fetch: &mut Fetch) -> Result<(), RunError> {
        let received = std::mem::take(&mut fetch.unreported);
        let (peer, file, chunks) = (self.me(), fetch.file, received.len() as u32);
        self.events.emit(Event::SegmentReported { peer, file, chunks });
        self.report_interests();
        let queue = self.upload_queue.load(Ordering::Relaxed);
        self.transport.send(Rank::TRACKER, &Message::Update { file: fetch.file, received, queue })?;
        fetch.updating += 1;
        Ok(())
    }

    /// Whether `member` once failed to answer in time or was dropped from a swarm, so that a late
    /// answer from it is expected rather than a breach of the protocol.
    fn expects_late(&self, member: Rank) -> bool {
        self.silent.borrow().contains(&member)
    }

    /// The next message, or `None` once `deadline` passed.
    fn receive_until(&self, deadline: Option<Instant>) -> Result<Option<crate::protocol::message::Envelope>, RunError> {
        let timeout = deadline.map(|at| at.saturating_duration_since(Instant::now()));
        Ok(self.transport.recv(Endpoint::Download, timeout)?)
    }

    /// Uploaders that already have as many of this downloader's requests as they should.
    fn saturated(&self, in_flight: &[(ChunkIdx, Rank, Instant)]) -> Vec<Rank> {
        let mut uploaders: Vec<Rank> = in_flight.iter().map(|&(_, uploader, _)| uploader).collect();
        uploaders.sort_unstable();
        uploaders
            .chunk_by(|a, b| a == b)
            .filter(|asked| asked.len() >= self.per_uploader(asked[0]))
            .map(|asked| asked[0])
            .collect()
    }
}

impl Fetch {
    /// Whether chunks are still to get: some are missing and the file was not given up.
    fn wants_more(&self) -> bool {
        !self.abandoned && self.held < self.chunks
    }

    /// When the next request or withdrawal times out.
    fn next_due(&self) -> Option<Instant> {
        self.in_flight.iter().map(|&(_, _, due)| due).chain(self.interests.iter().filter_map(|i| i.due)).min()
    }

    /// Whether an interest waits for a slot that its member owes this peer (first-free).
    fn awaits_a_slot(&self) -> bool {
        self.interests.iter().any(|i| i.due.is_some() && !i.withdrawn)
    }

    /// Requests and interests awaiting an answer.
    fn outstanding(&self) -> usize {
        self.in_flight.len() + self.interests.len()
    }

    /// Whether some missing chunk is not on its way.
    fn has_free_chunks(&self) -> bool {
        let mut coming: Vec<ChunkIdx> =
            self.in_flight.iter().map(|&(c, _, _)| c).filter(|c| !self.got.contains(c.index())).collect();
        coming.sort_unstable();
        coming.dedup();
        self.held + coming.len() < self.chunks
    }

    /// What this peer would not ask `member` for: the chunks it holds or has on their way, those
    /// the member failed, and those it may not be asked for (a suspect, when others hold them).
    fn not_from(&self, member: Rank) -> FixedBitSet {
        let mut bits = self.held_or_coming();
        let failed = self.tried.iter().filter(|(_, members)| members.contains(&member));
        failed.for_each(|(chunk, _)| bits.insert(chunk.index()));
        self.view.withheld(member, self.chunks).into_iter().for_each(|c| bits.insert(c));
        bits
    }

    /// The chunks this peer holds or has on their way: what it wants from nobody else.
    fn held_or_coming(&self) -> FixedBitSet {
        let mut bits = self.got.clone();
        self.in_flight.iter().for_each(|&(c, _, _)| bits.insert(c.index()));
        bits
    }

    /// After learning who holds what: chunks no one was known to hold may have holders now, and
    /// the rarest-first order follows the new counts.
    fn reconsider(&mut self) {
        self.order.put_back(self.waiting.drain(..));
        self.order.rerank(self.view.partial_holders());
    }
}

fn unexpected(what: &str, got: Message, from: Rank) -> RunError {
    RunError::Protocol(Breach(format!("expected {what}, got {got:?} from rank {from}")))
}
