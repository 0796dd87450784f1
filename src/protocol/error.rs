//! How a rank's part of a run fails.

use crate::protocol::transport::TransportError;

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
    pub fn is_consequence(&self) -> bool {
        matches!(self, RunError::Aborted | RunError::Input(_) | RunError::Transport(TransportError::Aborted))
    }
}
