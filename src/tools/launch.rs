//! Starting a program under the MPI launcher and measuring it: wall time, and the CPU time of the
//! launcher and every rank. Used by `mpitorrent bench`, `stress`, `lesson` and `grade`, the cargo
//! benchmarks and the integration tests; [`run_in_folder`] is the one way `bench` and `stress` run
//! a trial. [`Mpi`] says which launcher, and how it is called.

use crate::analysis::report::Report;
use crate::scenario::settings::Settings;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Names the launcher command, in place of the one found for the library (a cluster's own
/// `mpiexec`, say); its options still follow the library.
pub const LAUNCHER_VARIABLE: &str = "MPITORRENT_LAUNCHER";

/// The family of the MPI library this program is linked against, which decides how a job is
/// launched: a program must be started by its own library's launcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mpi {
    /// `mpirun --oversubscribe -np N`: Open MPI refuses more ranks than cores without it.
    OpenMpi,
    /// `mpiexec -n N`, the MPI standard's form: MPICH and its derivatives (Intel MPI, MVAPICH,
    /// Cray MPICH), whose `mpiexec` starts as many ranks as asked.
    Mpich,
}

impl Mpi {
    /// The library this program is linked against (MPI lets it be asked before MPI starts).
    pub fn linked() -> Mpi {
        match library().starts_with("Open MPI") {
            true => Mpi::OpenMpi,
            false => Mpi::Mpich,
        }
    }

    /// The launcher's command: the variable [`LAUNCHER_VARIABLE`] if set, else the library's own.
    pub fn launcher(self) -> String {
        if let Some(named) = std::env::var_os(LAUNCHER_VARIABLE).filter(|v| !v.is_empty()) {
            return named.to_string_lossy().into_owned();
        }
        match self {
            Mpi::OpenMpi => own_name("mpirun.openmpi", "mpirun"),
            Mpi::Mpich => own_name("mpiexec.mpich", "mpiexec"),
        }
        .to_string()
    }

    /// The compiler wrapper that builds C programs for this library.
    pub fn compiler(self) -> &'static str {
        match self {
            Mpi::OpenMpi => own_name("mpicc.openmpi", "mpicc"),
            Mpi::Mpich => own_name("mpicc.mpich", "mpicc"),
        }
    }

    /// The launcher and its options for `np` ranks, which the program and its arguments follow.
    pub fn words(self, np: u32) -> Vec<String> {
        let options: &[&str] = match self {
            Mpi::OpenMpi => &["--oversubscribe", "-np"],
            Mpi::Mpich => &["-n"],
        };
        let options = options.iter().map(|o| o.to_string());
        std::iter::once(self.launcher()).chain(options).chain([np.to_string()]).collect()
    }

    /// [`Mpi::words`] as a shell reads them.
    pub fn command_line(self, np: u32) -> String {
        self.words(np).iter().map(|w| shell_word(w)).collect::<Vec<_>>().join(" ")
    }

    /// What the launcher needs in its environment: Open MPI refuses to start as root without
    /// these, and they are harmless otherwise.
    pub fn environment(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Mpi::OpenMpi => &[("OMPI_ALLOW_RUN_AS_ROOT", "1"), ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")],
            Mpi::Mpich => &[],
        }
    }
}

/// The MPI library this program is linked against, in its own words on one line: `Open MPI
/// v4.1.4`, `MPICH Version: 4.0.2`.
pub fn library() -> String {
    let version = mpi::environment::library_version().unwrap_or_default();
    let first = version.lines().next().unwrap_or_default();
    let name = first.split(',').next().unwrap_or_default();
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `debian`, a library's own name for a command, where it is installed (Debian installs Open
/// MPI's and MPICH's side by side, and the usual name may be the other library's), else `usual`.
fn own_name(debian: &'static str, usual: &'static str) -> &'static str {
    if installed(debian) {
        debian
    } else {
        usual
    }
}

/// Whether `name` is a program here: a file if it is a path, else in a folder of `PATH`.
fn installed(name: &str) -> bool {
    if name.contains('/') {
        return Path::new(name).is_file();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|folder| folder.join(name).is_file())
}

/// `word` as a shell reads it back: as it is when it holds nothing a shell would act on, else
/// in single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    match !word.is_empty() && word.chars().all(plain) {
        true => word.to_string(),
        false => format!("'{}'", word.replace('\'', "'\\''")),
    }
}

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

/// Runs `program` in `dir` under the MPI launcher with `ranks` ranks and [`trial_args`], stopped after
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
    /// User and system CPU time of the launcher and every rank.
    pub cpu: Duration,
}

impl Launched {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// `<launcher> <options for np ranks> <program> <args>` in `dir` ([`Mpi::words`]), killed after
/// `limit`; an error naming the launcher if it is not installed.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which std cannot see
pub fn launch(dir: &Path, np: u32, program: &Path, args: &[&str], limit: Duration) -> std::io::Result<Launched> {
    let mpi = Mpi::linked();
    let words = mpi.words(np);
    if !installed(&words[0]) {
        let install = match mpi {
            Mpi::OpenMpi => "Open MPI (bash .ci/setup)",
            Mpi::Mpich => "MPICH (bash .ci/setup --mpich)",
        };
        let problem = format!("{}: not found; install {install}, or name the launcher in {LAUNCHER_VARIABLE}", words[0]);
        return Err(std::io::Error::new(std::io::ErrorKind::NotFound, problem));
    }
    let limit = Duration::from_secs(limit.as_secs().max(1)); // what timeout(1) is given
    let started = Instant::now();
    let mut child = Command::new("timeout")
        .args(["--kill-after=5", &limit.as_secs().to_string()])
        .args(&words)
        .arg(program)
        .args(args)
        .current_dir(dir)
        .envs(mpi.environment().iter().copied())
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
    // wait4 rather than Child::wait: its usage figures cover the ranks, which the launcher waited
    // for.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shell_reads_back_every_word_as_it_was_given() {
        let words = ["mpirun", "/opt/my mpi/bin/mpiexec", "it's", "$HOME", "a\\b", "*", ""];
        let line: Vec<String> = words.iter().map(|w| shell_word(w)).collect();
        assert_eq!(line[0], "mpirun", "a plain word stays as it is");
        let echoed = Command::new("sh").arg("-c").arg(format!("printf '%s\\n' {}", line.join(" "))).output().unwrap();
        assert_eq!(String::from_utf8(echoed.stdout).unwrap(), words.map(|w| format!("{w}\n")).concat());
    }

    #[test]
    fn the_options_follow_the_library() {
        assert_eq!(&Mpi::OpenMpi.words(5)[1..], ["--oversubscribe", "-np", "5"]);
        assert_eq!(&Mpi::Mpich.words(5)[1..], ["-n", "5"]);
        assert!(library().starts_with(if Mpi::linked() == Mpi::OpenMpi { "Open MPI v" } else { "MPICH" }), "{}", library());
    }
}
