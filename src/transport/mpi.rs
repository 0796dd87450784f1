//! The real transport: MPI (Open MPI or MPICH) through rsmpi.
//!
//! MPI's blocking receive and probe spin on the CPU while they wait, so dozens of ranks on two
//! cores would starve each other. Instead each thread that receives looks for its own messages
//! with a matched probe (`MPI_Improbe` + `MPI_Mrecv`) and sleeps between looks. Every such thread
//! has a communicator of its own (a [`Lane`]), so it finds only its messages, and a message wakes
//! only the thread it is for: one wake-up a message.
//!
//! When every rank runs on one host, a thread sleeps until a send rings the bell of its lane (see
//! [`super::bells`]), once it has taken every message the bell counted. A message counted but not
//! found is on its way through MPI: a probe that finds nothing may still have moved a message in
//! for the next probe to find (Open MPI matches before it makes progress), some messages take
//! more looks than that, and a send may stay in its process until MPI there makes progress. Then
//! the thread looks again after the shortest pause. A look ends when two probes in a row find
//! nothing. A rank's calls into MPI are made one at a time, under one lock: a probe made while
//! another thread's call makes progress may skip MPI's progress.
//!
//! Only the rest of a message over MPI's eager limit, once matched, is waited for inside MPI
//! (`MPI_Mrecv`); Open MPI copies it straight from the sender's memory.
//!
//! Any thread that looks finishes the rank's pending sends; while sends are pending the waiting
//! threads look at their polling pace.
//!
//! Across hosts there are no bells, and the waiting threads poll: between looks a thread sleeps
//! for a quarter of the time since this rank last sent or received anything, within the shortest
//! and longest pauses the run sets (see [`pauses`]): a busy rank looks every 0.2 to 5 ms (a quarter
//! of a chunk time, an eighth with first-free and tit-for-tat), an idle one every 2 to 20 ms.
//!
//! Sends are nonblocking (`MPI_Isend`): a blocking send of more than a few hundred bytes waits
//! until the receiving thread's next look, which would stall the tracker behind every sleeping
//! peer. [`MpiTransport::close`] drains them.
//!
//! A message this rank cannot handle (undecodable, or for a thread it does not run) is a bug
//! somewhere in the job: the rank reports it and aborts the whole job rather than drop it.

use super::bells::Bells;
use super::yielding::Quiet;
use crate::protocol::ids::Rank;
use crate::protocol::message::{Endpoint, Envelope, Message};
use crate::protocol::transport::{Transport, TransportError};
use mpi::ffi;
use mpi::point_to_point::{MatchedReceiveVec, Source};
use mpi::raw::AsRaw;
use mpi::topology::{Communicator, SimpleCommunicator};
use std::os::raw::c_int;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The longest a thread with a bell sleeps with no send pending: every message rings, so this
/// only bounds what a missed ring could cost, for one wake-up a second.
const QUIET: Duration = Duration::from_secs(1);
/// How long closing waits for this rank's last sends to be taken before it gives up on the job.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// How far apart a polling thread looks for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pauses {
    pub shortest: Duration,
    pub longest: Duration,
}

/// How far apart a rank's threads look for messages when they poll.
///
/// The longest pause: a quarter of a chunk time, kept within 2 to 20 ms, so an idle rank looks at
/// least four times a round for chunk times of 8 to 80 ms and notices a promised slot in time.
/// With no chunk time there are no rounds to keep: 20 ms.
///
/// The shortest, how often a busy rank looks: an eighth of a chunk time when transfers wait on
/// answers to interests (`answered`, see `protocol::peer::waits_on_answers`; first-free must
/// notice an answer and the request it brings within the half chunk time a slot is promised
/// ahead), else a quarter, kept within 0.2 to 5 ms: requests by name wait in the uploaders'
/// queues anyway. Looks are most of what waiting costs. The figures that chose both are in
/// docs/performance.md, "Figures behind the constants".
pub fn pauses(chunk_time: Duration, answered: bool) -> Pauses {
    let within = |d: Duration, low: u64, high: u64| d.clamp(Duration::from_micros(low), Duration::from_micros(high));
    let busy = if answered { chunk_time / 8 } else { chunk_time / 4 };
    match chunk_time.is_zero() {
        true => Pauses { shortest: Duration::from_micros(200), longest: Duration::from_millis(20) },
        false => Pauses { shortest: within(busy, 200, 5_000), longest: within(chunk_time / 4, 2_000, 20_000) },
    }
}

/// A thread of a rank that receives, with a communicator of its own: rank 0's tracker thread
/// (the tracker's and the collector's messages) or a peer's download thread, and a peer's upload
/// thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lane(usize);

impl Lane {
    pub const COUNT: usize = 2;

    pub fn of(endpoint: Endpoint) -> Lane {
        match endpoint {
            Endpoint::Tracker | Endpoint::Events | Endpoint::Download => Lane(0),
            Endpoint::Upload => Lane(1),
        }
    }

    pub fn index(self) -> usize {
        self.0
    }

    fn all() -> impl Iterator<Item = Lane> {
        (0..Lane::COUNT).map(Lane)
    }
}

pub struct MpiTransport {
    rank: Rank,
    size: u32,
    epoch: Instant,
    /// Nanoseconds since `epoch` of the last send or receive.
    last_activity: AtomicU64,
    pauses: Pauses,
    /// `None` when the threads poll: the job spans hosts, or bells were turned off.
    bells: Option<Bells>,
    /// Held around every call into MPI.
    mpi: Mutex<Calls>,
}

/// What only the holder of the MPI lock touches.
struct Calls {
    /// A communicator for each lane.
    lanes: Vec<SimpleCommunicator>,
    /// Sends MPI has not finished with.
    pending: Vec<Outgoing>,
    /// Messages a thread took that are for another endpoint of its lane than it waited for.
    aside: Vec<Envelope>,
    /// Messages taken on each lane, to compare with its bell's count.
    taken: [u32; Lane::COUNT],
    /// No more sends are accepted, and waiting threads stop.
    closed: bool,
}

impl Calls {
    /// Messages taken on `lane` so far.
    fn taken(&self, lane: Lane) -> u32 {
        self.taken[lane.index()]
    }
}

// SAFETY: MPI runs with MPI_THREAD_MULTIPLE, and the communicators and requests are only used
// under the lock; the bytes of a send are owned.
unsafe impl Send for Calls {}

/// A send MPI has not finished with: its request, and the bytes it reads from until then.
struct Outgoing {
    request: ffi::MPI_Request,
    _bytes: Vec<u8>,
}

impl Outgoing {
    /// Whether MPI has finished with this send.
    fn test(&mut self, rank: Rank) -> bool {
        let mut done = 0;
        // SAFETY: the request came from MPI_Isend and is tested until it completes, once.
        let code = unsafe { ffi::MPI_Test(&mut self.request, &mut done, ffi::RSMPI_STATUS_IGNORE) };
        if code != ffi::MPI_SUCCESS as c_int {
            fail(rank, &format!("MPI_Test failed with code {code}"));
        }
        done != 0
    }
}

impl MpiTransport {
    /// Opens this rank's lanes; its threads pause between looks for messages within `pauses`
    /// when they poll. MPI must be initialized with `Threading::Multiple`. Collective: every rank
    /// starts its transport at the same point.
    pub fn start(pauses: Pauses) -> MpiTransport {
        let world = SimpleCommunicator::world();
        let lanes = Lane::all().map(|_| world.duplicate()).collect();
        MpiTransport {
            rank: Rank(world.rank() as u32),
            size: world.size() as u32,
            epoch: Instant::now(),
            last_activity: AtomicU64::new(0),
            pauses: Pauses { longest: pauses.longest.max(pauses.shortest), ..pauses },
            bells: Bells::open(&world),
            mpi: Mutex::new(Calls { lanes, pending: Vec::new(), aside: Vec::new(), taken: [0; Lane::COUNT], closed: false }),
        }
    }

    /// Whether waiting threads sleep until a send rings their bell, rather than poll; the same
    /// on every rank.
    pub fn rings_bells(&self) -> bool {
        self.bells.is_some()
    }

    /// Refuses further sends, stops the threads waiting for messages, and waits for MPI to finish
    /// this rank's pending sends. Meanwhile it takes, and drops, what still comes to this rank: a
    /// send to a thread that stopped looking early (a peer's that left) may need that to finish.
    /// Call it once this rank expects no more messages; dropping the transport does it too.
    pub fn close(&self) {
        if std::mem::replace(&mut self.calls().closed, true) {
            return;
        }
        self.nudge_own_lanes();
        let since = Instant::now();
        loop {
            let mut calls = self.calls();
            let sending = self.complete_sends(&mut calls);
            let coming = Lane::all()
                .filter(|&lane| {
                    while self.look(&mut calls, lane).is_some() {}
                    self.bells.as_ref().is_some_and(|bells| bells.due(lane, calls.taken(lane)))
                })
                .count();
            drop(calls);
            let late = since.elapsed() > DRAIN_LIMIT;
            match (sending, coming) {
                (0, 0) => return,
                (0, _) if late => return,
                (_, _) if late => {
                    fail(self.rank, &format!("{sending} messages still unsent {DRAIN_LIMIT:?} after this rank finished"))
                }
                _ => std::thread::sleep(self.pauses.shortest),
            }
        }
    }

    fn calls(&self) -> MutexGuard<'_, Calls> {
        self.mpi.lock().expect("MPI lock")
    }

    fn touch(&self) {
        self.last_activity.store(self.epoch.elapsed().as_nanos() as u64, SeqCst);
    }

    fn pause(&self) -> Duration {
        let idle = self.epoch.elapsed().saturating_sub(Duration::from_nanos(self.last_activity.load(SeqCst)));
        (idle / 4).clamp(self.pauses.shortest, self.pauses.longest)
    }

    /// Tests pending sends, forgets finished ones, and says how many are left.
    fn complete_sends(&self, calls: &mut Calls) -> usize {
        let _quiet = Quiet::hold();
        calls.pending.retain_mut(|send| !send.test(self.rank));
        calls.pending.len()
    }

    fn nudge_own_lanes(&self) {
        if let Some(bells) = &self.bells {
            Lane::all().for_each(|lane| bells.nudge(self.rank, lane));
        }
    }

    /// One look for `lane`'s messages: probes until one finds a message or two in a row find
    /// nothing.
    fn look(&self, calls: &mut Calls, lane: Lane) -> Option<Envelope> {
        let comm = &calls.lanes[lane.index()];
        let probed = {
            let _quiet = Quiet::hold();
            comm.any_process().immediate_matched_probe().or_else(|| comm.any_process().immediate_matched_probe())?
        };
        self.touch();
        calls.taken[lane.index()] = calls.taken(lane).wrapping_add(1);
        let (bytes, status) = probed.matched_receive_vec::<u8>();
        let (from, tag) = (Rank(status.source_rank() as u32), status.tag());
        let msg = match Message::decode(&bytes) {
            Ok(msg) if msg.tag() == tag => msg,
            Ok(msg) => fail(self.rank, &format!("rank {from} sent {msg:?} under tag {tag}")),
            Err(e) => fail(self.rank, &format!("undecodable message from rank {from} (tag {tag}): {e}")),
        };
        let endpoint = msg.endpoint();
        if !endpoint.runs_on(self.rank) || Lane::of(endpoint) != lane {
            fail(self.rank, &format!("rank {from} sent {msg:?}, which is for a {endpoint:?} thread this rank does not run"));
        }
        Some(Envelope { from, msg })
    }
}

impl Drop for MpiTransport {
    fn drop(&mut self) {
        self.close();
    }
}

/// Reports a fault this rank cannot recover from and ends the whole job.
fn fail(rank: Rank, problem: &str) -> ! {
    crate::protocol::say(&format!("mpitorrent: rank {rank}: error: {problem}"));
    SimpleCommunicator::world().abort(1)
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
        let bytes = msg.encode();
        let count = c_int::try_from(bytes.len()).map_err(|_| TransportError::TooLarge(bytes.len()))?;
        let lane = Lane::of(msg.endpoint());
        let mut calls = self.calls();
        if calls.closed {
            return Err(TransportError::Closed);
        }
        let quiet = Quiet::hold();
        let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: MPI reads `bytes` until the request completes; both are kept together in
        // `pending` until then, and the heap buffer does not move when the Vec does.
        let code = unsafe {
            ffi::MPI_Isend(
                bytes.as_ptr().cast(),
                count,
                ffi::RSMPI_UINT8_T,
                to.0 as c_int,
                msg.tag(),
                calls.lanes[lane.index()].as_raw(),
                &mut request,
            )
        };
        if code != ffi::MPI_SUCCESS as c_int {
            fail(self.rank, &format!("MPI_Isend to rank {to} failed with code {code}"));
        }
        let mut send = Outgoing { request, _bytes: bytes };
        let pending = !send.test(self.rank);
        drop(quiet);
        if pending {
            calls.pending.push(send);
        }
        drop(calls);
        self.touch();
        if let Some(bells) = &self.bells {
            bells.ring(to, lane);
            if pending {
                // A waiting thread of this rank finishes the send.
                self.nudge_own_lanes();
            }
        }
        Ok(())
    }

    /// The longest pause even with bells: a send MPI has not finished is noticed at the polling
    /// pace.
    fn notice_within(&self) -> Duration {
        self.pauses.longest
    }

    fn is_own_process(&self) -> bool {
        true
    }

    fn expect_messages(&self) {
        self.touch();
    }

    fn recv_any(&self, endpoints: &[Endpoint], timeout: Option<Duration>) -> Result<Option<Envelope>, TransportError> {
        let lane = Lane::of(endpoints[0]);
        assert!(endpoints.iter().all(|&e| Lane::of(e) == lane), "one thread waits on one lane: {endpoints:?}");
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let mut calls = self.calls();
            if let Some(at) = calls.aside.iter().position(|envelope| endpoints.contains(&envelope.msg.endpoint())) {
                return Ok(Some(calls.aside.remove(at)));
            }
            if calls.closed {
                return Err(TransportError::Gone(self.rank));
            }
            let sending = self.complete_sends(&mut calls);
            // With a bell, a look only for messages it counted: most looks would find nothing.
            let due = self.bells.as_ref().is_none_or(|bells| bells.due(lane, calls.taken(lane)));
            match due.then(|| self.look(&mut calls, lane)).flatten() {
                Some(envelope) if endpoints.contains(&envelope.msg.endpoint()) => return Ok(Some(envelope)),
                Some(envelope) => {
                    calls.aside.push(envelope);
                    continue;
                }
                None => {}
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|left| left.is_zero()) {
                return Ok(None);
            }
            // Ready to sleep before the lock goes: a send that this rank's threads must finish
            // pushes it under the lock, then nudges.
            let lying = self.bells.as_ref().and_then(|bells| bells.lie_down(lane, calls.taken(lane)));
            drop(calls);
            let nap = match (&self.bells, &lying, sending) {
                (Some(_), Some(_), 0) => QUIET,
                (Some(_), None, _) => self.pauses.shortest,
                _ => self.pause(),
            };
            let nap = left.map_or(nap, |left| nap.min(left));
            match (&self.bells, lying) {
                (Some(bells), Some(lying)) => bells.sleep(lying, nap),
                // Polling, or a message is on its way.
                _ => std::thread::sleep(nap),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_follow_the_chunk_time_within_their_bounds() {
        let ms = Duration::from_millis;
        let us = Duration::from_micros;
        let cases = [
            (0, false, us(200), ms(20)),
            (1, false, us(250), ms(2)),
            (1, true, us(200), ms(2)),
            (10, false, us(2_500), us(2_500)),
            (10, true, us(1_250), us(2_500)),
            (20, false, ms(5), ms(5)),
            (20, true, us(2_500), ms(5)),
            (1000, true, ms(5), ms(20)),
        ];
        for (chunk_ms, answered, shortest, longest) in cases {
            assert_eq!(pauses(ms(chunk_ms), answered), Pauses { shortest, longest }, "{chunk_ms} ms a chunk, {answered}");
        }
    }
}
