//! A run under mpirun: MPI's start and end, rank 0's own preparations, and what it does with the
//! run's feed, the dashboard or the headless collector, and with the report at the end.

use crate::analysis::collector::collect;
use crate::analysis::model::SwarmModel;
use crate::analysis::report::{Report, Waiting};
use crate::cli::RunArgs;
use crate::commands::logs::write_report;
use crate::commands::{exit, Error, Outcome};
use crate::protocol::error::Refusal;
use crate::protocol::peer::waits_on_answers;
use crate::record::log::{LogError, Recorder};
use crate::scenario::input::Invalid;
use crate::scenario::output::check_writable;
use crate::tools::run::run_rank;
use crate::transport::mpi::{pauses, MpiTransport};
use crate::tui::live::Ending;
use crate::tui::terminal::Screen;
use crate::tui::theme::Theme;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::Threading;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// The run's exit code, mapped by [`exit`] like every command's but before MPI_Finalize, which
/// is why this one returns the code rather than its outcome: mpirun may end a rank that
/// finalizes once another rank has exited with an error, before it has said why.
pub fn run(args: &RunArgs) -> ExitCode {
    let Some((universe, threading)) = mpi::initialize_with_threading(Threading::Multiple) else {
        return exit("", Err(anyhow::anyhow!("MPI could not be initialized").into()));
    };
    let world = universe.world();
    let result = match (threading, world.size()) {
        (Threading::Multiple, size) if size >= 2 => run_this_rank(args, &world),
        (Threading::Multiple, _) => {
            Err(Invalid("needs at least 2 ranks, a tracker and a peer: mpirun -np N mpitorrent, with N >= 2".into()).into())
        }
        // Every rank fails; rank 0 says why.
        _ if world.rank() != 0 => Ok(Outcome::Failed),
        (threading, _) => Err(anyhow::anyhow!(
            "the MPI library offers thread level {threading:?}, but every peer runs a download and an upload thread \
             that both use MPI, which needs MPI_THREAD_MULTIPLE"
        )
        .into()),
    };
    let code = exit("", result);
    drop(universe); // MPI_Finalize, before the process exits
    code
}

fn run_this_rank(args: &RunArgs, world: &SimpleCommunicator) -> Result<Outcome, Error> {
    let rank = world.rank();
    let (recorder, refusal) = if rank == 0 { prepare_rank0(args) } else { (None, None) };
    let screen = if rank == 0 && args.tui { open_screen() } else { None };
    let transport = Arc::new(MpiTransport::start(pauses(args.settings.chunk_time(), waits_on_answers(&args.settings))));
    let result = run_rank(transport.clone(), &args.settings, refusal, |feed| match screen {
        None => collect(&feed, recorder),
        Some(screen) => {
            let outcome = crate::tui::live::run(feed, recorder, screen, Theme::from_env());
            match outcome.ending {
                Ending::Finished => (outcome.model, outcome.log_failure),
                Ending::Quit => {
                    crate::tui::terminal::tell("mpitorrent: the dashboard was closed before the end; stopping every rank");
                    SimpleCommunicator::world().abort(i32::from(Outcome::Interrupted.code()))
                }
                // mpirun is ending the job; the terminal is restored, so just go.
                Ending::Interrupted => std::process::exit(1),
            }
        }
    });
    match result {
        Ok(collected) => {
            transport.close();
            let waiting = if transport.rings_bells() { Waiting::Bells } else { Waiting::Polling };
            Ok(collected.map_or(Ok(Outcome::Done), |(model, log_failure)| finish(args, model, log_failure, waiting))?)
        }
        Err(e) if e.stops_cleanly() => {
            transport.close(); // before MPI_Finalize
            Err(e.into())
        }
        Err(other) => {
            // Other ranks may be waiting on this one: end them all rather than hang.
            crate::protocol::say(&format!("mpitorrent: rank {rank}: error: {other}"));
            world.abort(1)
        }
    }
}

/// Rank 0's end of a run: the summary, the report (with how the ranks waited for messages), and whether
/// every peer that stayed got everything; a log that could not be written fails the run.
fn finish(args: &RunArgs, model: Option<SwarmModel>, log_failure: Option<LogError>, waiting: Waiting) -> Result<Outcome, Error> {
    let report = Report { waiting: Some(waiting), ..model.expect("a tracker that succeeded started the run").report() };
    println!("{}", report.summary());
    let written = args.report.as_deref().map_or(Ok(()), |path| write_report(path, &report));
    match (log_failure, written) {
        (Some(log), Err(report)) => {
            crate::protocol::say(&format!("mpitorrent: error: {log}"));
            Err(report.into())
        }
        (Some(log), Ok(())) => Err(log.into()),
        (None, Err(report)) => Err(report.into()),
        (None, Ok(())) if report.incomplete() => Ok(Outcome::Incomplete),
        (None, Ok(())) => Ok(Outcome::Done),
    }
}

/// The dashboard's screen, or `None` with a warning when there is no terminal to draw on.
fn open_screen() -> Option<Screen> {
    match Screen::open() {
        Ok(screen) => Some(screen),
        Err(e) => {
            eprintln!("mpitorrent: warning: --tui needs a terminal ({e}); running headless");
            None
        }
    }
}

/// Why a report cannot be written where `--report` says.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", .path.display())]
struct ReportPlace {
    path: std::path::PathBuf,
    problem: crate::scenario::output::Unwritable,
}

/// Rank 0's own preparations, before the run: the log to record to, and any reason to refuse
/// the run's options, which the tracker reports like an input error.
fn prepare_rank0(args: &RunArgs) -> (Option<Recorder>, Option<Refusal>) {
    let report_problem = args.report.as_ref().and_then(|report| {
        let folder = report.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let problem = check_writable(folder).err()?;
        Some(Refusal::from(ReportPlace { path: report.clone(), problem }))
    });
    match args.record.as_ref().map(|path| Recorder::create(path, args.force)) {
        Some(Ok(recorder)) if report_problem.is_some() => {
            recorder.discard();
            (None, report_problem)
        }
        Some(Ok(recorder)) => (Some(recorder), None),
        Some(Err(problem)) => (None, report_problem.or(Some(problem.into()))),
        None => (None, report_problem),
    }
}
