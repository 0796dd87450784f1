//! A peer rank: registers its input with the tracker, then runs a download thread and an upload
//! thread until the tracker says stop.

pub mod download;
pub mod forward;
pub mod interest;
pub mod order;
pub mod store;
pub mod upload;
pub mod view;

use crate::protocol::error::{Breach, RunError};
use crate::protocol::events::{process_cpu_us, Clock, Event, EventSink};
use crate::protocol::ids::{FileId, Rank};
use crate::protocol::message::{Endpoint, Message, Registration};
use crate::protocol::strategy::{PeerChoice, PieceOrder};
use crate::protocol::transport::start_lead;
use crate::protocol::transport::Transport;
use crate::scenario::fault::instant_after_start;
use crate::scenario::input::{input_path, read_peer_input, InputError, PeerInput};
use crate::scenario::output::check_writable;
use crate::scenario::settings::Settings;
use crossbeam_channel::Sender;
use download::Downloader;
use forward::Forwarder;
use interest::{Interests, Requesters};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::ChunkStore;
use upload::Uploader;

/// How long a named request may go unanswered before it is asked of another member: a second,
/// plus twice the time a chunk could wait in the longest queue (each other peer's requests
/// there, one per slot).
pub fn request_timeout(chunk_time: Duration, peers: u32) -> Duration {
    Duration::from_secs(1) + chunk_time * 2 * peers
}

/// How long an uploader lets a request wait before it goes first: its requester's timeout less
/// a chunk time for each other peer's request ahead of it, and 0.2 s for the messages' trips.
/// Any earlier gives up least-sent-first wherever requests queue long: at half the timeout the
/// sequential order ran 15% slower on a 16-peer flash crowd, at a chunk time per peer 2 to 3
/// times slower.
pub fn patience(chunk_time: Duration, peers: u32) -> Duration {
    request_timeout(chunk_time, peers) - chunk_time * peers - Duration::from_millis(200)
}

/// Whether chunks go to the first member with a free upload slot (`--peer-choice first-free`),
/// which needs a chunk time: without one, every slot is always free.
pub fn first_free(config: &Settings) -> bool {
    config.strategy.peers == PeerChoice::FirstFree && !config.chunk_time().is_zero()
}

/// How long a promised upload slot waits for its named request beyond two chunk times: the
/// round trip of the answer and the request, with room for a busy machine.
const PROMISE_SLACK: Duration = Duration::from_millis(5);

pub fn run_peer<T: Transport>(transport: Arc<T>, config: &Settings) -> Result<(), RunError> {
    let me = transport.rank();
    let path = input_path(&config.inputs, me.0);
    let shown = path.display().to_string();
    let input = read_peer_input(&path).and_then(|input| {
        check_writable(&config.out).map_err(|p| InputError::new(config.out.display().to_string(), None, p.to_string()))?;
        Ok(input)
    });
    // Every peer registers, even with a broken input, so the tracker can stop the whole run.
    let registration = Message::Register(Registration { path: shown, input });
    transport.send(Rank::TRACKER, &registration)?;
    let Message::Register(Registration { input, .. }) = registration else { unreachable!("built above") };

    let envelope = transport.recv(Endpoint::Download, None)?.expect("no timeout was set");
    // MPI's start-up and the wait for the start are not the run's work.
    let cpu_at_start = process_cpu_us();
    let (catalog, epoch_us, capacities, faults) = match envelope.msg {
        Message::Start { catalog, epoch_us, capacities, faults } if capacities.len() + 1 == transport.size() as usize => {
            (catalog, epoch_us, capacities, faults)
        }
        Message::Abort => return Err(RunError::Aborted),
        other => return Err(RunError::Protocol(Breach(format!("expected the tracker's start, got {other:?}")))),
    };
    let input = input.map_err(|e| RunError::Protocol(Breach(format!("the tracker started a run despite {e}"))))?;
    // The run starts a little after the message (see `start_lead`); a clock behind the
    // tracker's must not hold this peer back longer than that.
    let start = instant_after_start(epoch_us, 0).min(Instant::now() + start_lead(&*transport));
    let (store, owned, wanted) = prepare(&catalog, input)?;
    let super_seeds = if config.strategy.pieces == PieceOrder::Rarest { owned } else { Vec::new() };

    let store = Arc::new(store);
    let leave_at = faults.leave_of(me).map(|at_ms| instant_after_start(epoch_us, at_ms));
    let corrupt = faults.corruption_of(me).map(|p| (p, SmallRng::seed_from_u64(config.strategy.seed ^ u64::from(me.0))));
    let events = Arc::new(Forwarder::start(transport.clone(), Clock::since(epoch_us)));
    let upload_queue = Arc::new(AtomicU32::new(0));
    // First-free with a chunk time: an interest waits for a free upload slot too (see `interest`).
    let interests = Arc::new(match first_free(config) {
        false => Interests::default(),
        true => {
            // An owner super-seeding puts a new chunk into the swarm with every upload, on every
            // schedule's critical path: one named request waits ready for its next slot, so the
            // slot never idles for a round trip. The chunk is chosen when the transfer starts.
            // (Its uploads of files it downloaded itself get the place too.)
            let slots = capacities[me.peer_index()].upload_slots as usize;
            let (hold, patience) =
                (config.chunk_time() * 2 + PROMISE_SLACK, patience(config.chunk_time(), capacities.len() as u32));
            let seed = config.strategy.seed ^ (u64::from(me.0) << 32);
            Interests::gated(slots, usize::from(!super_seeds.is_empty()), hold, patience, seed)
        }
    });
    let requesters = Arc::new(Requesters::default());
    // Each thread reports here when it ends; the first error ends the peer at once, without
    // waiting for the other thread, which may be waiting for a message that will never come.
    let (finished, outcomes) = crossbeam_channel::bounded(2);
    {
        let (transport, store, events, queue) = (transport.clone(), store.clone(), events.clone(), upload_queue.clone());
        let (interests, requesters) = (interests.clone(), requesters.clone());
        let (chunk_time, slots) = (config.chunk_time(), capacities[me.peer_index()].upload_slots as usize);
        spawn("upload", finished.clone(), move || {
            let (transport, store, events, queue) = (&*transport, &*store, &*events, &*queue);
            let (interests, requesters) = (&*interests, &*requesters);
            let uploader = Uploader {
                transport,
                store,
                chunk_time,
                slots,
                events,
                queue,
                interests,
                requesters,
                super_seeds,
                leave_at,
                corrupt,
            };
            uploader.serve()
        });
    }
    {
        let (transport, config, events) = (transport.clone(), config.clone(), events.clone());
        spawn("download", finished, move || {
            let downloader = Downloader {
                transport: &*transport,
                store: &store,
                config: &config,
                catalog: &catalog,
                capacities: &capacities,
                events: &*events,
                upload_queue: &upload_queue,
                interests: &interests,
                requesters: &requesters,
                leave_at,
                silent: Default::default(),
                interests_sent: Default::default(),
                withdrawals_sent: Default::default(),
            };
            // Everything is ready by then, so that all peers' first requests go out together.
            std::thread::sleep(start.saturating_duration_since(Instant::now()));
            transport.expect_messages();
            // A peer that leaves says so from its upload thread, which leaves even when done.
            if !downloader.run(&wanted)? {
                transport.send(Rank::TRACKER, &Message::PeerDone)?;
            }
            Ok(())
        });
    }
    for _ in 0..2 {
        outcomes.recv().expect("peer threads report how they ended")?;
    }
    // Both threads are done, the upload thread after the tracker's stop: no event is left to come.
    if transport.is_own_process() {
        events.emit(Event::CpuUsed { rank: me, micros: process_cpu_us().saturating_sub(cpu_at_start) });
    }
    events.finish()
}

fn spawn(name: &str, finished: Sender<Result<(), RunError>>, work: impl FnOnce() -> Result<(), RunError> + Send + 'static) {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _ = finished.send(work());
        })
        .expect("spawn a thread");
}

/// The store seeded with this peer's own files, and its owned and wanted files as catalog ids.
fn prepare(catalog: &[String], input: PeerInput) -> Result<(ChunkStore, Vec<FileId>, Vec<FileId>), RunError> {
    let id = |name: &str| {
        catalog
            .iter()
            .position(|n| n == name)
            .map(|i| FileId(i as u32))
            .ok_or_else(|| RunError::Protocol(Breach(format!("'{name}' is missing from the tracker's catalog"))))
    };
    let owned = input.owned.into_iter().map(|o| Ok((id(&o.name)?, o.hashes))).collect::<Result<Vec<_>, RunError>>()?;
    let wanted = input.wanted.iter().map(|w| id(&w.name)).collect::<Result<Vec<_>, _>>()?;
    let owned_ids = owned.iter().map(|(file, _)| *file).collect();
    Ok((ChunkStore::new(catalog.len(), owned), owned_ids, wanted))
}
