//! How ranks exchange messages. The tracker and the peers only ever see this trait; MPI is one
//! implementation, threads in one process (for tests) the other.

use crate::protocol::ids::Rank;
use crate::protocol::message::{Endpoint, Envelope, Message};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("rank {0} is gone")]
    Gone(Rank),
    #[error("undecodable message from rank {from} (tag {tag}): {source}")]
    Garbled { from: Rank, tag: i32, source: postcard::Error },
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

    /// The longest a message to this rank may wait before it is noticed: zero unless the
    /// transport looks for messages between pauses.
    fn notice_within(&self) -> Duration {
        Duration::ZERO
    }

    /// Whether this rank is a process of its own (under mpirun), so that the process's CPU time
    /// is the rank's.
    fn is_own_process(&self) -> bool {
        false
    }

    /// Messages are due now: a transport that pauses between looks for them looks often for a
    /// while.
    fn expect_messages(&self) {}

    /// Waits for the next message to `endpoint` of this rank, as [`Transport::recv_any`] does.
    fn recv(&self, endpoint: Endpoint, timeout: Option<Duration>) -> Result<Option<Envelope>, TransportError> {
        self.recv_any(&[endpoint], timeout)
    }
}

/// How far ahead of the tracker's start message the run's start lies: as long as a rank may take
/// to notice a message, and 5 ms for a busy machine. Every peer then has the message before the
/// run begins, and all begin together, so a makespan measures the swarm rather than how late a
/// dozing rank noticed the start.
pub fn start_lead(transport: &impl Transport) -> Duration {
    match transport.notice_within() {
        pause if pause.is_zero() => pause,
        pause => pause + Duration::from_millis(5),
    }
}
