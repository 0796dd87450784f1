//! Interests parked at a peer: requests for any chunk the requester lacks, from peers to which it has nothing
//! to offer yet. Each is answered, with the peer's holding and no chunk, as soon as the peer holds
//! something the requester lacks, so a new holder is asked at once, without anyone polling. The
//! answer carries no chunk, so it costs no upload slot; the requester then asks for a chunk by name.
//!
//! With a chunk time, an interest is also how a downloader asks for an upload slot: it is
//! answered only when a slot is free as well, and the answer promises that slot to the requester
//! until its named request comes (or a short while passes). So a downloader chooses its chunk when
//! the upload can start, with what it knows then, instead of queueing a choice made long before.

use crate::protocol::error::RunError;
use crate::protocol::ids::{FileId, Rank};
use crate::protocol::message::Message;
use crate::protocol::peer::store::ChunkStore;
use crate::protocol::peer::view::splitmix;
use crate::protocol::transport::Transport;
use fixedbitset::FixedBitSet;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The peers that asked this one for chunks of each file, for its download thread: a peer that
/// joined a swarm after this one got the swarm from the tracker is known this way before the
/// tracker's next answer.
#[derive(Default)]
pub struct Requesters {
    met: Mutex<Met>,
}

#[derive(Default)]
struct Met {
    /// Every (file, requester) seen.
    seen: HashSet<(FileId, Rank)>,
    /// Those the download thread has not taken yet.
    new: Vec<(FileId, Rank)>,
}

impl Requesters {
    pub fn met(&self, file: FileId, from: Rank) {
        let mut met = self.met.lock().expect("requesters");
        if met.seen.insert((file, from)) {
            met.new.push((file, from));
        }
    }

    /// The requesters of `file` first seen since the last call.
    pub fn take(&self, file: FileId) -> Vec<Rank> {
        let mut met = self.met.lock().expect("requesters");
        let (taken, rest): (Vec<_>, Vec<_>) = met.new.drain(..).partition(|&(f, _)| f == file);
        met.new = rest;
        taken.into_iter().map(|(_, rank)| rank).collect()
    }
}

struct Parked {
    from: Rank,
    file: FileId,
    /// What the requester held when it asked.
    held: FixedBitSet,
    since: Instant,
}

/// Shared by a peer's upload thread, which parks interests, and its download thread, which
/// answers them when a new chunk arrives.
#[derive(Default)]
pub struct Interests {
    parked: Mutex<Vec<Parked>>,
    /// With a chunk time: the upload slots, and who was promised one.
    slots: Option<Mutex<Slots>>,
}

/// The upload slots interests may be promised.
struct Slots {
    /// The upload slots.
    total: usize,
    /// Named requests that may wait beyond them, ready for the next slot to come free.
    ready: usize,
    /// Taken by transfers under way and requests waiting: their requesters.
    busy: Vec<Rank>,
    /// Slots promised by an answer: to whom, for which file, until when.
    promised: Vec<(Rank, FileId, Instant)>,
    /// How long a promise holds without its named request.
    hold: Duration,
    /// How long an interest may wait before it goes first.
    patience: Duration,
    /// Random draws so far, from the peer's seed, to choose among equals.
    draws: u64,
}

impl Slots {
    /// Whether a slot, or a place to wait ready for one, is neither taken nor promised.
    fn has_room(&self) -> bool {
        self.busy.len() + self.promised.len() < self.total + self.ready
    }

    /// Drops the promise to `from` for `file`, if there is one.
    fn unpromise(&mut self, from: Rank, file: FileId) {
        if let Some(at) = self.promised.iter().position(|&(r, f, _)| (r, f) == (from, file)) {
            self.promised.swap_remove(at);
        }
    }
}

impl Interests {
    /// Interests answered only with a free upload slot out of `total`, or one of `ready` places
    /// for a request to wait in, each promised for `hold`; the first to go is the requester
    /// holding fewest chunks, but any that waited `patience` goes before; `seed` draws among
    /// equals.
    pub fn gated(total: usize, ready: usize, hold: Duration, patience: Duration, seed: u64) -> Interests {
        let slots = Slots { total, ready, busy: Vec::new(), promised: Vec::new(), hold, patience, draws: seed };
        Interests { parked: Mutex::default(), slots: Some(Mutex::new(slots)) }
    }

    /// Whether interests wait for free upload slots (first-free with a chunk time).
    pub fn gated_slots(&self) -> bool {
        self.slots.is_some()
    }

    /// Answers `from`'s interest in `file` now if this peer holds a chunk it lacks, else parks it.
    pub fn offer<T: Transport>(
        &self,
        transport: &T,
        store: &ChunkStore,
        from: Rank,
        file: FileId,
        held: FixedBitSet,
    ) -> Result<(), RunError> {
        // Checking the store under the lock: a chunk accepted meanwhile either shows here or
        // finds the interest parked in `gained`.
        let mut parked = self.parked.lock().expect("interests");
        // A new interest from a requester means it did not use what it was promised, and
        // replaces one it may have left here (it gave up waiting for it).
        self.release(from, file);
        parked.retain(|p| (p.from, p.file) != (from, file));
        if !store.offers(file, &held) || !self.promise(from, file) {
            parked.push(Parked { from, file, held, since: Instant::now() });
            return Ok(());
        }
        drop(parked);
        Ok(transport.send(from, &answer(store, file))?)
    }

    /// Takes a free slot for `from`, if slots are counted; whether it may be answered.
    fn promise(&self, from: Rank, file: FileId) -> bool {
        let Some(slots) = &self.slots else { return true };
        let mut slots = slots.lock().expect("slots");
        // A downloader has no more requests at an uploader than it has slots.
        let taken = slots.busy.iter().filter(|&&r| r == from).count();
        if !slots.has_room() || taken >= slots.total {
            return false;
        }
        let until = Instant::now() + slots.hold;
        slots.promised.push((from, file, until));
        true
    }

    /// The order in which parked interests get the next slot, lowest first (see `answer_where`).
    fn precedence(&self) -> impl Fn(&Parked) -> (bool, Option<Instant>, usize, u64) {
        let (patience, draw) = match &self.slots {
            Some(slots) => {
                let mut slots = slots.lock().expect("slots");
                slots.draws += 1;
                (Some(slots.patience), splitmix(slots.draws))
            }
            None => (None, 0),
        };
        move |p: &Parked| {
            let overdue = patience.is_none_or(|patience| p.since.elapsed() >= patience);
            let (since, held) = if overdue { (Some(p.since), 0) } else { (None, p.held.count_ones(..)) };
            (!overdue, since, held, splitmix(draw ^ u64::from(p.from.0)))
        }
    }

    /// Whether a slot may be promised now (always, when slots are not counted).
    fn slot_free(&self) -> bool {
        self.slots.as_ref().is_none_or(|slots| slots.lock().expect("slots").has_room())
    }

    /// Drops a promise to `from` for `file`: it will not be used.
    fn release(&self, from: Rank, file: FileId) {
        if let Some(slots) = &self.slots {
            slots.lock().expect("slots").unpromise(from, file);
        }
    }

    /// A named request from `from` for `file` came: it takes the slot it was promised, if it was,
    /// or another, until the upload thread counts its slots again.
    pub fn fulfil(&self, from: Rank, file: FileId) {
        if let Some(slots) = &self.slots {
            let mut slots = slots.lock().expect("slots");
            slots.unpromise(from, file);
            slots.busy.push(from);
        }
    }

    /// The upload thread's slots are now taken by transfers and waiting requests of `busy`, or
    /// time passed: promises past their time are dropped, and the interests that now fit are
    /// answered. When to look again: when the next promise runs out, and, while interests are
    /// parked, within a promise's time, since the download thread may promise a slot meanwhile.
    pub fn reconsider<T: Transport>(
        &self,
        transport: &T,
        store: &ChunkStore,
        busy: Vec<Rank>,
    ) -> Result<Option<Instant>, RunError> {
        let Some(slots) = &self.slots else { return Ok(None) };
        let now = Instant::now();
        let hold = {
            let mut slots = slots.lock().expect("slots");
            slots.busy = busy;
            slots.promised.retain(|&(_, _, until)| until > now);
            slots.hold
        };
        for (to, answer) in self.answer_where(store, None, |p| store.offers(p.file, &p.held)) {
            transport.send(to, &answer)?;
        }
        let parked = !self.parked.lock().expect("interests").is_empty();
        let promised = slots.lock().expect("slots").promised.iter().map(|&(_, _, until)| until).min();
        Ok(promised.into_iter().chain(parked.then_some(now + hold)).min())
    }

    /// After this peer gained a chunk of `file`: the answers to the interests it can serve now,
    /// to send (the download thread's machine sends nothing itself).
    pub fn gained(&self, store: &ChunkStore, file: FileId) -> Vec<(Rank, Message)> {
        self.answer_where(store, Some(file), |p| store.offers(file, &p.held))
    }

    /// `from` needs nothing more of `file`: answers its parked interests in it now, without a
    /// slot, and drops what it was promised.
    pub fn withdraw<T: Transport>(&self, transport: &T, store: &ChunkStore, from: Rank, file: FileId) -> Result<(), RunError> {
        let answered: Vec<Parked> = {
            let mut parked = self.parked.lock().expect("interests");
            // Under the lock, so that `gained` cannot promise it a slot in between.
            self.release(from, file);
            let (mine, rest): (Vec<Parked>, Vec<Parked>) = parked.drain(..).partition(|p| (p.from, p.file) == (from, file));
            *parked = rest;
            mine
        };
        answered.into_iter().try_for_each(|p| Ok(transport.send(p.from, &answer(store, p.file))?))
    }

    /// The answers, to send, to the parked interests (in `file`, or any) that are `ready`, each
    /// taken out while a slot can be promised. With slots counted, a slot goes to the requester
    /// that held fewest chunks when it asked (at random among equals), meant to spread slots over
    /// the peers with least to pass on yet; but those that have waited their patience go before
    /// the rest, oldest first, so that none normally waits out its requester's deadline (a
    /// requester that left never withdraws its interests, and each answered one holds a slot for
    /// a while).
    fn answer_where(&self, store: &ChunkStore, file: Option<FileId>, ready: impl Fn(&Parked) -> bool) -> Vec<(Rank, Message)> {
        let answered: Vec<Parked> = {
            let mut parked = self.parked.lock().expect("interests");
            // Most calls find every slot taken: then no interest is looked at, which in large
            // swarms is most of the upload thread's work.
            if !self.slot_free() {
                return Vec::new();
            }
            let first = self.precedence();
            let mut order: Vec<usize> =
                (0..parked.len()).filter(|&i| file.is_none_or(|f| f == parked[i].file) && ready(&parked[i])).collect();
            order.sort_by_cached_key(|&i| first(&parked[i]));
            let mut promised = Vec::new();
            for at in order {
                if !self.slot_free() {
                    break;
                }
                // A requester already holding as many slots here as there are is passed over.
                if self.promise(parked[at].from, parked[at].file) {
                    promised.push(at);
                }
            }
            promised.sort_unstable_by(|a, b| b.cmp(a));
            promised.into_iter().map(|at| parked.remove(at)).collect()
        };
        answered.into_iter().map(|p| (p.from, answer(store, p.file))).collect()
    }

    /// Takes back every interest `from` has parked here (it is choked now): each file and what
    /// the requester held.
    pub fn take(&self, from: Rank) -> Vec<(FileId, FixedBitSet)> {
        let mut parked = self.parked.lock().expect("interests");
        let (taken, rest): (Vec<Parked>, Vec<Parked>) = parked.drain(..).partition(|p| p.from == from);
        *parked = rest;
        taken.into_iter().map(|p| (p.file, p.held)).collect()
    }

    #[cfg(test)]
    fn parked(&self) -> Vec<(Rank, FileId)> {
        self.parked.lock().unwrap().iter().map(|p| (p.from, p.file)).collect()
    }
}

/// The answer to an interest in `file` of a peer this one does not choke: its holding, and no
/// chunk.
fn answer(store: &ChunkStore, file: FileId) -> Message {
    Message::ChunkReply { file, asked: None, sent: None, holding: store.holding(file), choked: false }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::hash::ChunkHash;
    use crate::protocol::ids::ChunkIdx;
    use crate::protocol::message::{Endpoint, Holding};
    use crate::transport::local::{local_network, LocalTransport};
    use std::time::Duration;

    #[test]
    fn requesters_are_taken_once_per_file() {
        let requesters = Requesters::default();
        requesters.met(FileId(0), Rank(2));
        requesters.met(FileId(1), Rank(3));
        requesters.met(FileId(0), Rank(2));
        requesters.met(FileId(0), Rank(4));
        assert_eq!(requesters.take(FileId(0)), [Rank(2), Rank(4)]);
        assert!(requesters.take(FileId(0)).is_empty());
        requesters.met(FileId(0), Rank(2));
        assert!(requesters.take(FileId(0)).is_empty(), "met before");
        assert_eq!(requesters.take(FileId(1)), [Rank(3)]);
    }

    #[test]
    fn an_interest_waits_for_a_useful_chunk_and_a_withdrawal_answers_it_at_once() {
        let [_, me, a, b]: [_; 4] = local_network(4).try_into().ok().unwrap();
        let store = ChunkStore::new(1, []);
        let hashes: Vec<ChunkHash> = (0..3).map(ChunkHash::from_u128).collect();
        store.begin(FileId(0), hashes.clone());
        let interests = Interests::default();
        let held = |chunks: &[usize]| {
            let mut bits = FixedBitSet::with_capacity(3);
            chunks.iter().for_each(|&c| bits.insert(c));
            bits
        };
        interests.offer(&me, &store, Rank(2), FileId(0), held(&[0])).unwrap();
        interests.offer(&me, &store, Rank(3), FileId(0), held(&[])).unwrap();
        assert_eq!(interests.parked(), [(Rank(2), FileId(0)), (Rank(3), FileId(0))], "nothing to offer yet");

        // Chunk 0 is useful to rank 3 only.
        store.accept(FileId(0), ChunkIdx(0), hashes[0], || ()).unwrap();
        for (to, answer) in interests.gained(&store, FileId(0)) {
            me.send(to, &answer).unwrap();
        }
        let reply = b.recv(Endpoint::Download, Some(Duration::from_secs(5))).unwrap().unwrap();
        let Message::ChunkReply { asked: None, sent: None, holding: Holding::Some(bits), .. } = reply.msg else {
            panic!("{reply:?}")
        };
        assert_eq!(bits, held(&[0]));
        assert_eq!(interests.parked(), [(Rank(2), FileId(0))]);
        assert!(a.recv(Endpoint::Download, Some(Duration::from_millis(50))).unwrap().is_none());

        interests.withdraw(&me, &store, Rank(2), FileId(0)).unwrap();
        assert!(a.recv(Endpoint::Download, Some(Duration::from_secs(5))).unwrap().is_some());
        assert!(interests.parked().is_empty());

        // A peer that holds something the requester lacks answers at once.
        interests.offer(&me, &store, Rank(3), FileId(0), held(&[1])).unwrap();
        assert!(b.recv(Endpoint::Download, Some(Duration::from_secs(5))).unwrap().is_some());
        assert!(interests.parked().is_empty());
    }

    /// Rank 1, owner of a file of 3 chunks, its interests gated by `slots`, `ready` and
    /// `patience`; the transports of ranks 1 to 4.
    fn gated_owner(
        slots: usize,
        ready: usize,
        hold: Duration,
        patience: Duration,
    ) -> ([LocalTransport; 4], ChunkStore, Interests) {
        let [_, me, a, b, c]: [_; 5] = local_network(5).try_into().ok().unwrap();
        let store = ChunkStore::new(1, [(FileId(0), (0..3).map(ChunkHash::from_u128).collect())]);
        ([me, a, b, c], store, Interests::gated(slots, ready, hold, patience, 0))
    }

    fn holding(chunks: &[usize]) -> FixedBitSet {
        let mut bits = FixedBitSet::with_capacity(3);
        chunks.iter().for_each(|&c| bits.insert(c));
        bits
    }

    #[test]
    fn a_free_slot_goes_to_the_requester_holding_fewest_chunks_unless_one_waited_too_long() {
        let ([me, a, b, c], store, interests) = gated_owner(1, 0, Duration::from_secs(5), Duration::from_millis(300));
        interests.offer(&me, &store, Rank(4), FileId(0), holding(&[])).unwrap();
        assert!(answered(&c));
        interests.fulfil(Rank(4), FileId(0));
        interests.offer(&me, &store, Rank(2), FileId(0), holding(&[0, 1])).unwrap();
        interests.offer(&me, &store, Rank(3), FileId(0), holding(&[0])).unwrap();
        interests.reconsider(&me, &store, vec![]).unwrap();
        assert!(answered(&b) && !answered(&a), "rank 3 holds fewer, though rank 2 asked first");

        interests.fulfil(Rank(3), FileId(0));
        std::thread::sleep(Duration::from_millis(300));
        interests.offer(&me, &store, Rank(4), FileId(0), holding(&[])).unwrap();
        interests.reconsider(&me, &store, vec![]).unwrap();
        assert!(answered(&a) && !answered(&c), "rank 2 has waited past its patience");
    }

    /// Whether an answer to an interest reached `t` within 100 ms.
    fn answered(t: &LocalTransport) -> bool {
        t.recv(Endpoint::Download, Some(Duration::from_millis(100))).unwrap().is_some()
    }

    #[test]
    fn with_slots_counted_an_interest_is_answered_only_into_a_free_slot_which_it_is_promised() {
        let ([me, a, b, _], store, interests) = gated_owner(1, 0, Duration::from_millis(50), Duration::from_secs(60));
        let nothing = FixedBitSet::with_capacity(3);
        interests.offer(&me, &store, Rank(2), FileId(0), nothing.clone()).unwrap();
        assert!(answered(&a), "a free slot: answered, and promised to rank 2");
        interests.offer(&me, &store, Rank(3), FileId(0), nothing.clone()).unwrap();
        assert!(!answered(&b) && interests.parked() == [(Rank(3), FileId(0))], "the only slot is promised");

        // Rank 2's named request came and takes the slot; only when it is nearly free again is
        // rank 3 answered.
        interests.fulfil(Rank(2), FileId(0));
        assert!(interests.reconsider(&me, &store, vec![Rank(2)]).unwrap().is_some(), "rank 3 is parked: look again soon");
        assert!(!answered(&b));
        assert!(interests.reconsider(&me, &store, vec![]).unwrap().is_some(), "a promise runs out later");
        assert!(answered(&b) && interests.parked().is_empty());

        // A promise never used runs out, and the slot goes to the next interest.
        interests.offer(&me, &store, Rank(2), FileId(0), nothing).unwrap();
        assert!(!answered(&a), "promised to rank 3");
        std::thread::sleep(Duration::from_millis(60));
        interests.reconsider(&me, &store, vec![]).unwrap();
        assert!(answered(&a));
    }

    #[test]
    fn a_request_may_wait_ready_for_the_slot_but_no_requester_takes_more_than_the_slots() {
        let ([me, a, b, _], store, interests) = gated_owner(1, 1, Duration::from_secs(5), Duration::from_secs(60));
        let nothing = FixedBitSet::with_capacity(3);
        interests.offer(&me, &store, Rank(2), FileId(0), nothing.clone()).unwrap();
        assert!(answered(&a));
        interests.fulfil(Rank(2), FileId(0));
        interests.offer(&me, &store, Rank(2), FileId(0), nothing.clone()).unwrap();
        assert!(!answered(&a), "a request may wait, but rank 2 has taken the one slot");
        interests.offer(&me, &store, Rank(3), FileId(0), nothing).unwrap();
        assert!(answered(&b), "rank 3 may send a request to wait");
        interests.fulfil(Rank(3), FileId(0));
        interests.reconsider(&me, &store, vec![Rank(3)]).unwrap();
        assert!(answered(&a), "rank 2's transfer is nearly done: its next interest is answered");
    }
}
