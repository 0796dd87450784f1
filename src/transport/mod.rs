//! How ranks exchange messages. The tracker and the peers only ever see this trait; MPI is one
//! implementation, threads with channels (for tests) the other.

pub mod local;
pub mod mpi;

use crate::ids::Rank;
use crate::message::{Endpoint, Envelope, Message};
use crossbeam_channel::{Receiver, RecvTimeoutError, Select};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("rank {0} is gone")]
    Gone(Rank),
    #[error("undecodable message from rank {from} (tag {tag}): {reason}")]
    Garbled { from: Rank, tag: i32, reason: String },
    #[error("message of {0} bytes is too large for one MPI send")]
    TooLarge(usize),
    #[error("send after the transport was closed")]
    Closed,
    #[error("another rank failed")]
    Aborted,
}

pub trait Transport: Send + Sync + 'static {
    fn rank(&self) -> Rank;
    /// Number of ranks, the tracker included.
    fn size(&self) -> u32;
    fn send(&self, to: Rank, msg: &Message) -> Result<(), TransportError>;
    /// Waits for the next message to any of `endpoints` of this rank, sleeping rather than
    /// spinning. `None` after `timeout` (never, when it is `None`).
    fn recv_any(&self, endpoints: &[Endpoint], timeout: Option<Duration>) -> Result<Option<Envelope>, TransportError>;

    /// Waits for the next message to `endpoint` of this rank, as [`Transport::recv_any`] does.
    fn recv(&self, endpoint: Endpoint, timeout: Option<Duration>) -> Result<Option<Envelope>, TransportError> {
        self.recv_any(&[endpoint], timeout)
    }
}

/// Blocks on the channels of `endpoints`: `None` after `timeout`, an error once nothing can arrive.
fn take<T>(
    inboxes: &[Receiver<T>; 4],
    endpoints: &[Endpoint],
    timeout: Option<Duration>,
    rank: Rank,
) -> Result<Option<T>, TransportError> {
    let gone = |_| TransportError::Gone(rank);
    if let [endpoint] = endpoints {
        let inbox = &inboxes[endpoint.index()];
        return match timeout {
            None => inbox.recv().map(Some).map_err(gone),
            Some(t) => match inbox.recv_timeout(t) {
                Ok(item) => Ok(Some(item)),
                Err(RecvTimeoutError::Timeout) => Ok(None),
                Err(RecvTimeoutError::Disconnected) => Err(TransportError::Gone(rank)),
            },
        };
    }
    let mut select = Select::new();
    for endpoint in endpoints {
        select.recv(&inboxes[endpoint.index()]);
    }
    let ready = match timeout {
        None => select.select(),
        Some(t) => match select.select_timeout(t) {
            Ok(ready) => ready,
            Err(_) => return Ok(None),
        },
    };
    let inbox = &inboxes[endpoints[ready.index()].index()];
    ready.recv(inbox).map(Some).map_err(gone)
}
