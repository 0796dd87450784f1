//! A peer's upload thread: answers chunk requests until the tracker says stop. It serves up to
//! its upload slots at once, each chunk taking the chunk time; other requests wait in its queue.
//! A NACK costs nothing and is sent at once; so does the answer to an interest, which is parked
//! (see [`Interests`]) until this peer holds something the requester lacks.
//!
//! When a slot comes free, the waiting request for the chunk this peer has sent least often goes
//! first (the earliest among equals): a chunk it has just received is forwarded before those it
//! already spread, so new chunks double their holders as fast as slots allow; a request that has
//! nearly waited out its requester's timeout goes first, so none is passed over until it times out.
//! With `rarest`, an original owner super-seeds: asked for a chunk it has sent before, it sends instead one it has
//! never sent and the requester lacks, so its scarce upload puts a new chunk into the swarm each
//! time, and each chunk leaves it once before any leaves it twice.
//!
//! With tit-for-tat, and at a free rider, it serves only the peers it unchokes (see `choking`).

mod choking;

use crate::protocol::error::{Breach, RunError};
use crate::protocol::events::{Event, EventSink};
use crate::protocol::hash::ChunkHash;
use crate::protocol::ids::{ChunkIdx, FileId, Rank};
use crate::protocol::message::{Endpoint, Message, Sent};
use crate::protocol::peer::interest::{Interests, Requesters};
use crate::protocol::peer::store::ChunkStore;
use crate::protocol::transport::Transport;
pub use choking::Choking;
use fixedbitset::FixedBitSet;
use rand::rngs::SmallRng;
use rand::Rng;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A request for a chunk this peer holds, waiting for a slot.
struct Request {
    to: Rank,
    file: FileId,
    chunk: ChunkIdx,
    /// What the requester held when it asked.
    held: FixedBitSet,
    /// When it came.
    since: Instant,
}

/// A chunk being sent: to whom, for which request, and what.
struct Upload {
    to: Rank,
    file: FileId,
    asked: ChunkIdx,
    chunk: ChunkIdx,
    hash: ChunkHash,
}

/// How often this peer has sent each chunk of one file.
struct Sends {
    times: Vec<u32>,
    /// Chunks never sent yet.
    never: usize,
}

pub struct Uploader<'a, T: Transport> {
    pub transport: &'a T,
    pub store: &'a ChunkStore,
    pub chunk_time: Duration,
    pub slots: usize,
    pub events: &'a dyn EventSink,
    /// Requests waiting or being served, for the peer's reports to the tracker.
    pub queue: &'a AtomicU32,
    pub interests: &'a Interests,
    pub requesters: &'a Requesters,
    /// Files this peer owned from the start and super-seeds (with `rarest` only).
    pub super_seeds: Vec<FileId>,
    /// When this peer leaves the run (`--leave`): from then on it answers nothing.
    pub leave_at: Option<Instant>,
    /// How often it sends a wrong hash (`--corrupt`), and the random choices of when.
    pub corrupt: Option<(f64, SmallRng)>,
    /// Whom it unchokes, with tit-for-tat or as a free rider.
    pub choking: Option<Choking<'a>>,
}

impl<T: Transport> Uploader<'_, T> {
    pub fn serve(mut self) -> Result<(), RunError> {
        let mut waiting: Vec<Request> = Vec::new();
        // Transfers under way and when each is done.
        let mut sending: Vec<(Instant, Upload)> = Vec::new();
        let mut sends: HashMap<FileId, Sends> = HashMap::new();
        // When each idle slot came free. A transfer starts when its slot came free or its request
        // came, whichever is later, rather than when this thread gets a core to notice: the
        // link was free then, and a thread waiting for a core must not stretch every round.
        let mut free_since = vec![Instant::now(); self.slots];
        loop {
            while sending.len() < self.slots && !waiting.is_empty() {
                let next = next_request(&waiting, &sends, self.patience());
                let request = waiting.remove(next);
                let slot = (0..free_since.len()).min_by_key(|&i| free_since[i]).expect("a slot is idle");
                let start = free_since.swap_remove(slot).max(request.since);
                let upload = self.start(request, &waiting, &mut sends);
                sending.push((start + self.chunk_time, upload));
            }
            let now = Instant::now();
            if self.leave_at.is_some_and(|at| at <= now) {
                return self.leave();
            }
            let (done, busy): (Vec<_>, Vec<_>) = sending.into_iter().partition(|(at, _)| *at <= now);
            sending = busy;
            for (at, upload) in done {
                free_since.push(at);
                self.answer(upload)?;
            }
            self.say_chokes(&sending);
            if self.rechoke_due().is_some_and(|at| at <= now) {
                self.rechoke(&mut waiting, &sending)?;
                continue;
            }
            if sending.len() < self.slots && !waiting.is_empty() {
                continue; // a slot came free: start the next transfer first
            }
            self.queue.store((waiting.len() + sending.len()) as u32, Ordering::Relaxed);
            // A slot is promised half a chunk time before it comes free, so the requester's
            // choice arrives by then and the slot does not idle through the round trip.
            let ahead = self.chunk_time / 2;
            let gated = self.interests.gated_slots();
            let look_again = match gated {
                true => {
                    let sending_on = sending.iter().filter(|(at, _)| *at > now + ahead).map(|(_, upload)| upload.to);
                    let busy_ahead = waiting.iter().map(|r| r.to).chain(sending_on).collect();
                    self.interests.reconsider(self.transport, self.store, busy_ahead)?
                }
                false => None,
            };
            let nearly_free = sending.iter().map(|(at, _)| *at - ahead).filter(|&at| gated && at > now);
            // Sleep until a request comes, a transfer is nearly or wholly done, or a promise runs out.
            let until_next = sending
                .iter()
                .map(|(at, _)| *at)
                .chain(nearly_free)
                .chain(self.leave_at)
                .chain(look_again)
                .chain(self.rechoke_due())
                .min()
                .map(|at| at.saturating_duration_since(now));
            let Some(envelope) = self.transport.recv(Endpoint::Upload, until_next)? else { continue };
            let from = envelope.from;
            if let Message::ChunkRequest { file, .. } = envelope.msg {
                self.requesters.met(file, from);
            }
            match envelope.msg {
                Message::ChunkRequest { file, chunk: None, held } => self.interest(from, file, held)?,
                Message::ChunkRequest { file, chunk: Some(chunk), held } => {
                    self.interests.fulfil(from, file);
                    if !self.admits(from, file, chunk)? {
                        continue; // refused: it is choked
                    }
                    let request = Request { to: from, file, chunk, held, since: Instant::now() };
                    if self.store.serve(file, chunk).is_none() {
                        let holding = self.store.holding(file);
                        let nack = Message::ChunkReply { file, asked: Some(chunk), sent: None, holding, choked: false };
                        self.transport.send(from, &nack)?;
                    } else if self.chunk_time.is_zero() {
                        let upload = self.start(request, &waiting, &mut sends);
                        self.answer(upload)?;
                    } else {
                        waiting.push(request);
                    }
                }
                Message::Withdraw { file } => self.withdrawal(from, file)?,
                Message::Stop if from == Rank::TRACKER => return Ok(()),
                other => return Err(RunError::Protocol(Breach(format!("upload thread got {other:?} from rank {from}")))),
            }
        }
    }

    /// Begins sending what `request` gets: the chunk it asked for, or, super-seeding, one never
    /// sent that the requester lacks and has not asked this peer for (in `queued`).
    fn start(&self, request: Request, queued: &[Request], sends: &mut HashMap<FileId, Sends>) -> Upload {
        let Request { to, file, chunk: asked, held, .. } = request;
        let chunks = self.store.chunks(file);
        let record = sends.entry(file).or_insert_with(|| Sends { times: vec![0; chunks], never: chunks });
        let mut chunk = asked;
        if record.times[asked.index()] > 0 && record.never > 0 && self.super_seeds.contains(&file) {
            let named = |c: usize| queued.iter().any(|q| q.to == to && q.file == file && q.chunk.index() == c);
            // Owners start at different places, so two owners spread different chunks first.
            let offset = (self.transport.rank().0 as usize).wrapping_mul(chunks / 7 + 1) % chunks;
            let fresh =
                (0..chunks).map(|i| (i + offset) % chunks).find(|&c| record.times[c] == 0 && !held.contains(c) && !named(c));
            if let Some(fresh) = fresh {
                chunk = ChunkIdx(fresh as u32);
            }
        }
        if record.times[chunk.index()] == 0 {
            record.never -= 1;
        }
        record.times[chunk.index()] += 1;
        let hash =
            self.store.serve(file, chunk).expect("only held chunks are sent: asked ones were checked, fresh ones are owned");
        Upload { to, file, asked, chunk, hash }
    }

    fn patience(&self) -> Duration {
        super::patience(self.chunk_time, self.transport.size() - 1)
    }

    /// Leaves: tells the tracker, then takes every message and answers none, until its stop.
    fn leave(&self) -> Result<(), RunError> {
        self.transport.send(Rank::TRACKER, &Message::Leave { emitted: self.events.emitted() })?;
        loop {
            let envelope = self.transport.recv(Endpoint::Upload, None)?.expect("no timeout was set");
            if envelope.msg == Message::Stop && envelope.from == Rank::TRACKER {
                return Ok(());
            }
        }
    }

    /// Sends the chunk of a transfer that ended.
    fn answer(&mut self, upload: Upload) -> Result<(), RunError> {
        let Upload { to, file, asked, chunk, mut hash } = upload;
        if let Some((probability, rng)) = &mut self.corrupt {
            if rng.gen_bool(*probability) {
                hash = hash.garbled();
            }
        }
        let uploader = self.transport.rank();
        self.events.emit(Event::ChunkServed { uploader, downloader: to, file, chunk });
        let sent = Sent { chunk, hash, emitted: self.events.emitted() };
        let holding = self.store.holding(file);
        let choked = self.chokes(to);
        self.transport.send(to, &Message::ChunkReply { file, asked: Some(asked), sent: Some(sent), holding, choked })?;
        self.delivered(to);
        Ok(())
    }
}

/// What an uploader shares with its peer's download thread, for the tests to build one.
#[cfg(test)]
#[derive(Default)]
struct Parts {
    queue: AtomicU32,
    interests: Interests,
    requesters: Requesters,
}

#[cfg(test)]
impl Parts {
    /// An uploader of `slots` slots serving `store` from `transport` at `chunk_time`, owning and
    /// super-seeding `super_seeds`, choking as `choking` says.
    fn uploader<'a, T: Transport>(
        &'a self,
        (transport, store, events): (&'a T, &'a ChunkStore, &'a dyn EventSink),
        (chunk_time, slots): (Duration, usize),
        super_seeds: Vec<FileId>,
        choking: Option<Choking<'a>>,
    ) -> Uploader<'a, T> {
        let (queue, interests, requesters) = (&self.queue, &self.interests, &self.requesters);
        Uploader {
            transport,
            store,
            chunk_time,
            slots,
            events,
            queue,
            interests,
            requesters,
            super_seeds,
            leave_at: None,
            corrupt: None,
            choking,
        }
    }
}

/// The waiting request for the chunk sent least often so far, the earliest among equals; but
/// the earliest of all once it has waited `patience`, so that no request for a chunk sent often
/// is passed over until its requester's timeout.
fn next_request(waiting: &[Request], sends: &HashMap<FileId, Sends>, patience: Duration) -> usize {
    if waiting.first().is_some_and(|r| r.since.elapsed() >= patience) {
        return 0;
    }
    let times = |r: &Request| sends.get(&r.file).map_or(0, |s| s.times[r.chunk.index()]);
    (0..waiting.len()).min_by_key(|&i| (times(&waiting[i]), i)).expect("a request waits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::events::Collected;
    use crate::protocol::hash::ChunkHash;
    use crate::protocol::message::{Envelope, Holding};
    use crate::transport::local::{local_network, LocalTransport};

    fn ask(downloader: &LocalTransport, chunk: Option<u32>, held: &[usize]) -> Envelope {
        let mut bits = FixedBitSet::with_capacity(4);
        held.iter().for_each(|&c| bits.insert(c));
        let request = Message::ChunkRequest { file: FileId(0), chunk: chunk.map(ChunkIdx), held: bits };
        downloader.send(Rank(1), &request).unwrap();
        downloader.recv(Endpoint::Download, Some(Duration::from_secs(5))).unwrap().expect("an answer")
    }

    fn sent(reply: &Envelope) -> (Option<u32>, Option<u32>) {
        match &reply.msg {
            Message::ChunkReply { asked, sent, holding: Holding::All, choked: false, .. } => {
                (asked.map(|c| c.0), sent.map(|s| s.chunk.0))
            }
            other => panic!("{other:?}"),
        }
    }

    /// What a downloader got back: whether it was a chunk, and whether the uploader said it
    /// chokes it.
    fn answer_of(reply: &Envelope) -> (bool, bool) {
        match &reply.msg {
            Message::ChunkReply { sent, choked, .. } => (sent.is_some(), *choked),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_choking_uploader_serves_only_whom_it_unchokes_and_holds_back_the_others_interests() {
        let [tracker, owner, a, b, c]: [LocalTransport; 5] = local_network(5).try_into().ok().unwrap();
        let events = std::sync::Arc::new(Collected::default());
        let emitted = events.clone();
        let uploader = std::thread::spawn(move || {
            let store = ChunkStore::new(1, [(FileId(0), (0..4).map(ChunkHash::from_u128).collect())]);
            let (parts, reciprocity) = (Parts::default(), crate::protocol::peer::choke::Reciprocity::new(4));
            let choker = crate::protocol::peer::choke::Choker::tit_for_tat(1, 0);
            let choking = Choking::new(choker, Duration::from_secs(60), &reciprocity, 4);
            parts.uploader((&owner, &store, &*emitted), (Duration::ZERO, 1), vec![], Some(choking)).serve()
        });
        // One regular position and the optimistic one go at once to the first two that ask.
        assert_eq!(answer_of(&ask(&a, None, &[])), (false, false), "rank 2 unchoked: its interest answered");
        assert_eq!(answer_of(&ask(&b, None, &[])), (false, false), "rank 3 unchoked optimistically");
        let request = Message::ChunkRequest { file: FileId(0), chunk: None, held: FixedBitSet::with_capacity(4) };
        c.send(Rank(1), &request).unwrap();
        assert!(
            c.recv(Endpoint::Download, Some(Duration::from_millis(100))).unwrap().is_none(),
            "rank 4's interest is held back"
        );
        assert_eq!(answer_of(&ask(&c, Some(1), &[])), (false, true), "its named request is refused: it is choked");
        assert_eq!(answer_of(&ask(&a, Some(1), &[])), (true, false), "rank 2 is served");
        c.send(Rank(1), &Message::Withdraw { file: FileId(0) }).unwrap();
        let withdrawn = c.recv(Endpoint::Download, Some(Duration::from_secs(5))).unwrap().expect("the withdrawal answered");
        assert_eq!(answer_of(&withdrawn), (false, true));
        tracker.send(Rank(1), &Message::Stop).unwrap();
        uploader.join().unwrap().unwrap();
        let said = events.events();
        let unchoked = |rank, optimistic| Event::Unchoked { uploader: Rank(1), downloader: Rank(rank), optimistic };
        assert_eq!(said[..2], [unchoked(2, false), unchoked(3, true)]);
        assert!(!said.iter().any(|e| matches!(e, Event::ChunkServed { downloader: Rank(4), .. })));
    }

    #[test]
    fn the_least_sent_chunk_goes_first_until_a_request_has_waited_too_long() {
        let request = |chunk: u32, waited: Duration| Request {
            to: Rank(2),
            file: FileId(0),
            chunk: ChunkIdx(chunk),
            held: FixedBitSet::new(),
            since: Instant::now() - waited,
        };
        // Chunk 0 went out five times, chunk 1 never.
        let sends = HashMap::from([(FileId(0), Sends { times: vec![5, 0], never: 1 })]);
        let patience = Duration::from_millis(100);
        let fresh = [request(0, Duration::ZERO), request(1, Duration::ZERO)];
        assert_eq!(next_request(&fresh, &sends, patience), 1, "the chunk sent least often");
        let starved = [request(0, Duration::from_millis(150)), request(1, Duration::ZERO)];
        assert_eq!(next_request(&starved, &sends, patience), 0, "a request waiting too long goes first");
    }

    #[test]
    fn an_owner_super_seeds_chunks_never_sent_before_sending_any_twice() {
        let [tracker, owner, downloader]: [LocalTransport; 3] = local_network(3).try_into().ok().unwrap();
        let uploader = std::thread::spawn(move || {
            let store = ChunkStore::new(1, [(FileId(0), (0..4).map(ChunkHash::from_u128).collect())]);
            let (parts, events) = (Parts::default(), Collected::default());
            parts.uploader((&owner, &store, &events), (Duration::ZERO, 1), vec![FileId(0)], None).serve()
        });
        assert_eq!(sent(&ask(&downloader, Some(0), &[])), (Some(0), Some(0)), "never sent: as asked");
        // Chunk 0 went out once: others the requester lacks go first, starting where this
        // owner starts (rank 1 of 4 chunks: chunk 1).
        assert_eq!(sent(&ask(&downloader, Some(0), &[0])), (Some(0), Some(1)));
        assert_eq!(sent(&ask(&downloader, Some(0), &[0, 1, 3])), (Some(0), Some(2)), "not one it holds");
        assert_eq!(sent(&ask(&downloader, Some(2), &[1, 3])), (Some(2), Some(2)), "only one it holds is left unsent");
        assert_eq!(sent(&ask(&downloader, None, &[0])), (None, None), "an interest the owner can serve is answered at once");
        tracker.send(Rank(1), &Message::Stop).unwrap();
        uploader.join().unwrap().unwrap();
    }
}
