//! In-process transport: every rank is a set of threads, every endpoint a crossbeam channel.
//! Messages still go through their wire encoding, so tests exercise it too.

use super::{take, Transport, TransportError};
use crate::ids::Rank;
use crate::message::{Endpoint, Envelope, Message};
use crossbeam_channel::{Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

pub enum Post {
    Message(Rank, Vec<u8>),
    /// Another rank failed: the run is over, as `MPI_Abort` would end it.
    Abort,
}

pub struct LocalTransport {
    rank: Rank,
    senders: Arc<Vec<[Sender<Post>; 4]>>,
    inboxes: [Receiver<Post>; 4],
}

/// One transport per rank, all connected.
pub fn local_network(size: u32) -> Vec<LocalTransport> {
    let (senders, inboxes): (Vec<_>, Vec<_>) = (0..size)
        .map(|_| {
            let [(t0, r0), (t1, r1), (t2, r2), (t3, r3)] = [(); 4].map(|_| crossbeam_channel::unbounded());
            ([t0, t1, t2, t3], [r0, r1, r2, r3])
        })
        .unzip();
    let senders = Arc::new(senders);
    inboxes
        .into_iter()
        .enumerate()
        .map(|(rank, inboxes)| LocalTransport { rank: Rank(rank as u32), senders: senders.clone(), inboxes })
        .collect()
}

impl LocalTransport {
    /// A handle that can end the whole run, kept apart so the transport itself can be wrapped.
    pub fn aborter(&self) -> Aborter {
        Aborter(self.senders.clone())
    }
}

pub struct Aborter(Arc<Vec<[Sender<Post>; 4]>>);

impl Aborter {
    /// Ends the run for every thread of every rank: each one's next receive fails.
    pub fn abort_all(&self) {
        for inbox in self.0.iter().flatten() {
            let _ = inbox.send(Post::Abort);
        }
    }
}

impl Transport for LocalTransport {
    fn rank(&self) -> Rank {
        self.rank
    }

    fn size(&self) -> u32 {
        self.senders.len() as u32
    }

    fn send(&self, to: Rank, msg: &Message) -> Result<(), TransportError> {
        let inbox = &self.senders.get(to.0 as usize).ok_or(TransportError::Gone(to))?[msg.endpoint().index()];
        inbox.send(Post::Message(self.rank, msg.encode())).map_err(|_| TransportError::Gone(to))
    }

    fn recv_any(&self, endpoints: &[Endpoint], timeout: Option<Duration>) -> Result<Option<Envelope>, TransportError> {
        match take(&self.inboxes, endpoints, timeout, self.rank)? {
            None => Ok(None),
            Some(Post::Abort) => Err(TransportError::Aborted),
            Some(Post::Message(from, bytes)) => {
                let msg =
                    Message::decode(&bytes).map_err(|e| TransportError::Garbled { from, tag: -1, reason: e.to_string() })?;
                Ok(Some(Envelope { from, msg }))
            }
        }
    }
}
