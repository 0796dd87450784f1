//! Running one rank, whatever carries its messages, and running a whole swarm in-process.

use crate::collector::collect;
use crate::events::Feed;
use crate::fault::Faults;
use crate::ids::Rank;
use crate::log::Recorder;
use crate::model::SwarmModel;
use crate::peer::run_peer;
use crate::strategy::Strategy;
use crate::tracker::run_tracker;
use crate::transport::local::{local_network, LocalTransport};
use crate::transport::mpi::Pauses;
use crate::transport::{Transport, TransportError};
use crossbeam_channel::Receiver;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Chunks a peer downloads between two reports to the tracker, by default. Peers learn who holds
/// what from each other's answers, so the tracker's swarm is needed mostly for membership and
/// busyness, and a report every 25 chunks keeps its traffic near 0.1 message per chunk.
pub const UPDATE_EVERY: usize = 25;

/// How far apart a rank's receiver looks for messages.
///
/// The longest pause: a quarter of a chunk time, kept within 2 to 20 ms, so an idle rank looks at
/// least four times a round for chunk times of 8 to 80 ms. With no chunk time there are no rounds
/// to keep: 20 ms. Why: with 20 ms always, a downloader that had waited many rounds for its first
/// chunk had gone quiet, and could notice the answer promising it a slot two rounds late at 10 ms
/// a chunk, the slot idle meanwhile (64 peers, k = 100, two batches of 8 alternating runs: medians
/// 1.10 and 1.10 times the bound against 1.11 and 1.13, the worst run 1.12 against 1.16).
///
/// The shortest, how often a busy rank looks: a twentieth of a chunk time, kept within 0.2 to 2
/// ms. A message then waits a fortieth of a chunk time on average, which the slots first-free
/// promises half a chunk time ahead, and the requests queued at uploaders, hide. It takes about a
/// quarter less CPU than 0.2 ms whatever the chunk time, for the same makespans (16 peers, k =
/// 100, 10 ms a chunk, first-free, five alternating runs: 355-363 µs of CPU a chunk against
/// 486-496, medians 1.049 and 1.048 times the bound); a tenth of a chunk time took about half the
/// CPU but made the swarm slower (median 1.059 against 1.048, in another five-run trial).
pub fn pauses(chunk_time: Duration) -> Pauses {
    let within = |d: Duration, low: u64, high: u64| d.clamp(Duration::from_micros(low), Duration::from_micros(high));
    match chunk_time.is_zero() {
        true => Pauses { shortest: Duration::from_micros(200), longest: Duration::from_millis(20) },
        false => Pauses { shortest: within(chunk_time / 20, 200, 2_000), longest: within(chunk_time / 4, 2_000, 20_000) },
    }
}

/// How far ahead of the tracker's start message the run's start lies: as long as a rank may take
/// to notice a message, and 5 ms for a busy machine. Every peer then has the message before the
/// run begins, and all begin together, so a makespan measures the swarm rather than how late a
/// dozing rank noticed the start (a 64-peer crowd's first requests had spread over 20 ms, two
/// rounds at 10 ms a chunk).
pub fn start_lead(transport: &impl Transport) -> Duration {
    match transport.notice_within() {
        pause if pause.is_zero() => pause,
        pause => pause + Duration::from_millis(5),
    }
}

#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Where `in<R>.txt` are read.
    pub inputs: PathBuf,
    /// Where `client<R>_<file>` are written.
    pub out: PathBuf,
    /// How long an upload thread takes to serve one chunk.
    pub chunk_time: Duration,
    /// Chunks a peer downloads between two reports to the tracker.
    pub update_every: usize,
    /// Chunks an upload thread serves at once, unless the capacity file says otherwise.
    pub upload_slots: usize,
    /// The capacity file, read by the tracker (see [`crate::capacity`]).
    pub capacities: Option<PathBuf>,
    pub strategy: Strategy,
    /// Peers that leave or send wrong hashes.
    pub faults: Faults,
    /// More of them, from a file read by the tracker (see [`crate::fault`]).
    pub faults_file: Option<PathBuf>,
    /// Each rank reports the CPU time of its process at the end: true under mpirun, where a
    /// process is a rank; in-process it would count the whole process many times.
    pub measure_cpu: bool,
    /// A problem rank 0 found with its own options (say, a log it may not create): reported like
    /// an input error once every peer has registered, so every rank stops cleanly.
    pub setup_error: Option<String>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            inputs: PathBuf::from("."),
            out: PathBuf::from("."),
            chunk_time: Duration::ZERO,
            update_every: UPDATE_EVERY,
            upload_slots: 1,
            capacities: None,
            strategy: Strategy::default(),
            faults: Faults::default(),
            faults_file: None,
            measure_cpu: false,
            setup_error: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The inputs are wrong; rank 0 prints this, every rank stops.
    #[error("{0}")]
    Input(String),
    /// The tracker stopped the run because of an input error it reports itself.
    #[error("stopped by the tracker")]
    Aborted,
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("{0}")]
    Output(String),
    #[error(transparent)]
    Transport(#[from] TransportError),
}

impl RunError {
    /// Whether this rank stopped only because another one did or told it to.
    fn is_consequence(&self) -> bool {
        matches!(self, RunError::Aborted | RunError::Input(_) | RunError::Transport(TransportError::Aborted))
    }
}

/// Runs this rank's part: the tracker on rank 0, a peer elsewhere.
/// On rank 0, `consume` reads the run's feed (header, then events) on this thread while the
/// tracker runs on another, and its result is returned once both are done.
pub fn run_rank<T: Transport, R>(
    transport: Arc<T>,
    config: &RunConfig,
    consume: impl FnOnce(Receiver<Feed>) -> R,
) -> Result<Option<R>, RunError> {
    if transport.rank() != Rank::TRACKER {
        return run_peer(transport, config).map(|()| None);
    }
    let (feed, watch) = crossbeam_channel::unbounded();
    std::thread::scope(|scope| {
        let tracker = std::thread::Builder::new()
            .name("tracker".into())
            .spawn_scoped(scope, || run_tracker(&*transport, config, feed))
            .expect("spawn the tracker thread");
        let consumed = consume(watch);
        tracker.join().expect("tracker thread")?;
        Ok(Some(consumed))
    })
}

/// Runs tracker and peers as threads of this process, over channels: the same code as under
/// `mpirun`, for tests. `ranks` counts the tracker. A rank that fails ends the run for all, as
/// `MPI_Abort` does, and its error is the one returned.
pub fn run_in_process(ranks: u32, config: &RunConfig) -> Result<SwarmModel, RunError> {
    run_in_process_with(ranks, config, |transport| transport, None)
}

/// [`run_in_process`] with each rank's transport wrapped by `wrap`, to inject faults, and the
/// events recorded to `recorder`.
pub fn run_in_process_with<T: Transport>(
    ranks: u32,
    config: &RunConfig,
    wrap: impl Fn(LocalTransport) -> T + Sync,
    recorder: Option<Recorder>,
) -> Result<SwarmModel, RunError> {
    let wrap = &wrap;
    let recorder = std::sync::Mutex::new(recorder);
    let recorder = &recorder;
    type Collected = (Option<SwarmModel>, Option<String>);
    let mut results: Vec<Result<Option<Collected>, RunError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = local_network(ranks)
            .into_iter()
            .map(|transport| {
                scope.spawn(move || {
                    let aborter = transport.aborter();
                    let consume = |feed| collect(&feed, recorder.lock().expect("recorder").take());
                    let result = run_rank(Arc::new(wrap(transport)), config, consume);
                    if matches!(&result, Err(e) if !e.is_consequence()) {
                        aborter.abort_all();
                    }
                    result
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a rank panicked")).collect()
    });
    // The cause, not the ranks that stopped because of it; rank 0's outcome when all went well.
    let cause = results.iter().position(|r| matches!(r, Err(e) if !e.is_consequence())).unwrap_or(0);
    let (model, log_failure) = results.swap_remove(cause)?.expect("rank 0 collects");
    match log_failure {
        Some(problem) => Err(RunError::Output(problem)),
        None => Ok(model.expect("rank 0 saw the run start")),
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
            (0, us(200), ms(20)),
            (1, us(200), ms(2)),
            (10, us(500), us(2_500)),
            (30, us(1_500), us(7_500)),
            (1000, ms(2), ms(20)),
        ];
        for (chunk_ms, shortest, longest) in cases {
            assert_eq!(pauses(ms(chunk_ms)), Pauses { shortest, longest }, "{chunk_ms} ms a chunk");
        }
    }
}
