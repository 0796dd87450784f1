//! The real transport: Open MPI through rsmpi.
//!
//! Open MPI's blocking receive and probe spin on the CPU while they wait, so dozens of ranks on two
//! cores would starve each other. Instead each endpoint polls its own tags with a matched probe
//! (so threads of one rank never take each other's messages) and sleeps between polls, starting
//! short, because replies usually come fast, and backing off to a cap while nothing arrives.

use super::{Transport, TransportError};
use crate::ids::Rank;
use crate::message::{Endpoint, Envelope, Message};
use mpi::point_to_point::{Destination, MatchedReceiveVec, Source};
use mpi::topology::{Communicator, SimpleCommunicator};
use std::time::{Duration, Instant};

const FIRST_PAUSE: Duration = Duration::from_micros(20);
const LONGEST_PAUSE: Duration = Duration::from_millis(2);

pub struct MpiTransport {
    rank: Rank,
    size: u32,
}

impl MpiTransport {
    /// Must be called after MPI is initialized with `Threading::Multiple`.
    pub fn new() -> MpiTransport {
        let world = SimpleCommunicator::world();
        MpiTransport { rank: Rank(world.rank() as u32), size: world.size() as u32 }
    }
}

impl Transport for MpiTransport {
    fn rank(&self) -> Rank {
        self.rank
    }

    fn size(&self) -> u32 {
        self.size
    }

    fn send(&self, to: Rank, msg: &Message) -> Result<(), TransportError> {
        if to.0 >= self.size {
            return Err(TransportError::Gone(to));
        }
        // The world handle is a plain constant; fetching it per call keeps the transport Sync.
        let world = SimpleCommunicator::world();
        world.process_at_rank(to.0 as i32).send_with_tag(&msg.encode()[..], msg.tag());
        Ok(())
    }

    fn recv(&self, endpoint: Endpoint, timeout: Option<Duration>) -> Result<Option<Envelope>, TransportError> {
        let world = SimpleCommunicator::world();
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut pause = FIRST_PAUSE;
        loop {
            for &tag in endpoint.tags() {
                if let Some(probed) = world.any_process().immediate_matched_probe_with_tag(tag) {
                    let (bytes, status) = probed.matched_receive_vec::<u8>();
                    let from = Rank(status.source_rank() as u32);
                    let msg = Message::decode(&bytes).map_err(|e| TransportError::Garbled {
                        from,
                        tag,
                        reason: e.to_string(),
                    })?;
                    return Ok(Some(Envelope { from, msg }));
                }
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Ok(None);
            }
            let nap = deadline.map_or(pause, |d| pause.min(d - now));
            std::thread::sleep(nap);
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    }
}
