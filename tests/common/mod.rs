//! Running the real binary under mpirun, for the integration tests.
#![allow(dead_code)] // each test file uses a different part

pub mod models;

use mpitorrent::hash::ChunkHash;
use mpitorrent::input::{input_file_name, read_peer_input};
use mpitorrent::output::output_file_name;
use mpitorrent::scenario::{RandomSpec, Scenario};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_mpitorrent");

pub struct Run {
    /// The exit code; `None` if killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub wall: Duration,
    /// User and system CPU time of mpirun and every rank.
    pub cpu: Duration,
}

impl Run {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// `mpirun --oversubscribe -np <np> <binary> <args>` in `dir`, killed after `limit`.
pub fn mpirun(dir: &Path, np: u32, args: &[&str], limit: Duration) -> Run {
    launch(dir, np, Path::new(BINARY), args, limit)
}

/// `mpirun --oversubscribe -np <np> <program> <args>` in `dir`, killed after `limit`.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which std cannot see
pub fn launch(dir: &Path, np: u32, program: &Path, args: &[&str], limit: Duration) -> Run {
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
        .spawn()
        .expect("mpirun and timeout are installed (see .ci/setup)");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).map(|_| text).unwrap_or_default()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    // wait4 rather than Child::wait: its usage figures cover the ranks, which mpirun waited for.
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4 failed");
    let seconds = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Run {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        wall: started.elapsed(),
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
    }
}

/// Every output a correct run of `scenario` writes, with its hashes.
pub fn expected_of(scenario: &Scenario) -> Vec<(String, Vec<ChunkHash>)> {
    scenario.expected_outputs().into_iter().map(|(name, hashes)| (name, hashes.to_vec())).collect()
}

/// Every output a correct run of the `in<R>.txt` files in `dir` (peers 1 to `peers`) writes,
/// worked out from the inputs alone.
pub fn expected_from_inputs(dir: &Path, peers: u32) -> Vec<(String, Vec<ChunkHash>)> {
    let inputs: Vec<_> = (1..=peers).map(|r| read_peer_input(&dir.join(input_file_name(r))).unwrap()).collect();
    let files: BTreeMap<&str, &[ChunkHash]> =
        inputs.iter().flat_map(|i| &i.owned).map(|o| (o.name.as_str(), &o.hashes[..])).collect();
    (1..=peers)
        .zip(&inputs)
        .flat_map(|(rank, input)| input.wanted.iter().map(move |w| (rank, w.name.as_str())))
        .map(|(rank, name)| (output_file_name(rank, name), files[name].to_vec()))
        .collect()
}

/// Checks every output hash by hash, and that `out` holds nothing else (no temporary file).
pub fn check_outputs(expected: &[(String, Vec<ChunkHash>)], out: &Path) {
    for (name, hashes) in expected {
        let text = std::fs::read_to_string(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want: Vec<&str> = hashes.iter().map(|h| h.as_str()).collect();
        assert_eq!(text.lines().collect::<Vec<_>>(), want, "{name}");
    }
    let present: BTreeSet<String> = match std::fs::read_dir(out) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().into_string().unwrap()).collect(),
        Err(_) => BTreeSet::new(),
    };
    let names: BTreeSet<String> = expected.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(present, names, "exactly the wanted outputs in {}", out.display());
}

/// A random scenario shape: up to `peers` peers and `files` files of up to `chunks` chunks, one
/// to three owners each, and peers wanting from `least_wanted` files to all of them.
pub fn random_spec(rng: &mut impl rand::Rng, peers: usize, files: usize, chunks: usize, least_wanted: usize) -> RandomSpec {
    let files = rng.gen_range(1..=files);
    RandomSpec {
        peers: rng.gen_range(1..=peers),
        files,
        chunks: 1..=rng.gen_range(1..=chunks),
        owners: 1..=rng.gen_range(1..=3),
        wanted: least_wanted.min(files)..=files,
    }
}
