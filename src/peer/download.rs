//! A peer's download thread: fetches each wanted file chunk by chunk from the swarm, reports to
//! the tracker every few chunks, and writes each file when it is complete.
//!
//! Chunks are requested in the strategy's order, several at a time ([`IN_FLIGHT`]), each from a
//! member the strategy's peer choice picks; a NACK or a wrong hash sends the chunk to another
//! member. In the end game, the last chunks on their way are also asked of a second member. The
//! thread reacts to whatever arrives (chunk replies and the tracker's swarm updates interleave),
//! so it never polls.

use crate::capacity::Capacity;
use crate::events::{Event, EventSink};
use crate::ids::{ChunkIdx, FileId, Rank};
use crate::message::{Endpoint, Message, Received};
use crate::output::{output_file_name, write_atomically};
use crate::peer::order::ChunkOrder;
use crate::peer::store::ChunkStore;
use crate::peer::view::{Pick, SwarmView};
use fixedbitset::FixedBitSet;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::sync::atomic::{AtomicU32, Ordering};
use crate::run::{RunConfig, RunError};
use crate::transport::Transport;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// Chunk requests a downloader keeps outstanding: enough to hide the round trip to an uploader,
/// few enough that one downloader cannot flood the swarm.
pub const IN_FLIGHT: usize = 8;
/// Chunks a downloader looks at, at most, for one whose holders are not all busy with its
/// requests, before waiting for an answer.
const DEFER_SCAN: usize = 64;
/// The longest a downloader waits before asking the tracker again when nobody holds a chunk.
const LONGEST_BACKOFF: Duration = Duration::from_millis(100);
/// Swarm updates a downloader asks for in a row, without getting a chunk, before it gives up
/// (about 4 s of backing off).
const FRUITLESS_UPDATES: u32 = 50;

pub struct Downloader<'a, T: Transport> {
    pub transport: &'a T,
    pub store: &'a ChunkStore,
    pub config: &'a RunConfig,
    pub catalog: &'a [String],
    /// Every peer's capacity, rank 1 first.
    pub capacities: &'a [Capacity],
    pub events: &'a dyn EventSink,
    /// This peer's upload queue, reported with each update.
    pub upload_queue: &'a AtomicU32,
}

/// One file's download in progress.
struct Fetch {
    file: FileId,
    chunks: usize,
    view: SwarmView,
    /// Chunks never requested yet, in the strategy's order.
    order: ChunkOrder,
    /// The random choices of this peer for this file.
    rng: SmallRng,
    /// Chunks held (verified).
    got: FixedBitSet,
    /// Chunks to request again: their last source said NACK or sent a wrong hash.
    retry: VecDeque<ChunkIdx>,
    /// Chunks no member is known to hold, until the tracker's next swarm.
    waiting: Vec<ChunkIdx>,
    in_flight: Vec<(ChunkIdx, Rank)>,
    /// Members that failed a chunk since the last swarm update.
    tried: HashMap<ChunkIdx, Vec<Rank>>,
    held: usize,
    /// Chunks received since the last report to the tracker.
    unreported: Vec<Received>,
    /// Updates sent whose swarm has not come back yet.
    updating: usize,
    /// How long to wait before the next forced update, once one did not help.
    backoff: Option<Duration>,
    /// Forced updates since the last chunk arrived.
    fruitless: u32,
}

impl<T: Transport> Downloader<'_, T> {
    pub fn run(&self, wanted: &[FileId]) -> Result<(), RunError> {
        for &file in wanted {
            self.fetch_file(file)?;
        }
        Ok(())
    }

    fn me(&self) -> Rank {
        self.transport.rank()
    }

    /// Requests this peer keeps out at once: its download limit, if it has one.
    fn window(&self) -> usize {
        self.capacities[self.me().peer_index()].download_limit.map_or(IN_FLIGHT, |limit| limit as usize)
    }

    /// Requests this peer keeps at `uploader` at once. With a chunk time, no more than its upload
    /// slots: more would only wait in its queue while other members sit idle.
    fn per_uploader(&self, uploader: Rank) -> usize {
        match self.config.chunk_time.is_zero() {
            true => self.window(),
            false => self.capacities[uploader.peer_index()].upload_slots as usize,
        }
    }

    fn fetch_file(&self, file: FileId) -> Result<(), RunError> {
        self.transport.send(Rank::TRACKER, &Message::FileRequest { file })?;
        let envelope = self.receive()?;
        let (hashes, swarm) = match envelope.msg {
            Message::FileInfo { file: f, hashes, swarm } if f == file => (hashes, swarm),
            other => return Err(unexpected("the file's hashes and swarm", other, envelope.from)),
        };
        let chunks = hashes.len();
        self.store.begin(file, hashes);
        let strategy = self.config.strategy;
        // Every peer and file draws its own random choices, all from the run's seed.
        let mut rng = SmallRng::seed_from_u64(strategy.seed ^ (u64::from(self.me().0) << 32) ^ u64::from(file.0));
        let view = SwarmView::new(self.me(), swarm);
        let mut order = ChunkOrder::new(chunks, strategy.pieces, &mut rng);
        order.rerank(&view.holders(chunks));
        let mut fetch = Fetch {
            file,
            chunks,
            view,
            order,
            rng,
            got: FixedBitSet::with_capacity(chunks),
            retry: VecDeque::new(),
            waiting: Vec::new(),
            in_flight: Vec::new(),
            tried: HashMap::new(),
            held: 0,
            unreported: Vec::new(),
            updating: 0,
            backoff: None,
            fruitless: 0,
        };
        // Also waits for duplicate answers of the end game, so none is left for the next file.
        while fetch.held < chunks || fetch.updating > 0 || !fetch.in_flight.is_empty() {
            self.request_more(&mut fetch)?;
            if fetch.in_flight.is_empty() && fetch.updating == 0 && fetch.held < chunks {
                // Every missing chunk waits for a holder: ask the tracker again, after a pause
                // if asking did not help last time.
                if fetch.fruitless == FRUITLESS_UPDATES {
                    let chunk = fetch.waiting.iter().chain(&fetch.retry).min().map_or(0, |c| c.0);
                    return Err(RunError::Unavailable(format!(
                        "peer {} could not get chunk {chunk} of '{}': no member served it after {FRUITLESS_UPDATES} swarm updates",
                        self.me(),
                        self.catalog[file.index()]
                    )));
                }
                fetch.fruitless += 1;
                if let Some(pause) = fetch.backoff {
                    std::thread::sleep(pause);
                }
                fetch.backoff = Some(fetch.backoff.map_or(Duration::from_millis(1), |b| (b * 2).min(LONGEST_BACKOFF)));
                self.update(&mut fetch)?;
            }
            let envelope = self.receive()?;
            match envelope.msg {
                Message::ChunkReply { file: f, chunk, hash } if f == file => {
                    self.on_reply(&mut fetch, envelope.from, chunk, hash)?
                }
                Message::SwarmReply { file: f, swarm } if f == file && fetch.updating > 0 => {
                    fetch.updating -= 1;
                    fetch.view.refresh(swarm);
                    fetch.order.rerank(&fetch.view.holders(chunks));
                    fetch.tried.clear();
                    fetch.retry.extend(fetch.waiting.drain(..));
                }
                other => return Err(unexpected("a chunk reply or a swarm update", other, envelope.from)),
            }
        }

        let hashes = self.store.finish(file).map_err(|e| RunError::Protocol(e.to_string()))?;
        let name = output_file_name(self.me().0, &self.catalog[file.index()]);
        write_atomically(&self.config.out, &name, &hashes)
            .map_err(|e| RunError::Output(format!("{}: cannot write: {e}", self.config.out.join(&name).display())))?;
        let received = std::mem::take(&mut fetch.unreported);
        self.transport.send(Rank::TRACKER, &Message::FileComplete { file, received })?;
        Ok(())
    }

    /// Requests chunks until the window is full or none is left to ask for. A chunk whose
    /// holders all have as many of this peer's requests as they should is put back for later,
    /// and the next chunk tried instead.
    fn request_more(&self, fetch: &mut Fetch) -> Result<(), RunError> {
        let choice = self.config.strategy.peers;
        let mut deferred = Vec::new();
        while fetch.in_flight.len() < self.window() && deferred.len() < DEFER_SCAN {
            let Some(chunk) = fetch.retry.pop_front().or_else(|| fetch.order.take_next()) else {
                break;
            };
            let tried = fetch.tried.get(&chunk).map_or(&[][..], Vec::as_slice);
            let busy = self.saturated(&fetch.in_flight);
            match fetch.view.pick(chunk, tried, &busy, choice, &mut fetch.rng) {
                Pick::Chosen(uploader) => self.request(fetch, chunk, uploader)?,
                Pick::Busy => deferred.push(chunk),
                Pick::Nobody => fetch.waiting.push(chunk),
            }
        }
        let exhausted = deferred.is_empty() && fetch.retry.is_empty() && fetch.order.is_empty();
        // Deferred chunks go first next time, in the order they came.
        for chunk in deferred.into_iter().rev() {
            fetch.retry.push_front(chunk);
        }
        if exhausted {
            self.end_game(fetch)?;
        }
        Ok(())
    }

    /// With every missing chunk asked for once, asks a second member for those still on their
    /// way, one copy each at most, within the window.
    fn end_game(&self, fetch: &mut Fetch) -> Result<(), RunError> {
        if !self.config.strategy.end_game || !fetch.waiting.is_empty() {
            return Ok(());
        }
        let alone: Vec<ChunkIdx> = fetch
            .in_flight
            .iter()
            .map(|&(chunk, _)| chunk)
            .filter(|&chunk| !fetch.got.contains(chunk.index()))
            .filter(|&chunk| fetch.in_flight.iter().filter(|&&(c, _)| c == chunk).count() == 1)
            .collect();
        for chunk in alone {
            if fetch.in_flight.len() >= self.window() {
                break;
            }
            let mut asked: Vec<Rank> = fetch.in_flight.iter().filter(|&&(c, _)| c == chunk).map(|&(_, up)| up).collect();
            asked.extend(fetch.tried.get(&chunk).into_iter().flatten());
            if let Pick::Chosen(uploader) = fetch.view.pick(chunk, &asked, &[], self.config.strategy.peers, &mut fetch.rng) {
                self.request(fetch, chunk, uploader)?;
            }
        }
        Ok(())
    }

    fn request(&self, fetch: &mut Fetch, chunk: ChunkIdx, uploader: Rank) -> Result<(), RunError> {
        fetch.in_flight.push((chunk, uploader));
        let (me, file) = (self.me(), fetch.file);
        self.events.emit(Event::ChunkRequested { downloader: me, uploader, file, chunk });
        self.transport.send(uploader, &Message::ChunkRequest { file, chunk })?;
        Ok(())
    }

    fn on_reply(&self, fetch: &mut Fetch, from: Rank, chunk: ChunkIdx, hash: Option<crate::hash::ChunkHash>) -> Result<(), RunError> {
        let (me, file) = (self.me(), fetch.file);
        let Some(at) = fetch.in_flight.iter().position(|&(c, up)| c == chunk && up == from) else {
            return Err(RunError::Protocol(format!("rank {from} answered for chunk {} it was not asked for", chunk.0)));
        };
        fetch.in_flight.swap_remove(at);
        if fetch.got.contains(chunk.index()) {
            // The end game's second copy, or its NACK: the chunk is here already.
            if hash.is_some() {
                self.events.emit(Event::ChunkDuplicate { downloader: me, uploader: from, file, chunk });
            }
            return Ok(());
        }
        match hash {
            Some(hash) if self.store.accept(file, chunk, hash).is_ok() => {
                self.events.emit(Event::ChunkReceived { downloader: me, uploader: from, file, chunk });
                fetch.tried.remove(&chunk);
                fetch.got.insert(chunk.index());
                fetch.held += 1;
                fetch.backoff = None;
                fetch.fruitless = 0;
                fetch.unreported.push(Received { chunk, from });
                if fetch.unreported.len() >= self.config.update_every && fetch.held < fetch.chunks {
                    self.update(fetch)?;
                }
                return Ok(());
            }
            Some(_) => self.events.emit(Event::ChunkRejected { downloader: me, uploader: from, file, chunk }),
            None => self.events.emit(Event::ChunkNacked { downloader: me, uploader: from, file, chunk }),
        }
        fetch.tried.entry(chunk).or_default().push(from);
        // A copy still on its way from another member may yet bring it.
        if !fetch.in_flight.iter().any(|&(c, _)| c == chunk) {
            fetch.retry.push_back(chunk);
        }
        Ok(())
    }

    /// Reports the chunks received since the last report; the tracker answers with a fresh swarm.
    fn update(&self, fetch: &mut Fetch) -> Result<(), RunError> {
        let received = std::mem::take(&mut fetch.unreported);
        let (peer, file, chunks) = (self.me(), fetch.file, received.len() as u32);
        self.events.emit(Event::SegmentReported { peer, file, chunks });
        let queue = self.upload_queue.load(Ordering::Relaxed);
        self.transport.send(Rank::TRACKER, &Message::Update { file: fetch.file, received, queue })?;
        fetch.updating += 1;
        Ok(())
    }

    fn receive(&self) -> Result<crate::message::Envelope, RunError> {
        Ok(self.transport.recv(Endpoint::Download, None)?.expect("no timeout was set"))
    }

    /// Uploaders that already have as many of this downloader's requests as they should.
    fn saturated(&self, in_flight: &[(ChunkIdx, Rank)]) -> Vec<Rank> {
        let mut counts: HashMap<Rank, usize> = HashMap::new();
        for &(_, uploader) in in_flight {
            *counts.entry(uploader).or_default() += 1;
        }
        counts.into_iter().filter(|&(uploader, n)| n >= self.per_uploader(uploader)).map(|(uploader, _)| uploader).collect()
    }
}

fn unexpected(what: &str, got: Message, from: Rank) -> RunError {
    RunError::Protocol(format!("expected {what}, got {got:?} from rank {from}"))
}
