//! How busy a run's ranks keep the machine while they wait: each rank's CPU time, sampled from
//! `/proc` as the run goes, counted from the moment the rank holds every output it wants (from
//! then on it only serves others and waits for the end) to its last sample. A rank that blocks
//! while it waits costs next to nothing; one that spins costs a core, or its share of one.

use crate::analysis::verify::judge_file;
use crate::protocol::hash::ChunkHash;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the ranks are sampled.
const EVERY: Duration = Duration::from_millis(50);
/// A waiting phase shorter than this says nothing: a few samples of clock ticks.
const SHORTEST: Duration = Duration::from_millis(300);

/// The outputs a rank must hold before it only waits: names and hashes.
pub type Wanted = Vec<(String, Vec<ChunkHash>)>;

/// A watch on one run, sampling on a thread of its own until [`Watch::finish`].
pub struct Watch {
    stop: Arc<AtomicBool>,
    sampler: std::thread::JoinHandle<Option<f64>>,
}

/// A rank's CPU time (seconds) when it came to hold its outputs, and at its last sample, with when.
#[derive(Clone, Copy, Default)]
struct Span {
    from: Option<(f64, f64)>,
    last: Option<(f64, f64)>,
}

/// Starts watching the ranks of `program` that run in `dir`; `wanted[i]` are the outputs of the
/// peer of rank `i + 1`. Ranks that want nothing, and the tracker, are not counted.
pub fn watch(program: &Path, dir: &Path, wanted: Vec<Wanted>) -> Watch {
    let stop = Arc::new(AtomicBool::new(false));
    let (program, dir) = (canonical(program), canonical(dir));
    let stopping = stop.clone();
    let sampler = std::thread::spawn(move || sample(&program, &dir, &wanted, &stopping));
    Watch { stop, sampler }
}

impl Watch {
    /// Stops watching: the cores the waiting ranks kept busy on average, over the time from the
    /// first of them to hold its outputs to the last sample; `None` when that was too short.
    pub fn finish(self) -> Option<f64> {
        self.stop.store(true, Ordering::Relaxed);
        self.sampler.join().ok().flatten()
    }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn sample(program: &Path, dir: &Path, wanted: &[Wanted], stop: &AtomicBool) -> Option<f64> {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let started = Instant::now();
    let mut ranks: HashMap<u32, Option<usize>> = HashMap::new();
    let mut spans = vec![Span::default(); wanted.len()];
    while !stop.load(Ordering::Relaxed) {
        let now = started.elapsed().as_secs_f64();
        for (pid, peer) in ranks_of(program, dir, &mut ranks) {
            let (Some(cpu), Some(span)) = (cpu_seconds(pid, ticks), spans.get_mut(peer)) else { continue };
            let holds = || wanted[peer].iter().all(|(name, hashes)| judge_file(hashes, &dir.join(name)).is_ok());
            if span.from.is_none() && !wanted[peer].is_empty() && holds() {
                span.from = Some((now, cpu));
            }
            span.last = Some((now, cpu));
        }
        std::thread::sleep(EVERY);
    }
    let first = spans.iter().filter_map(|s| s.from.map(|(at, _)| at)).reduce(f64::min)?;
    let end = spans.iter().filter_map(|s| s.last.map(|(at, _)| at)).reduce(f64::max)?;
    let busy: f64 = spans.iter().filter_map(|s| Some(s.last?.1 - s.from?.1)).sum();
    (end - first >= SHORTEST.as_secs_f64()).then(|| busy / (end - first))
}

/// The processes of `program` running in `dir`, each with the index of its peer (rank R is
/// index R - 1; the tracker, rank 0, has none); `known` keeps the ranks found. A process not
/// (yet) the program is looked at again: a rank is forked before it runs the program.
fn ranks_of(program: &Path, dir: &Path, known: &mut HashMap<u32, Option<usize>>) -> Vec<(u32, usize)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for pid in entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
        let peer = match known.get(&pid) {
            Some(&peer) => peer,
            None => {
                let proc = PathBuf::from(format!("/proc/{pid}"));
                let ours = std::fs::read_link(proc.join("exe")).is_ok_and(|exe| exe == program)
                    && std::fs::read_link(proc.join("cwd")).is_ok_and(|cwd| cwd == dir);
                let Some(rank) = ours.then(|| rank(&proc)).flatten() else { continue };
                *known.entry(pid).or_insert(rank.checked_sub(1))
            }
        };
        if let Some(peer) = peer {
            found.push((pid, peer));
        }
    }
    found
}

/// The MPI rank of the process whose `/proc` folder is `proc`, from its environment.
fn rank(proc: &Path) -> Option<usize> {
    let environ = std::fs::read(proc.join("environ")).ok()?;
    environ.split(|&b| b == 0).find_map(|entry| {
        let text = std::str::from_utf8(entry).ok()?;
        ["OMPI_COMM_WORLD_RANK=", "PMIX_RANK=", "PMI_RANK="].iter().find_map(|key| text.strip_prefix(key)?.parse().ok())
    })
}

/// User and system CPU time of process `pid`, in seconds.
fn cpu_seconds(pid: u32, ticks: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command, which is in parentheses and may hold spaces: state is the
    // first, utime the 12th, stime the 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let (user, system): (f64, f64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    Some((user + system) / ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_that_spins_after_its_output_is_written_is_seen_busy_and_one_that_sleeps_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let hash = ChunkHash::from_u128(7);
        std::fs::write(dir.path().join("client1_f"), format!("{hash}\n")).unwrap();
        let wanted = vec![vec![("client1_f".to_string(), vec![hash])]];
        let shell = canonical(Path::new("/bin/bash"));
        let measure = |script: &str| {
            let watch = watch(&shell, dir.path(), wanted.clone());
            let status = std::process::Command::new(&shell)
                .args(["-c", script])
                .current_dir(dir.path())
                .env("OMPI_COMM_WORLD_RANK", "1")
                .status()
                .unwrap();
            assert!(status.success());
            watch.finish()
        };
        let spinning = measure("SECONDS=0; while ((SECONDS < 2)); do :; done").unwrap();
        assert!(spinning > 0.5, "a spinning rank keeps a core busy: {spinning:.2}");
        // The `:` after `sleep` keeps bash from replacing itself with `sleep`, which would make
        // the process no longer the watched program.
        let sleeping = measure("sleep 1; :").unwrap();
        assert!(sleeping < 0.1, "a sleeping one does not: {sleeping:.2}");
    }
}
