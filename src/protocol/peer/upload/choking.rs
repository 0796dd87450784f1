//! An uploader's choking at work (tit-for-tat, and every free rider): the interests of peers it
//! chokes wait here until it unchokes them, their named requests are refused with a reply that
//! says so, and at the end of each window the rules of [`Choker`] say whom to choke and unchoke.
//! A choke takes effect at once, but a chunk already on its way to the peer still arrives, and
//! the choke is said (`Event::Choked`) once it has: every chunk served goes to a peer unchoked
//! at that moment, as the events tell it.

use super::{Request, Upload, Uploader};
use crate::protocol::error::RunError;
use crate::protocol::events::Event;
use crate::protocol::ids::{ChunkIdx, FileId, Rank};
use crate::protocol::message::Message;
use crate::protocol::peer::choke::{Choker, Gave, Reciprocity};
use crate::protocol::transport::Transport;
use fixedbitset::FixedBitSet;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub struct Choking<'a> {
    choker: Choker,
    window: Duration,
    /// When the window ends.
    next: Instant,
    reciprocity: &'a Reciprocity,
    /// Interests of peers it chokes: whose, in which file, and what the requester held.
    held_back: Vec<(Rank, FileId, FixedBitSet)>,
    /// When each peer last asked for a chunk by name while unchoked.
    asked: HashMap<Rank, Instant>,
    /// Chunks received from each peer when the window began, rank 1 first.
    gave_before: Vec<u64>,
    /// Peers choked while a chunk to them was on its way: the choke is said when it arrives.
    unsaid: Vec<Rank>,
}

impl<'a> Choking<'a> {
    pub fn new(choker: Choker, window: Duration, reciprocity: &'a Reciprocity, peers: usize) -> Choking<'a> {
        let next = Instant::now() + window;
        let (held_back, asked, unsaid) = (Vec::new(), HashMap::new(), Vec::new());
        Choking { choker, window, next, reciprocity, held_back, asked, gave_before: vec![0; peers], unsaid }
    }

    /// When the window ends.
    pub fn due(&self) -> Instant {
        self.next
    }
}

/// What `peer` gave this one: ever, by `reciprocity`, and in the window, since `gave_before`.
fn gave(reciprocity: &Reciprocity, gave_before: &[u64], peer: Rank) -> Gave {
    let (before, ever) = (gave_before.get(peer.peer_index()).copied().unwrap_or(0), reciprocity.gave(peer));
    Gave { window: ever.saturating_sub(before), ever }
}

impl<T: Transport> Uploader<'_, T> {
    /// Whether this peer chokes `peer` now.
    pub(super) fn chokes(&self, peer: Rank) -> bool {
        self.choking.as_ref().is_some_and(|c| !c.choker.unchokes(peer))
    }

    /// Whether a named request of `from` may be served: it is unchoked (now, into a free
    /// position, if there is one); if not, the request is refused.
    pub(super) fn admits(&mut self, from: Rank, file: FileId, chunk: ChunkIdx) -> Result<bool, RunError> {
        if !self.chokes(from) || self.admit(from) {
            if let Some(choking) = &mut self.choking {
                choking.asked.insert(from, Instant::now());
            }
            return Ok(true);
        }
        self.refuse(from, file, Some(chunk))?;
        Ok(false)
    }

    /// Answers `to`'s request for `asked` (`None`: its interest, withdrawn) with no chunk, saying
    /// this peer chokes it.
    fn refuse(&self, to: Rank, file: FileId, asked: Option<ChunkIdx>) -> Result<(), RunError> {
        let holding = self.store.holding(file);
        Ok(self.transport.send(to, &Message::ChunkReply { file, asked, sent: None, holding, choked: true })?)
    }

    /// An interest of `from` in `file`: parked or answered as ever if `from` is unchoked (now,
    /// into a free position, if this peer holds something it lacks), else held back.
    pub(super) fn interest(&mut self, from: Rank, file: FileId, held: FixedBitSet) -> Result<(), RunError> {
        if let Some(choking) = &mut self.choking {
            choking.held_back.retain(|(r, f, _)| (*r, *f) != (from, file));
            let unchoked = choking.choker.unchokes(from) || (self.store.offers(file, &held) && self.admit(from));
            if !unchoked {
                self.choking.as_mut().expect("choking").held_back.push((from, file, held));
                return Ok(());
            }
        }
        self.interests.offer(self.transport, self.store, from, file, held)
    }

    /// Unchokes `peer` into a free position, if there is one; whether it did.
    fn admit(&mut self, peer: Rank) -> bool {
        let Some(optimistic) = self.choking.as_mut().and_then(|c| c.choker.admit(peer)) else { return false };
        self.say_unchoked(peer, optimistic);
        true
    }

    /// Says `peer` is unchoked: a choke not said yet (a chunk to it was still on its way) is not
    /// said at all.
    fn say_unchoked(&mut self, peer: Rank, optimistic: bool) {
        if let Some(choking) = &mut self.choking {
            choking.unsaid.retain(|&p| p != peer);
        }
        self.events.emit(Event::Unchoked { uploader: self.transport.rank(), downloader: peer, optimistic });
    }

    /// `from` needs nothing more of `file` from this peer: its interest is answered, held back
    /// or parked.
    pub(super) fn withdrawal(&mut self, from: Rank, file: FileId) -> Result<(), RunError> {
        if let Some(choking) = &mut self.choking {
            choking.asked.remove(&from);
            if let Some(at) = choking.held_back.iter().position(|(r, f, _)| (*r, *f) == (from, file)) {
                choking.held_back.remove(at);
                return self.refuse(from, file, None);
            }
        }
        self.interests.withdraw(self.transport, self.store, from, file)
    }

    /// When the window ends, if this peer chokes.
    pub(super) fn rechoke_due(&self) -> Option<Instant> {
        self.choking.as_ref().map(Choking::due)
    }

    /// The window ended: whom to unchoke is decided anew. The interested are the peers whose
    /// held-back interests this peer can serve, and those that asked by name in the window or
    /// wait for a chunk. A peer choked now has its waiting requests refused and its interests
    /// held back; one unchoked now has its held-back interests parked or answered.
    pub(super) fn rechoke(&mut self, waiting: &mut Vec<Request>, sending: &[(Instant, Upload)]) -> Result<(), RunError> {
        let Some(choking) = &mut self.choking else { return Ok(()) };
        let now = Instant::now();
        choking.next = now + choking.window;
        let began = now.checked_sub(choking.window).unwrap_or(now);
        let store = self.store;
        let interested: Vec<Rank> = (choking.held_back.iter().filter(|(_, file, held)| store.offers(*file, held)).map(|h| h.0))
            .chain(choking.asked.iter().filter(|(_, &at)| at >= began).map(|(&peer, _)| peer))
            .chain(waiting.iter().map(|r| r.to))
            .chain(sending.iter().map(|(_, u)| u.to))
            .collect();
        let (reciprocity, gave_before) = (choking.reciprocity, &choking.gave_before);
        let change = choking.choker.rechoke(&interested, |peer| gave(reciprocity, gave_before, peer), !reciprocity.downloading());
        for (i, before) in choking.gave_before.iter_mut().enumerate() {
            *before = choking.reciprocity.gave(Rank::from_peer_index(i));
        }
        for peer in change.choked {
            self.choke(peer, waiting, sending)?;
        }
        for (peer, optimistic) in change.unchoked {
            self.unchoke(peer, optimistic)?;
        }
        Ok(())
    }

    fn choke(&mut self, peer: Rank, waiting: &mut Vec<Request>, sending: &[(Instant, Upload)]) -> Result<(), RunError> {
        let (refused, kept): (Vec<Request>, Vec<Request>) = std::mem::take(waiting).into_iter().partition(|r| r.to == peer);
        *waiting = kept;
        for request in refused {
            self.refuse(peer, request.file, Some(request.chunk))?;
        }
        let choking = self.choking.as_mut().expect("a peer that chokes");
        choking.held_back.extend(self.interests.take(peer).into_iter().map(|(file, held)| (peer, file, held)));
        match sending.iter().any(|(_, upload)| upload.to == peer) {
            true => choking.unsaid.push(peer),
            false => self.events.emit(Event::Choked { uploader: self.transport.rank(), downloader: peer }),
        }
        Ok(())
    }

    /// Unchokes `peer`, or says it stays unchoked, now as the optimistic unchoke or not.
    fn unchoke(&mut self, peer: Rank, optimistic: bool) -> Result<(), RunError> {
        self.say_unchoked(peer, optimistic);
        let choking = self.choking.as_mut().expect("a peer that chokes");
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut choking.held_back).into_iter().partition(|h| h.0 == peer);
        choking.held_back = rest;
        mine.into_iter().try_for_each(|(from, file, held)| self.interests.offer(self.transport, self.store, from, file, held))
    }

    /// A chunk reached `to`: counted for the window.
    pub(super) fn delivered(&mut self, to: Rank) {
        if let Some(choking) = &mut self.choking {
            choking.choker.sent(to);
        }
    }

    /// The chokes decided while a chunk was on its way to their peer are said once every such
    /// chunk arrived (`sending`: the transfers still under way), after those chunks'
    /// `ChunkServed`.
    pub(super) fn say_chokes(&mut self, sending: &[(Instant, Upload)]) {
        let Some(choking) = &mut self.choking else { return };
        let (me, events) = (self.transport.rank(), self.events);
        choking.unsaid.retain(|&peer| {
            let arriving = sending.iter().any(|(_, upload)| upload.to == peer);
            if !arriving {
                events.emit(Event::Choked { uploader: me, downloader: peer });
            }
            arriving
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::events::Collected;
    use crate::protocol::hash::ChunkHash;
    use crate::protocol::message::Endpoint;
    use crate::protocol::peer::store::ChunkStore;
    use crate::protocol::peer::upload::Parts;
    use crate::transport::local::local_network;

    #[test]
    fn a_choke_decided_while_chunks_are_on_their_way_is_said_once_all_of_them_arrived() {
        let network = local_network(5);
        let store = ChunkStore::new(1, [(FileId(0), (0..4).map(ChunkHash::from_u128).collect())]);
        let (parts, events) = (Parts::default(), Collected::default());
        let reciprocity = Reciprocity::new(4);
        let mut choker = Choker::tit_for_tat(1, 0);
        choker.admit(Rank(2));
        choker.admit(Rank(4));
        let choking = Choking::new(choker, Duration::from_secs(60), &reciprocity, 4);
        let mut uploader = parts.uploader((&network[1], &store, &events), (Duration::from_millis(10), 2), vec![], Some(choking));
        // Rank 3, held back, gave this peer a chunk; rank 4, the optimistic unchoke, asks still.
        let choking = uploader.choking.as_mut().unwrap();
        choking.held_back.push((Rank(3), FileId(0), FixedBitSet::with_capacity(4)));
        choking.asked.insert(Rank(4), Instant::now());
        reciprocity.received(Rank(3));
        let upload = |chunk: u32| {
            let (chunk, hash) = (ChunkIdx(chunk), ChunkHash::from_u128(chunk.into()));
            (Instant::now(), Upload { to: Rank(2), file: FileId(0), asked: chunk, chunk, hash })
        };
        // The window ends while two chunks are on their way to rank 2, in both upload slots, and
        // a third waits: rank 3 takes its regular place, and rank 2 is choked.
        let mut sending = vec![upload(0), upload(1)];
        let third = Request { to: Rank(2), file: FileId(0), chunk: ChunkIdx(2), held: FixedBitSet::new(), since: Instant::now() };
        let mut waiting = vec![third];
        uploader.rechoke(&mut waiting, &sending).unwrap();
        assert!(uploader.chokes(Rank(2)) && !uploader.chokes(Rank(3)));
        let refusal = network[2].recv(Endpoint::Download, Some(Duration::from_secs(5))).unwrap().expect("a refusal");
        assert!(waiting.is_empty(), "the waiting request is refused");
        assert!(
            matches!(refusal.msg, Message::ChunkReply { asked: Some(ChunkIdx(2)), sent: None, choked: true, .. }),
            "{refusal:?}"
        );
        let said = |events: &Collected| events.events().iter().filter(|e| matches!(e, Event::Choked { .. })).count();
        assert_eq!(said(&events), 0, "not while its chunks are on their way");
        let (_, first) = sending.remove(0);
        uploader.answer(first).unwrap();
        uploader.say_chokes(&sending);
        assert_eq!(said(&events), 0, "one chunk is still on its way");
        let (_, second) = sending.remove(0);
        uploader.answer(second).unwrap();
        uploader.say_chokes(&sending);
        let all = events.events();
        let to_2: Vec<&Event> = all.iter().filter(|e| !matches!(e, Event::Unchoked { downloader: Rank(3), .. })).collect();
        let kinds: Vec<&str> = to_2.iter().map(|e| if matches!(e, Event::Choked { .. }) { "choked" } else { "served" }).collect();
        assert_eq!(kinds, ["served", "served", "choked"], "said after both arrived, once: {all:?}");
    }
}
