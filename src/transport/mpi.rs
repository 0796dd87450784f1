//! The real transport: Open MPI through rsmpi.
//!
//! Open MPI's blocking receive and probe spin on the CPU while they wait, so dozens of ranks on two
//! cores would starve each other. Instead one receiver thread per rank polls with a matched probe
//! (`MPI_Improbe` + `MPI_Mrecv`) and hands each message, by its tag, to the channel of the thread
//! it is for, where that thread blocks without spinning. Between polls the receiver sleeps for a
//! quarter of the time since this rank last sent or received anything (20 µs to 20 ms): a busy
//! rank reacts within microseconds, an idle one wakes a few dozen times a second. Sending wakes
//! a dozing receiver, since a reply is likely to follow.
//!
//! Sends are nonblocking (`MPI_Isend`): a blocking send of more than a few hundred bytes waits
//! until the receiving rank's next poll, which would stall the tracker behind every sleeping peer.
//! The receiver thread completes pending sends as it polls, and drains them before it stops.

use super::{take, Transport, TransportError};
use crate::ids::Rank;
use crate::message::{Endpoint, Envelope, Message};
use crossbeam_channel::{Receiver, Sender};
use mpi::ffi;
use mpi::point_to_point::{MatchedReceiveVec, Source};
use mpi::topology::{Communicator, SimpleCommunicator};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

const SHORTEST_PAUSE: Duration = Duration::from_micros(200);
/// Pauses at least this long are cut short when this rank sends.
const DOZE: Duration = Duration::from_millis(1);
const LONGEST_PAUSE: Duration = Duration::from_millis(20);

type Delivery = Result<Envelope, TransportError>;

pub struct MpiTransport {
    rank: Rank,
    size: u32,
    inboxes: [Receiver<Delivery>; 3],
    shared: Arc<Shared>,
    receiver: Mutex<Option<JoinHandle<()>>>,
}

/// What the receiver thread and the sending threads share.
struct Shared {
    epoch: Instant,
    /// Nanoseconds since `epoch` of the last send or receive.
    last_activity: AtomicU64,
    closing: AtomicBool,
    /// The receiver is in a pause of at least [`DOZE`].
    dozing: AtomicBool,
    receiver: OnceLock<Thread>,
    outgoing: Mutex<Vec<Outgoing>>,
}

/// A send MPI has not finished with: its request, and the bytes it reads from until then.
struct Outgoing {
    request: ffi::MPI_Request,
    _bytes: Vec<u8>,
}

// SAFETY: under MPI_THREAD_MULTIPLE a request may be tested from any thread; the bytes are owned.
unsafe impl Send for Outgoing {}

impl Shared {
    fn touch(&self) {
        self.last_activity.store(self.epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    fn pause(&self) -> Duration {
        let idle = self.epoch.elapsed().saturating_sub(Duration::from_nanos(self.last_activity.load(Ordering::Relaxed)));
        (idle / 4).clamp(SHORTEST_PAUSE, LONGEST_PAUSE)
    }

    /// Tests pending sends, forgets finished ones, and says how many are left.
    fn complete_sends(&self) -> usize {
        let mut outgoing = self.outgoing.lock().expect("outgoing sends");
        outgoing.retain_mut(|send| {
            let mut done = 0;
            // SAFETY: the request came from MPI_Isend and is tested until it completes, once.
            unsafe { ffi::MPI_Test(&mut send.request, &mut done, ffi::RSMPI_STATUS_IGNORE) };
            done == 0
        });
        outgoing.len()
    }

    fn wake_receiver(&self) {
        if let Some(thread) = self.receiver.get() {
            thread.unpark();
        }
    }
}

impl MpiTransport {
    /// Starts this rank's receiver thread. MPI must be initialized with `Threading::Multiple`.
    pub fn start() -> MpiTransport {
        let world = SimpleCommunicator::world();
        let (senders, inboxes): (Vec<Sender<Delivery>>, Vec<Receiver<Delivery>>) =
            Endpoint::ALL.iter().map(|_| crossbeam_channel::unbounded()).unzip();
        let inboxes: [Receiver<Delivery>; 3] = inboxes.try_into().expect("three endpoints");
        let shared = Arc::new(Shared {
            epoch: Instant::now(),
            last_activity: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            dozing: AtomicBool::new(false),
            receiver: OnceLock::new(),
            outgoing: Mutex::new(Vec::new()),
        });
        let receiver = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("mpi-receiver".into())
                .spawn(move || receive_loop(&shared, &senders))
                .expect("spawn the receiver thread")
        };
        let _ = shared.receiver.set(receiver.thread().clone());
        MpiTransport {
            rank: Rank(world.rank() as u32),
            size: world.size() as u32,
            inboxes,
            shared,
            receiver: Mutex::new(Some(receiver)),
        }
    }

    /// Stops the receiver thread once this rank expects no more messages, after its last sends.
    pub fn close(&self) {
        self.shared.closing.store(true, Ordering::Relaxed);
        self.shared.wake_receiver();
        if let Some(receiver) = self.receiver.lock().expect("receiver handle").take() {
            receiver.join().expect("receiver thread");
        }
    }
}

/// The one place this rank receives from MPI: any source, any tag, sorted by tag to the endpoints.
fn receive_loop(shared: &Shared, senders: &[Sender<Delivery>]) {
    let world = SimpleCommunicator::world();
    loop {
        let sending = shared.complete_sends();
        if sending == 0 && shared.closing.load(Ordering::Relaxed) {
            return;
        }
        let Some(probed) = world.any_process().immediate_matched_probe() else {
            let pause = shared.pause();
            shared.dozing.store(pause >= DOZE, Ordering::Relaxed);
            std::thread::park_timeout(pause);
            shared.dozing.store(false, Ordering::Relaxed);
            continue;
        };
        shared.touch();
        let (bytes, status) = probed.matched_receive_vec::<u8>();
        let (from, tag) = (Rank(status.source_rank() as u32), status.tag());
        let delivery = Message::decode(&bytes)
            .map_err(|e| TransportError::Garbled { from, tag, reason: e.to_string() })
            .and_then(|msg| {
                if msg.tag() == tag {
                    Ok(msg)
                } else {
                    Err(TransportError::Garbled { from, tag, reason: format!("a {:?} under the wrong tag", msg) })
                }
            });
        // A garbled message goes to the endpoint its tag names, whose thread reports it.
        let endpoint = Endpoint::ALL.iter().position(|e| e.tags().contains(&tag)).unwrap_or(0);
        let _ = senders[endpoint].send(delivery.map(|msg| Envelope { from, msg }));
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
        // SAFETY: MPI reads `bytes` until the request completes; both are kept together in
        // `outgoing` until then. The heap buffer does not move when the Vec does.
        let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
        unsafe {
            ffi::MPI_Isend(
                bytes.as_ptr().cast(),
                bytes.len() as std::os::raw::c_int,
                ffi::RSMPI_UINT8_T,
                to.0 as std::os::raw::c_int,
                msg.tag(),
                ffi::RSMPI_COMM_WORLD,
                &mut request,
            )
        };
        self.shared.outgoing.lock().expect("outgoing sends").push(Outgoing { request, _bytes: bytes });
        self.shared.touch();
        if self.shared.dozing.load(Ordering::Relaxed) {
            self.shared.wake_receiver();
        }
        Ok(())
    }

    fn recv(&self, endpoint: Endpoint, timeout: Option<Duration>) -> Result<Option<Envelope>, TransportError> {
        take(&self.inboxes[endpoint.index()], timeout, self.rank)?.transpose()
    }
}
