//! The raw MPI request and reply rate: the ceiling for any protocol that moves a chunk with one
//! request and one answer. Run under mpirun as `mpitorrent bench --round-trips-ms` (hidden); rank 0
//! prints the result as one JSON line.
//!
//! Every rank but 0 keeps a window of requests out, as a downloader does, each to a random other
//! such rank, and answers the requests it gets. It is the plainest MPI loop: tiny messages sent
//! with `MPI_Send`, received after `MPI_Iprobe`; a rank with nothing to receive yields its core
//! (so ranks that have work run) instead of sleeping.

use mpi::collective::SystemOperation;
use mpi::point_to_point::{Destination, MatchedReceiveVec, Source};
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

const REQUEST: mpi::Tag = 1;
const REPLY: mpi::Tag = 2;
/// Requests each rank keeps out, as many as a downloader does.
pub const WINDOW: usize = crate::peer::download::IN_FLIGHT;

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct RoundTrips {
    pub ranks: u32,
    pub round_trips: u64,
    pub seconds: f64,
}

impl RoundTrips {
    pub fn per_second(&self) -> f64 {
        self.round_trips as f64 / self.seconds
    }
}

/// This rank's part; rank 0 gets the total of every rank's round trips completed within
/// `duration`. Needs at least 3 ranks (two that talk to each other).
pub fn measure(duration: Duration) -> Option<RoundTrips> {
    let universe = mpi::initialize().expect("MPI initializes");
    let world = universe.world();
    let (rank, size) = (world.rank(), world.size());
    assert!(size >= 3, "round trips need at least 3 ranks");
    world.barrier();
    let start = Instant::now();
    let deadline = start + duration;
    let mut completed = 0u64;
    if rank > 0 {
        let mut rng = SmallRng::seed_from_u64(rank as u64);
        let mut outstanding = 0usize;
        let request = (rank as u64).to_le_bytes();
        let reply = [0u8; 40]; // a chunk's answer: its index and its 32-digit hash
        let serve = |completed: &mut u64, outstanding: &mut usize| {
            let Some(probed) = world.any_process().immediate_matched_probe() else {
                std::thread::yield_now();
                return;
            };
            let (_, status) = probed.matched_receive_vec::<u8>();
            match status.tag() {
                REQUEST => world.process_at_rank(status.source_rank()).send_with_tag(&reply[..], REPLY),
                _ => {
                    *outstanding -= 1;
                    *completed += u64::from(Instant::now() <= deadline);
                }
            }
        };
        while Instant::now() < deadline || outstanding > 0 {
            while outstanding < WINDOW && Instant::now() < deadline {
                let to = loop {
                    let to = rng.gen_range(1..size);
                    if to != rank {
                        break to;
                    }
                };
                world.process_at_rank(to).send_with_tag(&request[..], REQUEST);
                outstanding += 1;
            }
            serve(&mut completed, &mut outstanding);
        }
        // Others may still be asking: answer until every rank is done.
        barrier_while(&world, || serve(&mut completed, &mut outstanding));
    } else {
        // The tracker's rank takes no part, and must not take a core from those that do.
        barrier_while(&world, || std::thread::sleep(Duration::from_millis(1)));
    }
    let root = world.process_at_rank(0);
    if rank == 0 {
        let mut total = 0u64;
        root.reduce_into_root(&completed, &mut total, SystemOperation::sum());
        Some(RoundTrips { ranks: size as u32, round_trips: total, seconds: duration.as_secs_f64() })
    } else {
        root.reduce_into(&completed, SystemOperation::sum());
        None
    }
}

/// Enters a barrier and calls `between` until every rank has entered it.
fn barrier_while(world: &mpi::topology::SimpleCommunicator, mut between: impl FnMut()) {
    let mut pending = world.immediate_barrier();
    loop {
        match pending.test() {
            Ok(_) => return,
            Err(still) => pending = still,
        }
        between();
    }
}
