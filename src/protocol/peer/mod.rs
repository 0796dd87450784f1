//! A peer rank: registers its input with the tracker, then runs a download thread and an upload
//! thread until the tracker says stop.

pub mod choke;
pub mod download;
pub mod fetch;
pub mod forward;
pub mod interest;
pub mod order;
pub mod seeds;
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
use crate::scenario::capacity::Capacity;
use crate::scenario::fault::instant_after_start;
use crate::scenario::input::{input_path, read_peer_input, InputError, PeerInput};
use crate::scenario::output::check_writable;
use crate::scenario::settings::Settings;
use choke::{Choker, Reciprocity};
use crossbeam_channel::Sender;
use download::Downloader;
use fetch::Peer;
use forward::Forwarder;
use interest::{Interests, Requesters};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use seeds::Seeds;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::ChunkStore;
use upload::{Choking, Uploader};

/// How long a named request may go unanswered before it is asked of another member: a second,
/// plus twice the time a chunk could wait in the longest queue (each other peer's requests
/// there, one per slot).
pub fn request_timeout(chunk_time: Duration, peers: u32) -> Duration {
    Duration::from_secs(1) + chunk_time * 2 * peers
}

/// How long an uploader lets a request wait before it goes first: its requester's timeout less
/// a chunk time for each other peer's request ahead of it, and 0.2 s for the messages' trips.
/// Any earlier gives up least-sent-first wherever requests queue long (docs/performance.md,
/// "Figures behind the constants").
pub fn patience(chunk_time: Duration, peers: u32) -> Duration {
    request_timeout(chunk_time, peers) - chunk_time * peers - Duration::from_millis(200)
}

/// Whether chunks go to the first member with a free upload slot (`--peer-choice first-free`),
/// which needs a chunk time: without one, every slot is always free.
pub fn first_free(settings: &Settings) -> bool {
    settings.strategy.peers == PeerChoice::FirstFree && !settings.chunk_time().is_zero()
}

/// Whether transfers wait on answers to interests: first-free's promised slots, tit-for-tat's
/// unchokes. Other choices ask holders by name, and their requests wait in the uploaders' queues.
pub fn waits_on_answers(settings: &Settings) -> bool {
    first_free(settings) || settings.strategy.peers == PeerChoice::TitForTat
}

/// How long a promised upload slot waits for its named request beyond two chunk times: the
/// round trip of the answer and the request, with room for a busy machine.
const PROMISE_SLACK: Duration = Duration::from_millis(5);

pub fn run_peer<T: Transport>(transport: Arc<T>, settings: &Settings) -> Result<(), RunError> {
    let me = transport.rank();
    let input = register(&*transport, settings)?;
    let start = await_start(&*transport)?;
    // MPI's start-up and the wait for the start are not the run's work.
    let cpu_at_start = process_cpu_us();
    let input = input.map_err(|e| RunError::Protocol(Breach(format!("the tracker started a run despite {e}"))))?;
    let (store, owned, wanted) = prepare(&start.catalog, input)?;
    let seeds = Seeds::new(settings.strategy.seed, me);
    let super_seeds = if settings.strategy.pieces == PieceOrder::Rarest { owned } else { Vec::new() };
    let shared = Arc::new(Shared {
        store,
        events: Forwarder::start(transport.clone(), Clock::since(start.epoch_us)),
        upload_queue: AtomicU32::new(0),
        interests: parked_interests(settings, &start.capacities, me, !super_seeds.is_empty(), seeds),
        requesters: Requesters::default(),
        reciprocity: Reciprocity::new(start.capacities.len()),
        start,
    });
    // Each thread reports here when it ends; the first error ends the peer at once, without
    // waiting for the other thread, which may be waiting for a message that will never come.
    let (finished, outcomes) = crossbeam_channel::bounded(2);
    {
        let (transport, shared, settings) = (transport.clone(), shared.clone(), settings.clone());
        spawn("upload", finished.clone(), move || upload(&*transport, &shared, &settings, super_seeds, seeds));
    }
    {
        let (transport, shared, settings) = (transport.clone(), shared.clone(), settings.clone());
        spawn("download", finished, move || download(&*transport, &shared, &settings, seeds, &wanted));
    }
    for _ in 0..2 {
        outcomes.recv().expect("peer threads report how they ended")?;
    }
    // Both threads are done, the upload thread after the tracker's stop: no event is left to come.
    if transport.is_own_process() {
        shared.events.emit(Event::CpuUsed { rank: me, micros: process_cpu_us().saturating_sub(cpu_at_start) });
    }
    shared.events.finish()
}

/// What the tracker's start tells a peer.
struct Start {
    catalog: Vec<String>,
    /// The run's start, in microseconds since the Unix epoch.
    epoch_us: u64,
    /// Every peer's capacity, rank 1 first.
    capacities: Vec<Capacity>,
    /// When this peer begins: a little after the message (see `start_lead`).
    begin: Instant,
    /// When it leaves the run (`--leave`).
    leave_at: Option<Instant>,
    /// How often its uploads carry a wrong hash (`--corrupt`).
    corruption: Option<f64>,
    /// Whether it downloads but never uploads (`--freeride`).
    free_rider: bool,
}

/// What a peer's upload and download threads share.
struct Shared {
    start: Start,
    store: ChunkStore,
    events: Forwarder,
    upload_queue: AtomicU32,
    interests: Interests,
    requesters: Requesters,
    reciprocity: Reciprocity,
}

/// Reads this peer's input and registers it with the tracker, even a broken one, so the tracker
/// can stop the whole run; the input, or what is wrong with it.
fn register<T: Transport>(transport: &T, settings: &Settings) -> Result<Result<PeerInput, InputError>, RunError> {
    let path = input_path(&settings.inputs, transport.rank().0);
    let input = read_peer_input(&path).and_then(|input| {
        check_writable(&settings.out).map_err(|p| InputError::new(settings.out.display().to_string(), None, p.to_string()))?;
        Ok(input)
    });
    let registration = Message::Register(Registration { path: path.display().to_string(), input });
    transport.send(Rank::TRACKER, &registration)?;
    let Message::Register(Registration { input, .. }) = registration else { unreachable!("built above") };
    Ok(input)
}

/// Waits for the tracker's start, once every peer registered (or for its abort).
fn await_start<T: Transport>(transport: &T) -> Result<Start, RunError> {
    let envelope = transport.recv(Endpoint::Download, None)?.expect("no timeout was set");
    match envelope.msg {
        Message::Start { catalog, epoch_us, capacities, faults } if capacities.len() + 1 == transport.size() as usize => {
            let me = transport.rank();
            // The run starts a little after the message (see `start_lead`); a clock behind the
            // tracker's must not hold this peer back longer than that.
            let begin = instant_after_start(epoch_us, 0).min(Instant::now() + start_lead(transport));
            let leave_at = faults.leave_of(me).map(|at_ms| instant_after_start(epoch_us, at_ms));
            let (corruption, free_rider) = (faults.corruption_of(me), faults.free_rides(me));
            Ok(Start { catalog, epoch_us, capacities, begin, leave_at, corruption, free_rider })
        }
        Message::Abort => Err(RunError::Aborted),
        other => Err(RunError::Protocol(Breach(format!("expected the tracker's start, got {other:?}")))),
    }
}

/// The interests parked at this peer's upload thread. With first-free and a chunk time, each
/// waits for a free upload slot too (see `interest`).
fn parked_interests(settings: &Settings, capacities: &[Capacity], me: Rank, super_seeding: bool, seeds: Seeds) -> Interests {
    if !first_free(settings) {
        return Interests::default();
    }
    // An owner super-seeding puts a new chunk into the swarm with every upload, on every
    // schedule's critical path: one named request waits ready for its next slot, so the slot
    // never idles for a round trip. The chunk is chosen when the transfer starts. (Its uploads
    // of files it downloaded itself get the place too.)
    let slots = capacities[me.peer_index()].upload_slots as usize;
    let (hold, patience) = (settings.chunk_time() * 2 + PROMISE_SLACK, patience(settings.chunk_time(), capacities.len() as u32));
    Interests::gated(slots, usize::from(super_seeding), hold, patience, seeds.slots())
}

/// The upload thread: serves chunks until the tracker's stop.
fn upload<T: Transport>(
    transport: &T,
    shared: &Shared,
    settings: &Settings,
    super_seeds: Vec<FileId>,
    seeds: Seeds,
) -> Result<(), RunError> {
    let me = transport.rank();
    let start = &shared.start;
    let slots = start.capacities[me.peer_index()].upload_slots as usize;
    // An uploader with more slots than unchokes unchokes as many as its slots serve.
    let regular = (settings.strategy.unchoke as usize).max(slots.saturating_sub(1));
    let choker = match (start.free_rider, settings.strategy.peers) {
        (true, _) => Some(Choker::free_rider()),
        (false, PeerChoice::TitForTat) => Some(Choker::tit_for_tat(regular, seeds.choking())),
        (false, _) => None,
    };
    let window = choke::window(settings.chunk_time());
    let choking = choker.map(|choker| Choking::new(choker, window, &shared.reciprocity, start.capacities.len()));
    let uploader = Uploader {
        transport,
        store: &shared.store,
        chunk_time: settings.chunk_time(),
        slots,
        events: &shared.events,
        queue: &shared.upload_queue,
        interests: &shared.interests,
        requesters: &shared.requesters,
        super_seeds,
        leave_at: shared.start.leave_at,
        corrupt: shared.start.corruption.map(|p| (p, SmallRng::seed_from_u64(seeds.corruption()))),
        choking,
    };
    uploader.serve()
}

/// The download thread: from the run's start, fetches the wanted files, then says this peer is
/// done.
fn download<T: Transport>(
    transport: &T,
    shared: &Shared,
    settings: &Settings,
    seeds: Seeds,
    wanted: &[FileId],
) -> Result<(), RunError> {
    let start = &shared.start;
    let peer = Peer {
        me: transport.rank(),
        settings,
        capacities: &start.capacities,
        store: &shared.store,
        events: &shared.events,
        upload_queue: &shared.upload_queue,
        interests: &shared.interests,
        requesters: &shared.requesters,
        reciprocity: &shared.reciprocity,
        leave_at: start.leave_at,
        seeds,
    };
    let downloader = Downloader { transport, peer, catalog: &start.catalog };
    // Everything is ready by then, so that all peers' first requests go out together.
    std::thread::sleep(start.begin.saturating_duration_since(Instant::now()));
    transport.expect_messages();
    // A peer that leaves says so from its upload thread, which leaves even when done.
    let left = downloader.run(wanted)?;
    shared.reciprocity.done_downloading();
    if !left {
        transport.send(Rank::TRACKER, &Message::PeerDone { emitted: shared.events.emitted() })?;
    }
    Ok(())
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
