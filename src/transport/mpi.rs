//! The real transport: MPI (Open MPI or MPICH) through rsmpi.
//!
//! MPI's blocking receive and probe spin on the CPU while they wait, so dozens of ranks on two
//! cores would starve each other. Instead one receiver thread per rank polls with a matched probe
//! (`MPI_Improbe` + `MPI_Mrecv`) and puts each message, by its tag, in the inbox of the thread it
//! is for, where that thread blocks without spinning. What one poll finds goes in at once, each
//! thread woken once for all of it (woken per message, a thread cost a wake-up and a context
//! switch per message).
//!
//! When every rank runs on one host, a receiver with nothing to take sleeps until a send rings
//! its bell (see [`super::bells`]). Two things MPI does make the bell need care:
//! - A probe that finds nothing may still have moved a message in from shared memory, for the
//!   next probe to find (Open MPI matches before it makes progress). So a round of looks ends
//!   only when two probes in a row find nothing.
//! - Any thread's call into MPI may move messages in for this rank, and a send may stay in this
//!   process until MPI here makes progress. So every send rings this rank's own bell as well as
//!   its destination's (a thread that calls MPI otherwise calls [`Transport::expect_messages`]
//!   after); while a send is pending the receiver looks at its polling pace and rings the ranks
//!   its pending sends go to, and it rings a send's destination again when MPI finishes the send.
//!
//! Across hosts there are no bells, and the receiver polls: between polls it sleeps for a quarter
//! of the time since this rank last sent or received anything, within the shortest and longest
//! pauses the run sets (see [`pauses`]): a busy rank looks every 0.2 to 5 ms (a quarter of a chunk
//! time, an eighth with first-free and tit-for-tat), an idle one every 2 to 20 ms. Polling is
//! what waiting costs then: each look wakes a thread and asks MPI, dozens of ranks over. Sending
//! wakes a dozing receiver, since a reply is likely to follow.
//!
//! Sends are nonblocking (`MPI_Isend`): a blocking send of more than a few hundred bytes waits
//! until the receiving rank's next poll, which would stall the tracker behind every sleeping peer.
//! The receiver thread completes pending sends as it polls, and drains them before it stops.
//!
//! A message this rank cannot handle (undecodable, or for a thread it does not run) is a bug
//! somewhere in the job: the receiver reports it and aborts the whole job rather than drop it.

use super::bells::Bells;
use super::inbox::Inboxes;
use crate::protocol::ids::Rank;
use crate::protocol::message::{Endpoint, Envelope, Message};
use crate::protocol::transport::{Transport, TransportError};
use mpi::ffi;
use mpi::point_to_point::{MatchedReceiveVec, Source};
use mpi::topology::{Communicator, SimpleCommunicator};
use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// Pauses at least this many times the shortest are cut short when this rank sends: 1 ms with no
/// chunk time, where a reply may follow within microseconds. With a chunk time of 2 ms or more no
/// pause is that long: a receiver woken at every send, before any reply can have come, would poll
/// for nothing (docs/performance.md, "Figures behind the constants").
const DOZE: u32 = 5;
/// The most messages taken from MPI before they go in the inboxes, so that a stream of them is
/// not held back.
const BATCH: usize = 64;
/// The longest a receiver with a bell sleeps with no send pending: every message rings, so this
/// only bounds what a missed ring could cost, for one wake-up a second.
const QUIET: Duration = Duration::from_secs(1);
/// How long closing waits for this rank's last sends to be taken before it gives up on the job.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// How far apart the receiver looks for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pauses {
    pub shortest: Duration,
    pub longest: Duration,
}

/// How far apart a rank's receiver looks for messages.
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

pub struct MpiTransport {
    rank: Rank,
    size: u32,
    shared: Arc<Shared>,
    receiver: Mutex<Option<JoinHandle<()>>>,
}

/// What the receiver thread and the sending threads share.
struct Shared {
    rank: Rank,
    epoch: Instant,
    /// Nanoseconds since `epoch` of the last send or receive.
    last_activity: AtomicU64,
    /// The receiver may be in a pause of at least [`DOZE`] times the shortest.
    dozing: AtomicBool,
    pauses: Pauses,
    receiver: OnceLock<Thread>,
    /// `None` when the receiver polls: the job spans hosts, or bells were turned off.
    bells: Option<Bells>,
    outbox: Mutex<Outbox>,
    inboxes: Inboxes<Envelope>,
}

#[derive(Default)]
struct Outbox {
    /// Sends MPI has not finished with.
    pending: Vec<Outgoing>,
    /// No more sends are accepted.
    closed: bool,
}

/// A send MPI has not finished with: its request, where it goes, and the bytes it reads from
/// until then.
struct Outgoing {
    request: ffi::MPI_Request,
    to: Rank,
    _bytes: Vec<u8>,
}

// SAFETY: under MPI_THREAD_MULTIPLE a request may be tested from any thread; the bytes are owned.
unsafe impl Send for Outgoing {}

impl Shared {
    fn touch(&self) {
        self.last_activity.store(self.epoch.elapsed().as_nanos() as u64, SeqCst);
    }

    fn pause(&self) -> Duration {
        let idle = self.epoch.elapsed().saturating_sub(Duration::from_nanos(self.last_activity.load(SeqCst)));
        (idle / 4).clamp(self.pauses.shortest, self.pauses.longest)
    }

    /// Tests pending sends, forgets finished ones, and says how many are left and whether the
    /// transport is closed. With bells, rings the ranks the finished ones went to: MPI may have
    /// written such a send only now, after its destination looked.
    fn complete_sends(&self) -> (usize, bool) {
        let mut finished = Vec::new();
        let mut outbox = self.outbox.lock().expect("outbox");
        outbox.pending.retain_mut(|send| {
            let done = send.test(self.rank);
            if done {
                finished.push(send.to);
            }
            !done
        });
        let left = (outbox.pending.len(), outbox.closed);
        drop(outbox);
        if let Some(bells) = &self.bells {
            finished.into_iter().for_each(|to| bells.ring(to));
        }
        left
    }

    fn wake_receiver(&self) {
        if let Some(thread) = self.receiver.get() {
            thread.unpark();
        }
        if let Some(bells) = &self.bells {
            bells.ring(self.rank);
        }
    }

    /// Sleeps for the polling pause, or until a send wakes this thread.
    fn doze(&self) {
        // Say "dozing" before reading the pause: a send either sees the flag and wakes this
        // thread, or touched the clock first and makes the pause short.
        self.dozing.store(true, SeqCst);
        let pause = self.pause();
        if pause < self.pauses.shortest * DOZE {
            self.dozing.store(false, SeqCst);
        }
        std::thread::park_timeout(pause);
        self.dozing.store(false, SeqCst);
    }

    /// Sleeps until this rank's bell rings. With sends pending, only for a polling receiver's
    /// pause, after ringing the ranks they go to: they may need to look for MPI to finish them.
    fn rest(&self, bells: &Bells, sending: usize) {
        let timeout = match sending {
            0 => QUIET,
            _ => {
                self.outbox.lock().expect("outbox").pending.iter().for_each(|send| bells.ring(send.to));
                self.pause()
            }
        };
        bells.sleep(timeout);
    }
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
    /// Starts this rank's receiver thread, which pauses between looks for messages within
    /// `pauses` when it polls. MPI must be initialized with `Threading::Multiple`. Collective:
    /// every rank starts its transport at the same point (see [`Bells::open`]).
    pub fn start(pauses: Pauses) -> MpiTransport {
        let world = SimpleCommunicator::world();
        let rank = Rank(world.rank() as u32);
        let shared = Arc::new(Shared {
            rank,
            epoch: Instant::now(),
            last_activity: AtomicU64::new(0),
            dozing: AtomicBool::new(false),
            pauses: Pauses { longest: pauses.longest.max(pauses.shortest), ..pauses },
            receiver: OnceLock::new(),
            bells: Bells::open(&world),
            outbox: Mutex::default(),
            inboxes: Inboxes::default(),
        });
        let receiver = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("mpi-receiver".into())
                .spawn(move || receive_loop(&shared))
                .expect("spawn the receiver thread")
        };
        let _ = shared.receiver.set(receiver.thread().clone());
        MpiTransport { rank, size: world.size() as u32, shared, receiver: Mutex::new(Some(receiver)) }
    }

    /// Whether the receivers sleep until a send rings their bell, rather than poll; the same on
    /// every rank.
    pub fn rings_bells(&self) -> bool {
        self.shared.bells.is_some()
    }

    /// Refuses further sends, lets the receiver finish this rank's pending ones, and stops it.
    /// Call it once this rank expects no more messages; dropping the transport does it too.
    pub fn close(&self) {
        self.shared.outbox.lock().expect("outbox").closed = true;
        self.shared.wake_receiver();
        if let Some(receiver) = self.receiver.lock().expect("receiver handle").take() {
            receiver.join().expect("receiver thread");
        }
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

/// The one place this rank receives from MPI: any source, any tag, sorted by tag to the endpoints.
fn receive_loop(shared: &Shared) {
    // However this thread ends, the rank's threads waiting for messages must learn of it.
    struct CloseInboxes<'a>(&'a Inboxes<Envelope>);
    impl Drop for CloseInboxes<'_> {
        fn drop(&mut self) {
            self.0.close();
        }
    }
    let _closing = CloseInboxes(&shared.inboxes);
    let world = SimpleCommunicator::world();
    let mut closed_at = None;
    // Messages taken since the inboxes were last filled: all that one poll finds go in together.
    let mut taken = Vec::new();
    // Probes in a row that found nothing; with a bell, two end a round of looks.
    let mut empty = 0;
    if let Some(bells) = &shared.bells {
        bells.arm();
    }
    loop {
        let (sending, closed) = shared.complete_sends();
        if closed {
            let since = *closed_at.get_or_insert_with(Instant::now);
            if sending == 0 {
                shared.inboxes.put_all(taken);
                return;
            }
            if since.elapsed() > DRAIN_LIMIT {
                fail(shared.rank, &format!("{sending} messages still unsent {DRAIN_LIMIT:?} after this rank finished"));
            }
        }
        let probed = match taken.len() < BATCH {
            true => world.any_process().immediate_matched_probe(),
            false => None,
        };
        let Some(probed) = probed else {
            // A full batch is no look that found nothing.
            let looked = taken.len() < BATCH;
            let took = !taken.is_empty();
            if took {
                shared.inboxes.put_all(taken.drain(..));
            }
            match &shared.bells {
                Some(bells) => {
                    empty += usize::from(looked);
                    if empty == 2 {
                        empty = 0;
                        shared.rest(bells, sending);
                    }
                }
                None if took => {}
                None => shared.doze(),
            }
            continue;
        };
        empty = 0;
        shared.touch();
        let (bytes, status) = probed.matched_receive_vec::<u8>();
        let (from, tag) = (Rank(status.source_rank() as u32), status.tag());
        let msg = match Message::decode(&bytes) {
            Ok(msg) if msg.tag() == tag => msg,
            Ok(msg) => fail(shared.rank, &format!("rank {from} sent {msg:?} under tag {tag}")),
            Err(e) => fail(shared.rank, &format!("undecodable message from rank {from} (tag {tag}): {e}")),
        };
        let endpoint = msg.endpoint();
        if !endpoint.runs_on(shared.rank) {
            fail(shared.rank, &format!("rank {from} sent {msg:?}, which is for a {endpoint:?} thread this rank does not run"));
        }
        // The endpoint's thread may have finished; a message it would never read is harmless then.
        taken.push((endpoint, Envelope { from, msg }));
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
        let bytes = msg.encode();
        let count = c_int::try_from(bytes.len()).map_err(|_| TransportError::TooLarge(bytes.len()))?;
        let mut outbox = self.shared.outbox.lock().expect("outbox");
        if outbox.closed {
            return Err(TransportError::Closed);
        }
        let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: MPI reads `bytes` until the request completes; both are kept together in
        // the outbox until then, and the heap buffer does not move when the Vec does.
        let code = unsafe {
            ffi::MPI_Isend(
                bytes.as_ptr().cast(),
                count,
                ffi::RSMPI_UINT8_T,
                to.0 as c_int,
                msg.tag(),
                ffi::RSMPI_COMM_WORLD,
                &mut request,
            )
        };
        if code != ffi::MPI_SUCCESS as c_int {
            fail(self.rank, &format!("MPI_Isend to rank {to} failed with code {code}"));
        }
        let mut send = Outgoing { request, to, _bytes: bytes };
        // A send done at once needs no more of this rank's receiver than to take what the test
        // may have moved in for it, for which it is rung below anyway.
        if self.shared.bells.is_none() || !send.test(self.rank) {
            outbox.pending.push(send);
        }
        drop(outbox);
        self.shared.touch();
        match &self.shared.bells {
            Some(bells) => {
                bells.ring(to);
                // This rank's receiver finishes the send if MPI has not, and takes what these
                // calls may have moved in for it.
                bells.ring(self.rank);
            }
            None if self.shared.dozing.load(SeqCst) => self.shared.wake_receiver(),
            None => {}
        }
        Ok(())
    }

    /// The longest pause even with bells: a send MPI has not finished is noticed at the polling
    /// pace.
    fn notice_within(&self) -> Duration {
        self.shared.pauses.longest
    }

    fn is_own_process(&self) -> bool {
        true
    }

    fn expect_messages(&self) {
        self.shared.touch();
        self.shared.wake_receiver();
    }

    fn recv_any(&self, endpoints: &[Endpoint], timeout: Option<Duration>) -> Result<Option<Envelope>, TransportError> {
        self.shared.inboxes.take(endpoints, timeout).map_err(|_| TransportError::Gone(self.rank))
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
