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

    fn gave(&self, peer: Rank) -> Gave {
        let (before, ever) = (self.gave_before.get(peer.peer_index()).copied().unwrap_or(0), self.reciprocity.gave(peer));
        Gave { window: ever.saturating_sub(before), ever }
    }
}

impl<T: Transport> Uploader<'_, T> {
    /// Whether this peer chokes `peer` now.
    pub(super) fn chokes(&self, peer: Rank) -> bool {
        self.choking.as_ref().is_some_and(|c| !c.choker.unchokes(peer))
    }

    /// Whether a named request of `from` may be served; if it is choked, the request is refused.
    pub(super) fn admits(&mut self, from: Rank, file: FileId, chunk: ChunkIdx) -> Result<bool, RunError> {
        let Some(choking) = &mut self.choking else { return Ok(true) };
        if choking.choker.unchokes(from) {
            choking.asked.insert(from, Instant::now());
            return Ok(true);
        }
        self.refuse(from, file, chunk)?;
        Ok(false)
    }

    fn refuse(&self, to: Rank, file: FileId, chunk: ChunkIdx) -> Result<(), RunError> {
        let holding = self.store.holding(file);
        Ok(self.transport.send(to, &Message::ChunkReply { file, asked: Some(chunk), sent: None, holding, choked: true })?)
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
        self.events.emit(Event::Unchoked { uploader: self.transport.rank(), downloader: peer, optimistic });
        true
    }

    /// `from` needs nothing more of `file` from this peer: its interest is answered, held back
    /// or parked.
    pub(super) fn withdrawal(&mut self, from: Rank, file: FileId) -> Result<(), RunError> {
        if let Some(choking) = &mut self.choking {
            choking.asked.remove(&from);
            if let Some(at) = choking.held_back.iter().position(|(r, f, _)| (*r, *f) == (from, file)) {
                choking.held_back.remove(at);
                let holding = self.store.holding(file);
                return Ok(self
                    .transport
                    .send(from, &Message::ChunkReply { file, asked: None, sent: None, holding, choked: true })?);
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
        let gave: Vec<(Rank, Gave)> = interested.iter().map(|&p| (p, choking.gave(p))).collect();
        let seeding = !choking.reciprocity.downloading();
        let gave_of = |peer: Rank| gave.iter().find(|(p, _)| *p == peer).map_or(Gave::default(), |&(_, g)| g);
        let change = choking.choker.rechoke(&interested, gave_of, seeding);
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
            self.refuse(peer, request.file, request.chunk)?;
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
        let choking = self.choking.as_mut().expect("a peer that chokes");
        match choking.unsaid.iter().position(|&p| p == peer) {
            // Its choke was never said: it stays unchoked as the events tell it.
            Some(at) => drop(choking.unsaid.swap_remove(at)),
            None => self.events.emit(Event::Unchoked { uploader: self.transport.rank(), downloader: peer, optimistic }),
        }
        let choking = self.choking.as_mut().expect("a peer that chokes");
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut choking.held_back).into_iter().partition(|h| h.0 == peer);
        choking.held_back = rest;
        mine.into_iter().try_for_each(|(from, file, held)| self.interests.offer(self.transport, self.store, from, file, held))
    }

    /// A chunk reached `to`: counted for the window, and a choke decided while it was on its way
    /// is said once no other is.
    pub(super) fn delivered(&mut self, to: Rank, sending: &[(Instant, Upload)]) {
        let Some(choking) = &mut self.choking else { return };
        choking.choker.sent(to);
        if let Some(at) = choking.unsaid.iter().position(|&p| p == to) {
            if !sending.iter().any(|(_, upload)| upload.to == to) {
                choking.unsaid.swap_remove(at);
                self.events.emit(Event::Choked { uploader: self.transport.rank(), downloader: to });
            }
        }
    }
}
