//! The raw MPI request and reply rate: the ceiling for any protocol that moves a chunk with one
//! request and one answer. Run under mpirun as `mpitorrent bench --round-trips-ms MS` (hidden,
//! with `--through-transport` for the second measure below); rank 0 prints the result as one JSON
//! line.
//!
//! Every rank but 0 keeps a window of requests out, as a downloader does, each to a random other
//! such rank, and answers the requests it gets. It is the plainest MPI loop: tiny messages sent
//! with `MPI_Send`, received after `MPI_Iprobe`; a rank with nothing to receive yields its core
//! (so ranks that have work run) instead of sleeping.
//!
//! [`measure_through_transport`] makes the same exchange through this project's transport and a
//! peer's two threads, with no protocol: the most a protocol asking for one chunk per request, 32
//! out, could give on them with the transport's settings, so that what the threads cost and what
//! the protocol costs show apart.

use crate::protocol::hash::ChunkHash;
use crate::protocol::ids::{ChunkIdx, FileId, Rank};
use crate::protocol::message::{Endpoint, Holding, Message, Sent};
use crate::protocol::transport::Transport;
use crate::transport::mpi::MpiTransport;
use fixedbitset::FixedBitSet;
use mpi::collective::SystemOperation;
use mpi::point_to_point::{Destination, MatchedReceiveVec, Source};
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use mpi::Threading;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

const REQUEST: mpi::Tag = 1;
const REPLY: mpi::Tag = 2;
/// Requests each rank keeps out, as many as a downloader does.
pub const WINDOW: usize = crate::protocol::IN_FLIGHT;

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
    let deadline = Instant::now() + duration;
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
                world.process_at_rank(partner(&mut rng, rank, size)).send_with_tag(&request[..], REQUEST);
                outstanding += 1;
            }
            serve(&mut completed, &mut outstanding);
        }
        // Others may still be asking: answer until every rank is done.
        barrier_while(&world, || serve(&mut completed, &mut outstanding));
    } else {
        sleep_through_barrier(&world);
    }
    total(&world, completed, duration)
}

/// The same exchange as [`measure`], through [`MpiTransport`]: on every rank but 0 an upload
/// thread answers each request and the download thread keeps the window out, each taking its
/// own messages as a peer's threads do. The messages are a peer's kinds, a request naming a
/// chunk and an answer with its hash, but carry no holdings (a rarest-first peer's carry the
/// file's bitfield), and MPI runs with `MPI_THREAD_MULTIPLE`, as in a run. Needs at least 3 ranks.
pub fn measure_through_transport(duration: Duration) -> Option<RoundTrips> {
    let (universe, threading) = mpi::initialize_with_threading(Threading::Multiple).expect("MPI initializes");
    assert_eq!(threading, Threading::Multiple, "the transport needs MPI_THREAD_MULTIPLE");
    let world = universe.world();
    let (rank, size) = (world.rank(), world.size());
    assert!(size >= 3, "round trips need at least 3 ranks");
    let mut completed = 0u64;
    // On every rank, rank 0's too: starting a transport is collective.
    let transport = MpiTransport::start(crate::transport::mpi::pauses(Duration::ZERO, false));
    // Messages are due while the barrier waits: a polling transport looks often.
    let barrier = || {
        barrier_while(&world, || {
            std::thread::sleep(Duration::from_millis(1));
            transport.expect_messages();
        })
    };
    if rank > 0 {
        std::thread::scope(|scope| {
            let uploader = scope.spawn(|| answer_requests(&transport));
            barrier();
            completed = ask(&transport, Instant::now() + duration);
            // Past this barrier every rank has had all its answers: no request is left, and the
            // upload thread may stop.
            barrier();
            transport.send(transport.rank(), &Message::Stop).expect("the transport sends");
            uploader.join().expect("the upload thread");
        });
    } else {
        barrier();
        barrier();
    }
    transport.close();
    total(&world, completed, duration)
}

/// A download thread's part: keeps the window of requests out, each to a random other peer rank,
/// until `deadline`, then waits for the last answers; the round trips completed by `deadline`.
fn ask(transport: &MpiTransport, deadline: Instant) -> u64 {
    let (me, size) = (transport.rank().0 as i32, transport.size() as i32);
    let mut rng = SmallRng::seed_from_u64(me as u64);
    let request = Message::ChunkRequest { file: FileId(0), chunk: Some(ChunkIdx(0)), held: FixedBitSet::new() };
    let (mut outstanding, mut completed) = (0usize, 0u64);
    while Instant::now() < deadline || outstanding > 0 {
        while outstanding < WINDOW && Instant::now() < deadline {
            transport.send(Rank(partner(&mut rng, me, size) as u32), &request).expect("the transport sends");
            outstanding += 1;
        }
        // Until the deadline the window is full: wait for an answer or the deadline.
        let wait = deadline.checked_duration_since(Instant::now());
        if transport.recv(Endpoint::Download, wait).expect("the transport receives").is_some() {
            outstanding -= 1;
            completed += u64::from(Instant::now() <= deadline);
        }
    }
    completed
}

/// An upload thread's part: answers every request with a chunk's hash until told to stop.
fn answer_requests(transport: &MpiTransport) {
    let sent = Sent { chunk: ChunkIdx(0), hash: ChunkHash::from_u128(0), emitted: 0 };
    let reply =
        Message::ChunkReply { file: FileId(0), asked: Some(ChunkIdx(0)), sent: Some(sent), holding: Holding::All, choked: false };
    loop {
        let envelope = transport.recv(Endpoint::Upload, None).expect("the transport receives").expect("no timeout was set");
        match envelope.msg {
            Message::Stop => return,
            Message::ChunkRequest { .. } => transport.send(envelope.from, &reply).expect("the transport sends"),
            other => panic!("the upload thread got {other:?}"),
        }
    }
}

/// Rank 0 gets the total of every rank's `completed` round trips over `duration`.
fn total(world: &SimpleCommunicator, completed: u64, duration: Duration) -> Option<RoundTrips> {
    let root = world.process_at_rank(0);
    if world.rank() == 0 {
        let mut total = 0u64;
        root.reduce_into_root(&completed, &mut total, SystemOperation::sum());
        Some(RoundTrips { ranks: world.size() as u32, round_trips: total, seconds: duration.as_secs_f64() })
    } else {
        root.reduce_into(&completed, SystemOperation::sum());
        None
    }
}

/// A random rank other than 0 and `me`, of `size`.
fn partner(rng: &mut SmallRng, me: i32, size: i32) -> i32 {
    loop {
        let to = rng.gen_range(1..size);
        if to != me {
            return to;
        }
    }
}

/// Rank 0's part, and a rank's once it has nothing left to answer: waits in a barrier, sleeping,
/// so as not to take a core from ranks that still work.
fn sleep_through_barrier(world: &SimpleCommunicator) {
    barrier_while(world, || std::thread::sleep(Duration::from_millis(1)));
}

/// Enters a barrier and calls `between` until every rank has entered it.
fn barrier_while(world: &SimpleCommunicator, mut between: impl FnMut()) {
    let mut pending = world.immediate_barrier();
    loop {
        match pending.test() {
            Ok(_) => return,
            Err(still) => pending = still,
        }
        between();
    }
}
