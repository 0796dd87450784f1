//! In-process transport: every rank is a set of threads with [`Inboxes`] of its own.
//! Messages still go through their wire encoding, so tests exercise it too.

use super::inbox::Inboxes;
use crate::protocol::ids::Rank;
use crate::protocol::message::{Endpoint, Envelope, Message};
use crate::protocol::transport::{Transport, TransportError};
use std::sync::Arc;
use std::time::Duration;

pub enum Post {
    Message(Rank, Vec<u8>),
    /// Another rank failed: the run is over, as `MPI_Abort` would end it.
    Abort,
}

pub struct LocalTransport {
    rank: Rank,
    /// Every rank's, by rank.
    inboxes: Arc<Vec<Inboxes<Post>>>,
}

/// One transport per rank, all connected.
pub fn local_network(size: u32) -> Vec<LocalTransport> {
    let inboxes = Arc::new((0..size).map(|_| Inboxes::default()).collect::<Vec<_>>());
    (0..size).map(|rank| LocalTransport { rank: Rank(rank), inboxes: inboxes.clone() }).collect()
}

impl LocalTransport {
    /// A handle that can end the whole run, kept apart so the transport itself can be wrapped.
    pub fn aborter(&self) -> Aborter {
        Aborter(self.inboxes.clone())
    }
}

pub struct Aborter(Arc<Vec<Inboxes<Post>>>);

impl Aborter {
    /// Ends the run for every thread of every rank: each one's next receive fails.
    pub fn abort_all(&self) {
        for inboxes in self.0.iter() {
            Endpoint::ALL.iter().for_each(|&endpoint| inboxes.put(endpoint, Post::Abort));
        }
    }
}

impl Transport for LocalTransport {
    fn rank(&self) -> Rank {
        self.rank
    }

    fn size(&self) -> u32 {
        self.inboxes.len() as u32
    }

    fn send(&self, to: Rank, msg: &Message) -> Result<(), TransportError> {
        let inboxes = self.inboxes.get(to.0 as usize).ok_or(TransportError::Gone(to))?;
        inboxes.put(msg.endpoint(), Post::Message(self.rank, msg.encode()));
        Ok(())
    }

    fn recv_any(&self, endpoints: &[Endpoint], timeout: Option<Duration>) -> Result<Option<Envelope>, TransportError> {
        match self.inboxes[self.rank.0 as usize].take(endpoints, timeout) {
            None => Ok(None),
            Some(Post::Abort) => Err(TransportError::Aborted),
            Some(Post::Message(from, bytes)) => {
                let msg = Message::decode(&bytes).map_err(|e| TransportError::Garbled { from, tag: -1, source: e })?;
                Ok(Some(Envelope { from, msg }))
            }
        }
    }
}
