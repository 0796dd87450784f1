//! One file's download, free of any transport, clock or thread: it takes the messages for the
//! download thread and the time, and answers with the [`Step`]s to take (what to send, the
//! output to write, how long to wait, when it is over), which the download thread
//! ([`crate::protocol::peer::download`]) takes. So every rule below can be tested by handing it
//! messages and instants.
//!
//! Chunks are requested in the strategy's order, several at a time
//! ([`IN_FLIGHT`](crate::protocol::IN_FLIGHT)), each from a
//! member the strategy's peer choice picks among those known to hold it; a NACK or a wrong hash
//! sends the chunk to another member. Every answer carries its sender's holding, so what this
//! peer knows of the swarm is fresh from the data path, not only from the tracker's reports.
//! Members not known to hold anything this peer lacks get an interest instead (see
//! [`crate::protocol::peer::interest`]), answered as soon as they do; interests are withdrawn once
//! every missing chunk is on its way. In the end game, the last chunks on their way are also asked
//! of a second member. A member that chokes this peer (tit-for-tat, or a free rider) is asked
//! nothing by name: it gets an interest, answered once it unchokes this peer. It reacts to
//! whatever arrives (chunk replies and the tracker's swarm updates interleave), so it never polls.

mod answers;
mod asking;
#[cfg(test)]
mod tests;

use crate::protocol::error::{Breach, RunError};
use crate::protocol::events::{Event, EventSink, Wait};
use crate::protocol::hash::ChunkHash;
use crate::protocol::ids::{ChunkIdx, FileId, Rank};
use crate::protocol::message::{Message, Received, Swarm};
use crate::protocol::peer::choke::{self, Reciprocity, OPTIMISTIC_EVERY};
use crate::protocol::peer::first_free;
use crate::protocol::peer::interest::{Interests, Requesters};
use crate::protocol::peer::order::ChunkOrder;
use crate::protocol::peer::seeds::Seeds;
use crate::protocol::peer::store::ChunkStore;
use crate::protocol::peer::view::SwarmView;
use crate::protocol::strategy::PeerChoice;
use crate::scenario::capacity::Capacity;
use crate::scenario::settings::Settings;
use fixedbitset::FixedBitSet;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The pause before the second forced update in a row, doubled before each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(1);
/// The longest a downloader waits before asking the tracker again when nobody holds a chunk.
const LONGEST_BACKOFF: Duration = Duration::from_millis(50);
/// Swarm updates a downloader asks for in a row, without getting a chunk, before it gives up
/// (about 1.3 s of backing off). Only a peer that left can take a chunk's last copy with it, and
/// every blocked downloader's ask reports what it holds, so a copy that exists shows up in the
/// tracker's swarm long before.
pub const FRUITLESS_UPDATES: u32 = 30;

/// What the download thread is to do next, in order. Each answer of [`Fetch`] ends with a
/// [`Step::WaitUntil`] or a [`Step::Done`].
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Send `msg` to `to`: a member, or the tracker.
    Send { to: Rank, msg: Message },
    /// Write the file's output: every chunk is held, and these are their hashes.
    Write { hashes: Vec<ChunkHash> },
    /// Say that the file is given up: no member served `chunk` in `asks` fresh swarms from the
    /// tracker.
    GiveUp { chunk: ChunkIdx, asks: u32 },
    /// Wait for the next message until then (`None`: for as long as it takes), then hand it, or
    /// the time, to [`Fetch::on_message`] or [`Fetch::on_time`].
    WaitUntil(Option<Instant>),
    /// The download is over.
    Done(Fetched),
}

/// How a file's download ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fetched {
    Complete,
    /// Given up: some chunk had no holder left that would serve it.
    Abandoned,
    /// This peer left the run before it was complete.
    Left,
}

/// This peer as each of its downloads sees it: who it is, the run's settings, and what it
/// shares with its upload thread.
pub struct Peer<'a> {
    pub me: Rank,
    pub settings: &'a Settings,
    /// Every peer's capacity, rank 1 first.
    pub capacities: &'a [Capacity],
    pub store: &'a ChunkStore,
    pub events: &'a dyn EventSink,
    /// This peer's upload queue, reported with each update.
    pub upload_queue: &'a AtomicU32,
    /// Interests parked at this peer's upload thread, answered here when a chunk arrives.
    pub interests: &'a Interests,
    /// Peers that asked this one for chunks, as its upload thread met them.
    pub requesters: &'a Requesters,
    /// The chunks it received from each peer, for its upload thread's choking.
    pub reciprocity: &'a Reciprocity,
    /// When this peer leaves the run (`--leave`).
    pub leave_at: Option<Instant>,
    pub seeds: Seeds,
}

/// What a peer's downloads keep from one file to the next.
#[derive(Default)]
pub struct Memory {
    /// Members that once failed to answer in time, or left: their late answers are expected, not
    /// breaches of the protocol.
    silent: HashSet<Rank>,
    /// Interests and withdrawals sent since they were last reported (with each report to the
    /// tracker, and when the thread finishes).
    interests_sent: u64,
    withdrawals_sent: u64,
    /// Members whose last answer said otherwise than this peer takes of one it has not heard
    /// from: with tit-for-tat, that it unchokes this peer; else that it chokes it (a free rider).
    contrary: HashSet<Rank>,
}

impl Memory {
    /// Emits the interests and withdrawals `peer` sent since the last time, if any.
    pub fn report_interests(&mut self, peer: Rank, events: &dyn EventSink) {
        let (interests, withdrawals) = (std::mem::take(&mut self.interests_sent), std::mem::take(&mut self.withdrawals_sent));
        if interests + withdrawals > 0 {
            events.emit(Event::InterestsSent { peer, interests, withdrawals });
        }
    }
}

/// An interest of this peer at a member.
struct Interest {
    member: Rank,
    /// When it times out, if it must be answered in time: once withdrawn, and with first-free
    /// when sent to a member known to hold something this peer lacks (it owes a free slot within
    /// the longest queue, like a request).
    due: Option<Instant>,
    withdrawn: bool,
    /// What it told the member this peer would not ask it for.
    held: FixedBitSet,
}

/// One file's download in progress.
pub struct Fetch<'a> {
    peer: &'a Peer<'a>,
    memory: &'a mut Memory,
    file: FileId,
    /// Whether the tracker's answer to the file request (the hashes and the swarm) came.
    informed: bool,
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
    /// When the forced update that waits out the backoff goes.
    update_at: Option<Instant>,
    /// Forced updates since the last chunk arrived.
    fruitless: u32,
    /// The steps decided since the last answer.
    steps: Vec<Step>,
    /// Why it asked for nothing more, as last said in a [`Event::Waiting`].
    said: Option<Wait>,
    /// When to ask the tracker for a fresh swarm while every holder chokes this peer (tit-for-tat),
    /// to learn of those that left.
    refresh_at: Option<Instant>,
    /// Such asks since the last chunk arrived.
    choked_asks: u32,
}

impl<'a> Fetch<'a> {
    pub fn new(peer: &'a Peer<'a>, memory: &'a mut Memory, file: FileId) -> Fetch<'a> {
        Fetch {
            peer,
            memory,
            file,
            informed: false,
            chunks: 0,
            view: SwarmView::new(peer.me, Swarm::new(), peer.seeds.members()),
            order: ChunkOrder::default(),
            rng: SmallRng::seed_from_u64(peer.seeds.fetch(file)),
            got: FixedBitSet::new(),
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
            update_at: None,
            fruitless: 0,
            steps: Vec::new(),
            said: None,
            refresh_at: None,
            choked_asks: 0,
        }
    }

    /// Asks the tracker for the file's hashes and swarm.
    pub fn start(&mut self) -> Vec<Step> {
        self.send(Rank::TRACKER, Message::FileRequest { file: self.file, emitted: self.peer.events.emitted() });
        self.say(Some(Wait::Tracker));
        // Once this peer has left, the tracker ignores it: the answer may never come.
        self.answer(Step::WaitUntil(self.peer.leave_at))
    }

    /// Takes a message for the download thread from `from`, at `now`.
    pub fn on_message(&mut self, from: Rank, msg: Message, now: Instant) -> Result<Vec<Step>, RunError> {
        if !self.informed {
            match msg {
                Message::FileInfo { file, hashes, swarm } if file == self.file => self.begin(hashes, swarm),
                // A late answer to a request of the last file that timed out.
                Message::ChunkReply { .. } if self.expects_late(from) => {}
                other => return Err(unexpected("the file's hashes and swarm", other, from)),
            }
            return self.advance(now);
        }
        match msg {
            Message::ChunkReply { file, .. } if file != self.file && self.expects_late(from) => {
                // A late answer to a request of an earlier file that timed out.
            }
            Message::ChunkReply { file, asked, sent, holding, choked } if file == self.file => {
                // Only what departs from the default is kept: every reply passes here.
                match choked == self.tit_for_tat() {
                    true => self.memory.contrary.remove(&from),
                    false => self.memory.contrary.insert(from),
                };
                if self.view.learn(from, &holding) {
                    self.reconsider();
                }
                match asked {
                    Some(chunk) => self.on_reply(from, chunk, sent, choked)?,
                    None => self.on_interest_answered(from, sent, now)?,
                }
            }
            Message::SwarmReply { file, swarm, left } if file == self.file && self.updating > 0 => {
                self.updating -= 1;
                self.view.refresh(swarm);
                self.tried.clear();
                self.reconsider();
                // What was asked of peers that left is never answered: waiting out its
                // deadlines held a 32-peer crowd at 10 ms a chunk up by a second.
                self.give_up(|member, _| left.contains(&member));
            }
            other => return Err(unexpected("a chunk reply or a swarm update", other, from)),
        }
        self.advance(now)
    }

    /// No message came by the last [`Step::WaitUntil`]: it is `now`.
    pub fn on_time(&mut self, now: Instant) -> Result<Vec<Step>, RunError> {
        self.expire(now);
        self.advance(now)
    }

    /// Takes the tracker's answer to the file request.
    fn begin(&mut self, hashes: Vec<ChunkHash>, swarm: Swarm) {
        self.chunks = hashes.len();
        self.peer.store.begin(self.file, hashes);
        self.view = SwarmView::new(self.peer.me, swarm, self.peer.seeds.members());
        self.order = ChunkOrder::new(self.chunks, self.peer.settings.strategy.pieces, &mut self.rng);
        self.order.rerank(self.view.partial_holders());
        self.got = FixedBitSet::with_capacity(self.chunks);
        self.informed = true;
    }

    /// Decides what to do at `now`, after whatever came: ask for more, ask the tracker again,
    /// give up, finish, or wait.
    fn advance(&mut self, now: Instant) -> Result<Vec<Step>, RunError> {
        let left = self.peer.leave_at.is_some_and(|at| at <= now);
        if !self.informed {
            if left {
                self.say(None);
                return Ok(self.answer(Step::Done(Fetched::Left)));
            }
            return Ok(self.answer(Step::WaitUntil(self.peer.leave_at)));
        }
        loop {
            if !self.awaits_anything() {
                let fetched = self.finish()?;
                self.say(None);
                return Ok(self.answer(Step::Done(fetched)));
            }
            if left {
                self.say(None);
                return Ok(self.answer(Step::Done(Fetched::Left)));
            }
            if self.update_at.is_some_and(|at| at <= now) {
                self.update_at = None;
                // Unless the chunks asked for meanwhile completed the file.
                if self.wants_more() {
                    self.update();
                }
            }
            if self.refresh_at.is_some_and(|at| at <= now) {
                self.refresh_at = None;
                if self.awaits_unchoke_only() {
                    if self.choked_asks == self.choked_asks_allowed() {
                        self.abandon(now);
                        continue;
                    }
                    self.choked_asks += 1;
                    self.renew_interests(now);
                    self.update();
                }
            }
            if !self.abandoned {
                self.peer.requesters.take(self.file).into_iter().for_each(|member| self.view.meet(member));
                self.request_more(now);
            }
            if self.blocked() {
                if self.fruitless == FRUITLESS_UPDATES {
                    self.abandon(now);
                    continue;
                }
                self.ask_again(now);
            }
            if self.refresh_at.is_none() && self.awaits_unchoke_only() {
                self.refresh_at = Some(now + choke::window(self.peer.settings.chunk_time()));
            }
            self.say(self.wait());
            let next = self.next_due().into_iter().chain(self.peer.leave_at).chain(self.update_at).chain(self.refresh_at).min();
            return Ok(self.answer(Step::WaitUntil(next)));
        }
    }

    /// Why it asks for no more chunks now, when some missing chunk is not on its way. After
    /// [`Fetch::request_more`], a window with room means no free holder has such a chunk.
    fn wait(&self) -> Option<Wait> {
        if !self.wants_more() || !self.has_free_chunks() {
            return None;
        }
        // Backing off before asking the tracker again: nobody served what it lacks.
        if self.update_at.is_some() || !self.view.anyone_offers(&self.held_or_coming(), self.chunks) {
            return Some(Wait::NoHolder);
        }
        if self.taken() >= self.window() {
            return self.peer.capacities[self.peer.me.peer_index()].download_limit.map(|_| Wait::Limit);
        }
        if first_free(self.peer.settings) {
            return Some(Wait::Interest);
        }
        let got = self.held_or_coming();
        let unchoked = |m: &Rank| !self.chokes_me(*m) && self.view.offers(*m, &got, self.chunks);
        Some(if self.tit_for_tat() && !self.view.members().any(|m| unchoked(&m)) { Wait::Choked } else { Wait::HoldersBusy })
    }

    /// The window's places taken: first-free and tit-for-tat keep their interests apart from it,
    /// other choices count them in it.
    pub(super) fn taken(&self) -> usize {
        if self.interests_apart() {
            self.in_flight.len()
        } else {
            self.outstanding()
        }
    }

    fn interests_apart(&self) -> bool {
        first_free(self.peer.settings) || self.tit_for_tat()
    }

    pub(super) fn tit_for_tat(&self) -> bool {
        self.peer.settings.strategy.peers == PeerChoice::TitForTat
    }

    /// Whether `member` chokes this peer, as far as it knows: with tit-for-tat every member does
    /// until it says otherwise; with other choices only a free rider does, once it said so.
    pub(super) fn chokes_me(&self, member: Rank) -> bool {
        self.tit_for_tat() != self.memory.contrary.contains(&member)
    }

    /// Whether some member may choke this peer: with tit-for-tat, any; else one that said so.
    pub(super) fn anyone_may_choke(&self) -> bool {
        self.tit_for_tat() || !self.memory.contrary.is_empty()
    }

    /// Whether all it waits for is to be unchoked: nothing on its way, no swarm coming, and an
    /// interest out at a holder that chokes it.
    fn awaits_unchoke_only(&self) -> bool {
        self.wants_more() && self.in_flight.is_empty() && self.updating == 0 && self.update_at.is_none() && self.awaits_unchoke()
    }

    /// Whether an interest waits at a member that chokes this peer and holds a chunk it lacks
    /// (tit-for-tat): it will be answered when the member unchokes this peer, which the
    /// optimistic unchoke brings round however long nobody gives it anything.
    fn awaits_unchoke(&self) -> bool {
        if !self.tit_for_tat() {
            return false;
        }
        // One withdrawn to be sent anew (see `renew_interests`) is waited on as well.
        let got = self.held_or_coming();
        let choking = |i: &&Interest| (!i.withdrawn || !self.abandoned) && self.chokes_me(i.member);
        self.interests.iter().filter(choking).any(|i| self.view.offers(i.member, &got, self.chunks))
    }

    /// Fresh swarms asked for, while every holder chokes it, before it gives up: one per window
    /// for as long as the optimistic unchoke of a holder takes to come round to every peer, and
    /// as many again as it asks when no member holds a chunk.
    fn choked_asks_allowed(&self) -> u32 {
        self.peer.capacities.len() as u32 * OPTIMISTIC_EVERY + FRUITLESS_UPDATES
    }

    /// Emits why it waits, if that changed since it last said.
    fn say(&mut self, why: Option<Wait>) {
        if why != self.said {
            self.said = why;
            self.peer.events.emit(Event::Waiting { peer: self.peer.me, file: self.file, why });
        }
    }

    /// Whether every missing chunk waits for a holder: nothing is on its way or owed, and no
    /// swarm from the tracker is coming.
    fn blocked(&self) -> bool {
        self.in_flight.is_empty()
            && !self.awaits_a_slot()
            && !self.awaits_unchoke()
            && self.updating == 0
            && self.update_at.is_none()
            && self.wants_more()
    }

    /// Asks the tracker for a fresh swarm: at once the first time, then after a pause that
    /// doubles each time asking did not help. Messages that come meanwhile are taken as ever.
    fn ask_again(&mut self, now: Instant) {
        self.fruitless += 1;
        if first_free(self.peer.settings) {
            // What its interests said it holds or has coming may be out of date (a chunk on its
            // way may have gone back to be asked again): they are sent anew.
            self.withdraw_all(now);
        }
        match self.backoff {
            Some(pause) => self.update_at = Some(now + pause),
            None => self.update(),
        }
        self.backoff = Some(self.backoff.map_or(FIRST_BACKOFF, |b| (b * 2).min(LONGEST_BACKOFF)));
    }

    /// Gives up on the file: no member served some chunk however often the tracker was asked.
    /// Interests are withdrawn, and their answers awaited, so none is left for the next file.
    fn abandon(&mut self, now: Instant) {
        // A chunk no member served, or, waiting to be unchoked, the first it lacks.
        let lacked = (0..self.chunks).find(|&c| !self.got.contains(c)).map(|c| ChunkIdx(c as u32));
        let chunk = self.waiting.iter().chain(&self.retry).min().copied().or(lacked).unwrap_or(ChunkIdx(0));
        let asks = self.fruitless.max(self.choked_asks);
        self.steps.push(Step::GiveUp { chunk, asks });
        self.peer.events.emit(Event::FileAbandoned { peer: self.peer.me, file: self.file });
        self.abandoned = true;
        self.withdraw_all(now);
    }

    /// Every chunk is held (or the file was given up) and every answer is in: the output to
    /// write and the completion to report.
    fn finish(&mut self) -> Result<Fetched, RunError> {
        if self.abandoned {
            return Ok(Fetched::Abandoned);
        }
        let hashes = self.peer.store.finish(self.file).map_err(|e| Breach(e.to_string()))?;
        self.steps.push(Step::Write { hashes });
        let received = std::mem::take(&mut self.unreported);
        let emitted = self.peer.events.emitted();
        self.send(Rank::TRACKER, Message::FileComplete { file: self.file, received, emitted });
        Ok(Fetched::Complete)
    }

    /// Requests and withdrawals that got no answer by `now`: the member may have left. A request
    /// goes to another holder; the member is not asked again until a swarm lists it anew.
    fn expire(&mut self, now: Instant) {
        self.give_up(|_, due| due.is_some_and(|at| at <= now));
    }

    /// Gives up on the requests and interests that `hopeless` says will not be answered, given
    /// the member asked and when the answer is due (an interest may have no deadline): a chunk
    /// asked for goes to another holder, and a late answer from the member is dropped.
    fn give_up(&mut self, hopeless: impl Fn(Rank, Option<Instant>) -> bool) {
        let (me, file) = (self.peer.me, self.file);
        let (expired, live): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.in_flight).into_iter().partition(|&(_, uploader, due)| hopeless(uploader, Some(due)));
        self.in_flight = live;
        for (chunk, uploader, _) in expired {
            self.memory.silent.insert(uploader);
            self.view.forget(uploader);
            self.peer.events.emit(Event::ChunkTimedOut { downloader: me, uploader, file, chunk });
            self.tried.entry(chunk).or_default().push(uploader);
            // Two copies of an end-game chunk may time out together: ask again once.
            if !self.got.contains(chunk.index())
                && !self.in_flight.iter().any(|&(c, _, _)| c == chunk)
                && !self.retry.contains(&chunk)
            {
                self.retry.push_back(chunk);
            }
        }
        let (overdue, waiting): (Vec<Interest>, Vec<Interest>) =
            std::mem::take(&mut self.interests).into_iter().partition(|i| hopeless(i.member, i.due));
        self.interests = waiting;
        for interest in overdue {
            self.memory.silent.insert(interest.member);
            if !interest.withdrawn {
                self.view.forget(interest.member); // it owed a free slot: it may have left
            }
        }
    }

    /// Reports the chunks received since the last report; the tracker answers with a fresh swarm.
    fn update(&mut self) {
        let received = std::mem::take(&mut self.unreported);
        let (peer, file, chunks) = (self.peer.me, self.file, received.len() as u32);
        self.peer.events.emit(Event::SegmentReported { peer, file, chunks });
        self.memory.report_interests(peer, self.peer.events);
        let queue = self.peer.upload_queue.load(Ordering::Relaxed);
        let emitted = self.peer.events.emitted();
        self.send(Rank::TRACKER, Message::Update { file, received, queue, emitted });
        self.updating += 1;
    }

    fn send(&mut self, to: Rank, msg: Message) {
        self.steps.push(Step::Send { to, msg });
    }

    /// The steps decided since the last answer, ending with `last`.
    fn answer(&mut self, last: Step) -> Vec<Step> {
        self.steps.push(last);
        std::mem::take(&mut self.steps)
    }

    /// Whether `member` once failed to answer in time or left, so that a late answer from it is
    /// expected rather than a breach of the protocol.
    fn expects_late(&self, member: Rank) -> bool {
        self.memory.silent.contains(&member)
    }

    /// Whether chunks are still to get, or answers: a swarm, a chunk, the answer to an interest or
    /// a withdrawal. The end game's duplicates too, so that none is left for the next file.
    fn awaits_anything(&self) -> bool {
        self.wants_more() || self.updating > 0 || !self.in_flight.is_empty() || !self.interests.is_empty()
    }

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
        self.view.withheld(member, self.chunks, &self.choking()).into_iter().for_each(|c| bits.insert(c));
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
