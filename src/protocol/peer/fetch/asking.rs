//! What a download asks of whom: named requests within the window, interests at the members not
//! known to hold anything it lacks, their withdrawals, and the end game's second requests.

use super::{Fetch, Interest};
use crate::protocol::events::Event;
use crate::protocol::ids::{ChunkIdx, FileId, Rank};
use crate::protocol::message::Message;
use crate::protocol::peer::first_free;
use crate::protocol::peer::view::Pick;
use crate::protocol::strategy::PieceOrder;
use fixedbitset::FixedBitSet;
use std::time::{Duration, Instant};

/// Interests a first-free or tit-for-tat downloader keeps out at once, at members known to hold
/// something it lacks first: one at every member spends messages, and the cores, on interests
/// parked where they are never used (docs/performance.md has the figures).
const INTERESTS: usize = 16;
/// Interests a downloader that picks among holders by name keeps out at once at members that do
/// not choke it (those known to hold nothing it lacks). It learns what the others get from every
/// answer and from the tracker's swarm; each interest more is answered, and sent anew, at every
/// chunk its member gets. A free rider holding a chunk it lacks gets one besides.
const WATCHING: usize = 4;

impl Fetch<'_> {
    /// Requests chunks until the window is full or none is left to ask for. A chunk whose
    /// holders all have as many of this peer's requests as they should is put back for later,
    /// and the next chunk tried instead: the scan goes on as long as some member not that busy
    /// may hold one.
    pub(super) fn request_more(&mut self, now: Instant) {
        if first_free(self.peer.settings) {
            // Chunks are asked for by name only when a member answers an interest.
            if self.retry.is_empty() && self.order.is_empty() {
                self.end_game(now);
            }
            return self.interest_or_withdraw(now);
        }
        let choice = self.peer.settings.strategy.peers;
        let mut deferred = Vec::new();
        let choking = self.choking();
        let mut busy = self.saturated();
        let mut obtainable = self.view.obtainable(&busy);
        while self.taken() < self.window() && obtainable.is_some() {
            let Some(chunk) = self.retry.pop_front().or_else(|| self.order.take_next()) else {
                break;
            };
            if self.got.contains(chunk.index()) || self.in_flight.iter().any(|&(c, _, _)| c == chunk) {
                continue; // it came in place of another chunk
            }
            if !obtainable.as_ref().is_some_and(|o| o.has(chunk)) {
                deferred.push(chunk);
                continue;
            }
            let tried = self.tried.get(&chunk).map_or(&[][..], Vec::as_slice);
            match self.view.pick(chunk, tried, &busy, &choking, choice, &mut self.rng) {
                Pick::Chosen(uploader) => {
                    self.request(chunk, uploader, now);
                    let now_busy = self.saturated();
                    if now_busy != busy {
                        busy = now_busy;
                        obtainable = self.view.obtainable(&busy);
                    }
                }
                Pick::Busy => deferred.push(chunk),
                Pick::Nobody => self.waiting.push(chunk),
            }
        }
        let exhausted = deferred.is_empty() && self.retry.is_empty() && self.order.is_empty();
        // Deferred chunks go first next time.
        self.order.put_back(deferred);
        if exhausted {
            self.end_game(now);
        }
        self.interest_or_withdraw(now)
    }

    /// While some missing chunk is not asked for, sends interests to members not known to hold
    /// anything this peer lacks, and to those that hold something but choke it (with tit-for-tat,
    /// to every such holder), within the window; once none is left, withdraws them all.
    fn interest_or_withdraw(&mut self, now: Instant) {
        let (me, file) = (self.peer.me, self.file);
        if !self.has_free_chunks() {
            return self.withdraw_all(now);
        }
        let first_free = first_free(self.peer.settings);
        let mut live = self.interests.iter().filter(|i| !i.withdrawn).count();
        let mut owed = self.awaits_a_slot();
        // Checked before the strangers are sorted out, which costs a pass over every holding.
        if self.has_enough_interests(live, owed, self.anyone_may_choke()) {
            return;
        }
        let asked: Vec<Rank> = self.in_flight.iter().map(|&(_, m, _)| m).chain(self.interests.iter().map(|i| i.member)).collect();
        let held_or_coming = self.held_or_coming();
        let holders_too = first_free || self.anyone_may_choke();
        // Those holding a chunk it lacks come first: once one that holds none has enough, all do.
        for (member, offers) in self.view.strangers(&held_or_coming, self.chunks, &asked, holders_too) {
            let choking = self.chokes_me(member);
            if self.has_enough_interests(live, owed, offers && choking) {
                break;
            }
            debug_assert_ne!(member, me);
            if offers && !first_free && !choking {
                continue; // it is asked by name
            }
            // Chunks it would not ask this member for count as held, so the member answers only
            // when it can serve one it would.
            let held = if first_free { self.not_from(member) } else { held_or_coming.clone() };
            // A member that chokes this peer (a free rider) owes it nothing.
            let owes = first_free && !choking && self.view.offers(member, &held, self.chunks);
            // First-free keeps its interests apart from its requests, so that one at a member that
            // will never serve does not crowd out a request; beyond its interests, one more at a
            // member that owes a slot when none of those does (the members that hold what it
            // lacks change as it goes), else it would ask the tracker again for nothing.
            // Only a member that owes a slot may have the one more; the next may.
            if first_free && live >= INTERESTS && !owes {
                continue;
            }
            (live, owed) = (live + 1, owed || owes);
            let due = owes.then(|| now + self.request_timeout());
            self.interests.push(Interest { member, due, withdrawn: false, held: held.clone() });
            self.send(member, Message::ChunkRequest { file, chunk: None, held });
            self.memory.interests_sent += 1;
        }
    }

    /// Whether `live` interests out, one of them at a member that owes a slot if `owed`, are
    /// enough for another, at a holder that chokes this peer if `choking_holder`: the window has
    /// no room for a request it would lead to; or first-free has all the interests it keeps, one
    /// of them at a member that owes a slot; or tit-for-tat has all it keeps, and the member is
    /// not a holder waited on to unchoke this peer, which always gets one (else that holder would
    /// never count it as interested); or any other choice watches as many members that do not
    /// choke it as it keeps, and the member is not a holder that chokes it.
    fn has_enough_interests(&self, live: usize, owed: bool, choking_holder: bool) -> bool {
        if self.taken() >= self.window() {
            return true;
        }
        match (self.tit_for_tat(), first_free(self.peer.settings)) {
            (true, _) => live >= INTERESTS && !choking_holder,
            (false, true) => live >= INTERESTS && owed,
            (false, false) => !choking_holder && self.watching() >= WATCHING,
        }
    }

    /// Interests out at members that do not choke this peer.
    fn watching(&self) -> usize {
        self.interests.iter().filter(|i| !i.withdrawn && !self.chokes_me(i.member)).count()
    }

    /// Withdraws its interests at members that choke it which say it holds or has coming a chunk
    /// it no longer has coming (it went back to be asked again): a member those interests offer
    /// nothing never counts this peer as interested. Once a withdrawal is answered, the interest
    /// goes anew with what it holds and has coming then. (Sending one anew at once could bring
    /// two answers, the first crossing the second interest on its way.)
    pub(super) fn renew_interests(&mut self, now: Instant) {
        let (current, due) = (self.held_or_coming(), now + self.request_timeout());
        let choking: Vec<Rank> = self.interests.iter().map(|i| i.member).filter(|&m| self.chokes_me(m)).collect();
        let mut stale = Vec::new();
        for interest in self.interests.iter_mut().filter(|i| !i.withdrawn && choking.contains(&i.member)) {
            if interest.held.difference(&current).next().is_some() {
                (interest.due, interest.withdrawn) = (Some(due), true);
                stale.push(interest.member);
            }
        }
        stale.into_iter().for_each(|member| self.withdraw(member, self.file));
    }

    /// Withdraws every interest not yet withdrawn; each withdrawal is answered, or times out.
    pub(super) fn withdraw_all(&mut self, now: Instant) {
        let due = now + self.request_timeout();
        let mut withdrawn = Vec::new();
        for interest in self.interests.iter_mut().filter(|i| !i.withdrawn) {
            (interest.due, interest.withdrawn) = (Some(due), true);
            withdrawn.push(interest.member);
        }
        withdrawn.into_iter().for_each(|member| self.withdraw(member, self.file));
    }

    /// Sends `member` a withdrawal of this peer's interest in `file`, or of the slot it promised.
    pub(super) fn withdraw(&mut self, member: Rank, file: FileId) {
        self.memory.withdrawals_sent += 1;
        self.send(member, Message::Withdraw { file });
    }

    fn request_timeout(&self) -> Duration {
        crate::protocol::peer::request_timeout(self.peer.settings.chunk_time(), self.peer.capacities.len() as u32)
    }

    /// With every missing chunk asked for once, asks a second member for those still on their
    /// way, one copy each at most, within the window.
    fn end_game(&mut self, now: Instant) {
        if !self.peer.settings.strategy.end_game || !self.waiting.is_empty() {
            return;
        }
        let alone: Vec<ChunkIdx> = self
            .in_flight
            .iter()
            .map(|&(chunk, _, _)| chunk)
            .filter(|&chunk| !self.got.contains(chunk.index()))
            .filter(|&chunk| self.in_flight.iter().filter(|&&(c, _, _)| c == chunk).count() == 1)
            .collect();
        for chunk in alone {
            if self.in_flight.len() >= self.window() {
                break;
            }
            let mut asked: Vec<Rank> = self.in_flight.iter().filter(|&&(c, _, _)| c == chunk).map(|&(_, up, _)| up).collect();
            asked.extend(self.tried.get(&chunk).into_iter().flatten());
            let (busy, choking) = (self.saturated(), self.choking());
            let choice = self.peer.settings.strategy.peers;
            if let Pick::Chosen(uploader) = self.view.pick(chunk, &asked, &busy, &choking, choice, &mut self.rng) {
                self.request(chunk, uploader, now);
            }
        }
    }

    pub(super) fn request(&mut self, chunk: ChunkIdx, uploader: Rank, now: Instant) {
        self.in_flight.push((chunk, uploader, now + self.request_timeout()));
        let (me, file) = (self.peer.me, self.file);
        self.peer.events.emit(Event::ChunkRequested { downloader: me, uploader, file, chunk });
        // Only a super-seeding owner (rarest-first) looks at what a named request says is held:
        // other orders spare the bitfield, which costs in swarms of large files.
        let held =
            if self.peer.settings.strategy.pieces == PieceOrder::Rarest { self.held_or_coming() } else { FixedBitSet::new() };
        self.send(uploader, Message::ChunkRequest { file, chunk: Some(chunk), held });
    }

    /// Requests this peer keeps out at once: its download limit, if it has one.
    pub(super) fn window(&self) -> usize {
        self.peer.capacities[self.peer.me.peer_index()]
            .download_limit
            .map_or(self.peer.settings.in_flight as usize, |limit| limit as usize)
    }

    /// Requests this peer keeps at `uploader` at once. With a chunk time, no more than its upload
    /// slots: more would only wait in its queue while other members sit idle.
    fn per_uploader(&self, uploader: Rank) -> usize {
        match self.peer.settings.chunk_time().is_zero() {
            true => self.window(),
            false => self.peer.capacities[uploader.peer_index()].upload_slots as usize,
        }
    }

    /// Uploaders not to ask by name now: those that already have as many of this downloader's
    /// requests as they should, and those that choke it.
    fn saturated(&self) -> Vec<Rank> {
        let mut uploaders: Vec<Rank> = self.in_flight.iter().map(|&(_, uploader, _)| uploader).collect();
        uploaders.sort_unstable();
        let full =
            uploaders.chunk_by(|a, b| a == b).filter(|asked| asked.len() >= self.per_uploader(asked[0])).map(|asked| asked[0]);
        let mut busy: Vec<Rank> = full.collect();
        let choking: Vec<Rank> = self.choking().into_iter().filter(|m| !busy.contains(m)).collect();
        busy.extend(choking);
        busy
    }

    /// The members that choke this peer, as far as it knows.
    pub(super) fn choking(&self) -> Vec<Rank> {
        match self.anyone_may_choke() {
            true => self.view.members().filter(|&m| self.chokes_me(m)).collect(),
            false => Vec::new(),
        }
    }
}
