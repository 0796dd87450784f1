//! Starting a program under `mpirun` and measuring it: wall time, and the CPU time of mpirun and
//! every rank. Used by `mpitorrent bench` and `stress`, the cargo benchmarks and the integration
//! tests; [`run_in_folder`] is the one way `bench` and `stress` run a trial.

use crate::analysis::report::Report;
use crate::scenario::settings::Settings;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A trial's log, in its folder, when it is recorded.
pub const LOG: &str = "run.log";
/// A trial's report, in its folder.
const REPORT: &str = "report.json";

/// A trial that ran: how it ended, and the report it wrote, or why it cannot be read.
pub struct Trialled {
    pub launched: Launched,
    pub report: anyhow::Result<Report>,
}

/// The arguments of a trial: `settings`, whose folders and files are relative to the trial's
/// folder, the report to [`REPORT`], and with `record` the log to [`LOG`].
pub fn trial_args(settings: &Settings, record: bool) -> Vec<String> {
    let mut args = settings.to_args();
    args.extend(["--report".into(), REPORT.into()]);
    if record {
        args.extend(["--record".into(), LOG.into()]);
    }
    args
}

/// Runs `program` in `dir` under mpirun with `ranks` ranks and [`trial_args`], stopped after
/// `limit`, and reads its report back.
pub fn run_in_folder(
    program: &Path,
    dir: &Path,
    ranks: u32,
    settings: &Settings,
    record: bool,
    limit: Duration,
) -> std::io::Result<Trialled> {
    let args = trial_args(settings, record);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let launched = launch(dir, ranks, program, &args, limit)?;
    let read = || -> anyhow::Result<Report> { Ok(serde_json::from_str(&std::fs::read_to_string(dir.join(REPORT))?)?) };
    let report = read();
    Ok(Trialled { launched, report })
}

pub struct Launched {
    /// The exit code; `None` if killed by a signal.
    pub code: Option<i32>,
    /// It ran into the time limit and was stopped.
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    pub wall: Duration,
    /// User and system CPU time of mpirun and every rank.
    pub cpu: Duration,
}

impl Launched {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// `mpirun --oversubscribe -np <np> <program> <args>` in `dir`, killed after `limit`.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which std cannot see
pub fn launch(dir: &Path, np: u32, program: &Path, args: &[&str], limit: Duration) -> std::io::Result<Launched> {
    let limit = Duration::from_secs(limit.as_secs().max(1)); // what timeout(1) is given
    let started = Instant::now();
    let mut child = Command::new("timeout")
        .args(["--kill-after=5", &limit.as_secs().to_string()])
        .args(["mpirun", "--oversubscribe", "-np", &np.to_string()])
        .arg(program)
        .args(args)
        .current_dir(dir)
        // Open MPI refuses to start as root without these; harmless otherwise.
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            // A program may print bytes that are not UTF-8: they are kept, replaced, not lost.
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    // wait4 rather than Child::wait: its usage figures cover the ranks, which mpirun waited for.
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // SAFETY: the child is ours and not yet reaped; both out-pointers are valid.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    if pid != child.id() as i32 {
        return Err(std::io::Error::last_os_error());
    }
    let seconds = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(Launched {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        timed_out: started.elapsed() >= limit,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        wall: started.elapsed(),
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
    })
}
