//! Running one rank, whatever carries its messages, and running a whole swarm in-process.

use crate::events::EventSink;
use crate::peer::run_peer;
use crate::report::Report;
use crate::tracker::run_tracker;
use crate::transport::local::local_network;
use crate::transport::{Transport, TransportError};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            inputs: PathBuf::from("."),
            out: PathBuf::from("."),
            chunk_time: Duration::ZERO,
            update_every: 10,
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

/// Runs this rank's part: the tracker on rank 0 (returning the report), a peer elsewhere.
pub fn run_rank<T: Transport>(
    transport: Arc<T>,
    config: &RunConfig,
    events: &dyn EventSink,
) -> Result<Option<Report>, RunError> {
    if transport.rank().0 == 0 {
        run_tracker(&*transport, config, events).map(Some)
    } else {
        run_peer(transport, config).map(|()| None)
    }
}

/// Runs tracker and peers as threads of this process, over channels: the same code as under
/// `mpirun`, for tests. `ranks` counts the tracker.
pub fn run_in_process(ranks: u32, config: &RunConfig, events: &dyn EventSink) -> Result<Report, RunError> {
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for transport in local_network(ranks) {
            let transport = Arc::new(transport);
            handles.push(scope.spawn(move || run_rank(transport, config, events)));
        }
        let mut results = handles.into_iter().map(|h| h.join().expect("a rank panicked"));
        let report = results.next().expect("rank 0")?;
        for result in results {
            match result {
                Ok(_) | Err(RunError::Aborted) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(report.expect("rank 0 reports"))
    })
}
