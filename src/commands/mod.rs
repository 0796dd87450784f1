//! The commands: each returns an [`Outcome`] or an [`Error`], and [`exit`] maps both to a code.

pub mod checks;
pub mod gen;
pub mod lesson;
pub mod logs;
pub mod run;

use crate::protocol::error::RunError;
use crate::record::log::LogError;
use crate::scenario::input::{InputError, Invalid};
use crate::scenario::output::WriteError;
use std::process::ExitCode;

/// What a command that ran to its end found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// All is well.
    Done,
    /// A check found something wrong: an output, a rule of the protocol, a stress run.
    Failed,
    /// A peer that stayed gave up on a file that had no holder left.
    Incomplete,
    /// Stopped before the end: the dashboard closed during a run (every rank is then stopped),
    /// or a signal ended a replay.
    Interrupted,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A tool's own work failed: mpirun would not start, a measured run went wrong.
    #[error("{0:#}")]
    Tool(#[from] anyhow::Error),
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Done => 0,
            Outcome::Failed => 1,
            Outcome::Incomplete => 3,
            Outcome::Interrupted => 130,
        }
    }
}

impl Error {
    /// 2 when the user's inputs, options or log are at fault, 1 for anything else.
    pub fn code(&self) -> u8 {
        let user = match self {
            Error::Input(_) | Error::Invalid(_) => true,
            Error::Log(e) => !matches!(e, LogError::Write { .. }),
            Error::Run(e) => e.stops_cleanly(),
            Error::Write(_) | Error::Tool(_) => false,
        };
        if user {
            2
        } else {
            1
        }
    }

    /// Whether this rank says what went wrong: a peer the tracker stopped leaves that to rank 0.
    fn is_told(&self) -> bool {
        !matches!(self, Error::Run(RunError::Aborted))
    }
}

/// The exit code of a command named `command` (empty for a run), saying what went wrong first.
pub fn exit(command: &str, result: Result<Outcome, Error>) -> ExitCode {
    match result {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(error) => {
            if error.is_told() {
                let name = if command.is_empty() { String::new() } else { format!(" {command}") };
                crate::protocol::say(&format!("mpitorrent{name}: error: {error}"));
            }
            ExitCode::from(error.code())
        }
    }
}

/// Whether every check passed, as an outcome.
fn passed(all_well: bool) -> Outcome {
    match all_well {
        true => Outcome::Done,
        false => Outcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_failure_has_its_documented_code() {
        let input = Error::Input(InputError::new("in1.txt", Some(3), "bad"));
        let log_read = Error::Log(LogError::Header { path: "x.log".into(), line: Some(1), problem: "no".into() });
        let log_write = Error::Log(LogError::Write { path: "x.log".into(), source: std::io::ErrorKind::Other.into() });
        let aborted = Error::Run(RunError::Aborted);
        let transport = Error::Run(RunError::Transport(crate::protocol::transport::TransportError::Closed));
        let codes: Vec<u8> = [input, log_read, aborted, log_write, transport].iter().map(Error::code).collect();
        assert_eq!(codes, [2, 2, 2, 1, 1]);
        let outcomes = [Outcome::Done, Outcome::Failed, Outcome::Incomplete, Outcome::Interrupted];
        assert_eq!(outcomes.map(Outcome::code), [0, 1, 3, 130]);
        assert!(!Error::Run(RunError::Aborted).is_told(), "a stopped peer leaves the message to rank 0");
    }
}
