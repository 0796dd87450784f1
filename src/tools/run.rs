//! Running one rank, whatever carries its messages, and running a whole swarm in-process.

use crate::analysis::collector::collect;
use crate::analysis::model::SwarmModel;
use crate::protocol::error::{Refusal, RunError};
use crate::protocol::events::Feed;
use crate::protocol::ids::Rank;
use crate::protocol::peer::run_peer;
use crate::protocol::tracker::run_tracker;
use crate::protocol::transport::Transport;
use crate::record::log::{LogError, Recorder};
use crate::scenario::settings::Settings;
use crate::transport::local::{local_network, LocalTransport};
use crossbeam_channel::Receiver;
use std::sync::Arc;

/// Runs this rank's part: the tracker on rank 0, a peer elsewhere.
/// On rank 0, `consume` reads the run's feed (header, then events) on this thread while the
/// tracker runs on another, and its result is returned once both are done.
/// Rank 0's `refusal` of its own options stops the run once every peer registered.
pub fn run_rank<T: Transport, R>(
    transport: Arc<T>,
    settings: &Settings,
    refusal: Option<Refusal>,
    consume: impl FnOnce(Receiver<Feed>) -> R,
) -> Result<Option<R>, RunError> {
    if transport.rank() != Rank::TRACKER {
        return run_peer(transport, settings).map(|()| None);
    }
    let (feed, watch) = crossbeam_channel::unbounded();
    std::thread::scope(|scope| {
        let tracker = std::thread::Builder::new()
            .name("tracker".into())
            .spawn_scoped(scope, || run_tracker(&*transport, settings, refusal, feed))
            .expect("spawn the tracker thread");
        let consumed = consume(watch);
        tracker.join().expect("tracker thread")?;
        Ok(Some(consumed))
    })
}

/// How a swarm run in-process fails: a rank's error, or the log's.
#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Log(#[from] LogError),
}

/// Runs tracker and peers as threads of this process, over channels: the same code as under
/// `mpirun`, for tests. `ranks` counts the tracker. A rank that fails ends the run for all, as
/// `MPI_Abort` does, and its error is the one returned.
pub fn run_in_process(ranks: u32, settings: &Settings) -> Result<SwarmModel, SwarmError> {
    run_in_process_with(ranks, settings, |transport| transport, None)
}

/// [`run_in_process`] with each rank's transport wrapped by `wrap`, to inject faults, and the
/// events recorded to `recorder`.
pub fn run_in_process_with<T: Transport>(
    ranks: u32,
    settings: &Settings,
    wrap: impl Fn(LocalTransport) -> T + Sync,
    recorder: Option<Recorder>,
) -> Result<SwarmModel, SwarmError> {
    let wrap = &wrap;
    let recorder = std::sync::Mutex::new(recorder);
    let recorder = &recorder;
    type Collected = (Option<SwarmModel>, Option<LogError>);
    let mut results: Vec<Result<Option<Collected>, RunError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = local_network(ranks)
            .into_iter()
            .map(|transport| {
                scope.spawn(move || {
                    let aborter = transport.aborter();
                    let consume = |feed| collect(&feed, recorder.lock().expect("recorder").take());
                    let result = run_rank(Arc::new(wrap(transport)), settings, None, consume);
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
        Some(problem) => Err(problem.into()),
        None => Ok(model.expect("rank 0 saw the run start")),
    }
}
