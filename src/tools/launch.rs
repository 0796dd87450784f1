//! Starting a program under `mpirun` and measuring it: wall time, and the CPU time of mpirun and
//! every rank. Used by `mpitorrent bench` and `stress`, the cargo benchmarks and the integration
//! tests.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The arguments of a run in a folder of its own: inputs in `in/`, outputs to `out/`, the
/// report to `report.json`; the callers of [`launch`] read them from there.
pub const RUN_IN_FOLDER: [&str; 6] = ["--inputs", "in", "--out", "out", "--report", "report.json"];

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
            let mut text = String::new();
            pipe.read_to_string(&mut text).map(|_| text).unwrap_or_default()
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
