//! What a download makes of the members' answers: a chunk (verified, and reported every few),
//! a NACK or a wrong hash (the chunk goes to another member), or an interest answered (with
//! first-free, a slot to ask for a chunk by name in, or to give back).

use super::Fetch;
use crate::protocol::error::{Breach, RunError};
use crate::protocol::events::{After, Event};
use crate::protocol::ids::{ChunkIdx, Rank};
use crate::protocol::message::{Message, Received, Sent};
use crate::protocol::peer::first_free;
use crate::protocol::strategy::PieceOrder;
use std::time::Instant;

impl Fetch<'_> {
    /// `from` answered the request for `asked` with `sent` (`None`: a NACK, or, if `choked`, a
    /// refusal).
    pub(super) fn on_reply(&mut self, from: Rank, asked: ChunkIdx, sent: Option<Sent>, choked: bool) -> Result<(), RunError> {
        let (peer, file) = (self.peer, self.file);
        let me = peer.me;
        let Some(at) = self.in_flight.iter().position(|&(c, up, _)| c == asked && up == from) else {
            if self.expects_late(from) {
                return Ok(()); // too late: the request timed out and went elsewhere
            }
            return Err(RunError::Protocol(Breach(format!("rank {from} answered for chunk {} it was not asked for", asked.0))));
        };
        self.in_flight.swap_remove(at);
        if choked && sent.is_none() {
            // It chokes this peer: the chunk goes elsewhere, and the member gets an interest.
            peer.events.emit(Event::ChunkChoked { downloader: me, uploader: from, file, chunk: asked });
            if !self.got.contains(asked.index()) && !self.in_flight.iter().any(|&(c, _, _)| c == asked) {
                self.retry.push_front(asked);
            }
            return Ok(());
        }
        // A chunk's arrival, kept, rejected or a duplicate, is recorded after its upload.
        let (chunk, hash) = match sent {
            Some(Sent { chunk, hash, emitted }) => (chunk, Some((hash, After { rank: from, events: emitted }))),
            None => (asked, None),
        };
        if chunk != asked {
            // A super-seeding owner sent another chunk: the one asked for is to ask for again.
            if peer.settings.strategy.pieces != PieceOrder::Rarest || chunk.index() >= self.chunks {
                return Err(RunError::Protocol(Breach(format!("rank {from} sent chunk {} for chunk {}", chunk.0, asked.0))));
            }
            if !self.got.contains(asked.index()) && !self.in_flight.iter().any(|&(c, _, _)| c == asked) {
                self.retry.push_front(asked);
            }
        }
        if self.got.contains(chunk.index()) {
            // The end game's second copy, or its NACK: the chunk is here already.
            if let Some((_, upload)) = hash {
                peer.events.emit_after(Event::ChunkDuplicate { downloader: me, uploader: from, file, chunk }, upload);
            }
            return Ok(());
        }
        let received = Event::ChunkReceived { downloader: me, uploader: from, file, chunk };
        match hash {
            Some((hash, upload)) if peer.store.accept(file, chunk, hash, || peer.events.emit_after(received, upload)).is_ok() => {
                self.tried.remove(&chunk);
                self.got.insert(chunk.index());
                self.held += 1;
                self.backoff = None;
                self.fruitless = 0;
                self.choked_asks = 0;
                peer.reciprocity.received(from);
                self.unreported.push(Received { chunk, from });
                for (to, answer) in peer.interests.gained(peer.store, file) {
                    self.send(to, answer);
                }
                if self.unreported.len() >= peer.settings.update_every as usize && self.held < self.chunks {
                    self.update();
                }
                return Ok(());
            }
            Some((_, upload)) => {
                peer.events.emit_after(Event::ChunkRejected { downloader: me, uploader: from, file, chunk }, upload);
                if self.view.shun(from) {
                    let emitted = peer.events.emitted();
                    self.send(Rank::TRACKER, Message::BadSource { file, from, emitted });
                }
            }
            None => peer.events.emit(Event::ChunkNacked { downloader: me, uploader: from, file, chunk }),
        }
        self.tried.entry(chunk).or_default().push(from);
        // A copy still on its way from another member may yet bring it.
        if !self.in_flight.iter().any(|&(c, _, _)| c == chunk) {
            self.retry.push_back(chunk);
        }
        Ok(())
    }

    /// An interest came back: the member holds something this peer lacks now (its holding, just
    /// learnt, says what), or the interest was withdrawn. With first-free, the member also has a
    /// slot free for this peer: the first chunk in the piece order it may be asked for is.
    pub(super) fn on_interest_answered(&mut self, from: Rank, sent: Option<Sent>, now: Instant) -> Result<(), RunError> {
        let at = self.interests.iter().position(|i| i.member == from).filter(|_| sent.is_none());
        let Some(at) = at else {
            if self.expects_late(from) {
                return Ok(()); // the answer to an interest given up on
            }
            return Err(RunError::Protocol(Breach(format!("rank {from} answered an interest it did not have, or with a chunk"))));
        };
        let interest = self.interests.swap_remove(at);
        if !first_free(self.peer.settings) || interest.withdrawn {
            return Ok(());
        }
        // What its interest told the member it would not ask it for, as of now.
        let unwanted = self.not_from(from);
        let room = !self.abandoned && self.in_flight.len() < self.window();
        let holding = self.view.holding(from);
        let free = |c: &ChunkIdx| !unwanted.contains(c.index()) && holding.is_some_and(|h| h.has(*c));
        let chunk = match room {
            true => self.retry.iter().position(free).and_then(|at| self.retry.remove(at)).or_else(|| self.order.take_first(free)),
            false => None,
        };
        match chunk {
            Some(chunk) => self.request(chunk, from, now),
            // The promised slot is given back at once: nothing of this peer's is parked there
            // now, so the withdrawal is not answered.
            None => self.withdraw(from, self.file),
        }
        Ok(())
    }
}
