//! How a rank's part of a run fails.

use crate::protocol::transport::TransportError;
use crate::scenario::input::{InputError, Invalid};
use crate::scenario::output::WriteError;

/// Why rank 0 refuses its own options (a log it may not create, a report it cannot write): any
/// error of the layers above, kept with its causes.
pub type Refusal = Box<dyn std::error::Error + Send + Sync>;

/// A message that breaks the protocol: a bug in some rank, never the user's doing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Breach(pub String);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The inputs are wrong; rank 0 prints this, every rank stops.
    #[error(transparent)]
    Input(#[from] InputError),
    /// An option does not fit this run (a fault naming a rank it does not have); as `Input`.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Rank 0 refused its own options; as `Input`.
    #[error(transparent)]
    Refused(Refusal),
    /// The tracker stopped the run because of an input error it reports itself.
    #[error("stopped by the tracker")]
    Aborted,
    #[error("protocol error: {0}")]
    Protocol(#[from] Breach),
    #[error(transparent)]
    Output(#[from] WriteError),
    #[error(transparent)]
    Transport(#[from] TransportError),
}

impl RunError {
    /// Whether the user's inputs or options are at fault: every rank then stops cleanly.
    pub fn is_input(&self) -> bool {
        matches!(self, RunError::Input(_) | RunError::Invalid(_) | RunError::Refused(_))
    }

    /// Whether every rank stops without aborting the job: the inputs were wrong, and rank 0 says
    /// so, or the tracker stopped this rank because they were.
    pub fn stops_cleanly(&self) -> bool {
        self.is_input() || matches!(self, RunError::Aborted)
    }

    /// Whether this rank stopped only because another one did or told it to.
    pub fn is_consequence(&self) -> bool {
        self.stops_cleanly() || matches!(self, RunError::Transport(TransportError::Aborted))
    }
}
