//! Doorbells: one word per lane of each rank (a thread that receives, see `transport::mpi`) in a
//! file in shared memory (`/dev/shm`) that every rank maps, so that a thread with nothing to
//! take sleeps until a message is sent to it rather than looking for one on a timer. Messages
//! still go through MPI; a bell only counts them and wakes the thread.
//! (Not an MPI shared-memory window, which MPICH is slow to allocate: docs/performance.md, "Bells".)
//!
//! A bell's word counts the messages sent to its lane, and its lowest bit says whether the lane's
//! thread sleeps on it (a futex). A sender rings after its `MPI_Isend`: it counts the message and
//! wakes the thread if it sleeps. The thread counts what it takes, and sleeps only when it has
//! taken every message counted; until then a message is on its way through MPI, however many
//! looks that takes, and the thread looks again soon.
//!
//! Ranks on other hosts cannot ring: when the job spans hosts there are no bells, and threads
//! look on a timer. [`BELLS_VARIABLE`] set to `off` asks for that on one host too.

use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use std::ffi::OsStr;
use std::os::fd::AsRawFd;
use std::os::raw::c_int;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use super::mpi::Lane;
use crate::protocol::ids::Rank;

/// `off` (in rank 0's environment) makes the ranks' threads look on a timer although every rank
/// shares one host.
pub const BELLS_VARIABLE: &str = "MPITORRENT_BELLS";

/// The bit of a bell's word that says its thread sleeps; each message adds [`MESSAGE`].
const SLEEPING: u32 = 1;
const MESSAGE: u32 = 2;
/// Room for the path of the bells' file, sent from rank 0 to the others.
const PATH_ROOM: usize = 256;

/// Every rank's bells, mapped into this process.
pub struct Bells {
    words: *const AtomicU32,
    ranks: usize,
    own: usize,
}

// SAFETY: the words stay mapped until the `Bells` are dropped, and are only touched atomically.
unsafe impl Send for Bells {}
unsafe impl Sync for Bells {}

impl Bells {
    /// The bells of every lane of every rank of `world`, or `None` when some rank runs on another
    /// host, rank 0 has [`BELLS_VARIABLE`] set to `off`, or some rank could not map them.
    /// Collective: every rank calls it at the same point.
    pub fn open(world: &SimpleCommunicator) -> Option<Bells> {
        let ranks = world.size() as usize;
        let one_host = world.split_shared(world.rank()).size() == world.size();
        let root = world.process_at_rank(0);
        let mut path = [0u8; PATH_ROOM];
        // Rank 0 makes the file, zeroed (every bell awake), and names it to the others.
        let file = match world.rank() {
            0 if one_host && std::env::var_os(BELLS_VARIABLE).is_none_or(|v| v != "off") => tempfile::Builder::new()
                .prefix("mpitorrent-bells-")
                .tempfile_in("/dev/shm")
                .and_then(|file| file.as_file().set_len(Bells::length(ranks) as u64).map(|()| file))
                .ok()
                .filter(|file| file.path().as_os_str().len() < PATH_ROOM),
            _ => None,
        };
        if let Some(file) = &file {
            let named = file.path().as_os_str().as_encoded_bytes();
            path[..named.len()].copy_from_slice(named);
        }
        root.broadcast_into(&mut path[..]);
        let named = &path[..path.iter().position(|&b| b == 0).unwrap_or(PATH_ROOM)];
        let own = world.rank() as usize;
        let bells = (!named.is_empty()).then(|| Bells::mapped(Path::new(OsStr::from_bytes(named)), ranks, own)).flatten();
        let mut everywhere = 0;
        world.all_reduce_into(&i32::from(bells.is_some()), &mut everywhere, SystemOperation::min());
        // Every rank has opened the file by now: it can go (the mappings stay).
        drop(file);
        (everywhere == 1).then_some(bells).flatten()
    }

    /// The bytes of the bells of `ranks` ranks: a bell for each lane, rank 0's first.
    fn length(ranks: usize) -> usize {
        ranks * Lane::COUNT * BELL
    }

    /// Rank `own`'s view of the bells of `ranks` ranks in the file at `path`, which is that long,
    /// shared with the other processes that map it.
    fn mapped(path: &Path, ranks: usize, own: usize) -> Option<Bells> {
        let file = std::fs::OpenOptions::new().read(true).write(true).open(path).ok()?;
        // SAFETY: a fresh shared mapping of the file's bells.
        let words = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                Bells::length(ranks),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        (words != libc::MAP_FAILED).then_some(Bells { words: words as *const AtomicU32, ranks, own })
    }

    fn word(&self, rank: usize, lane: Lane) -> &AtomicU32 {
        assert!(rank < self.ranks, "no bell for rank {rank}");
        let at = rank * Lane::COUNT + lane.index();
        // SAFETY: the mapping holds every lane's bell of `ranks` ranks, each aligned, and lives as
        // long as `self`.
        unsafe { &*self.words.byte_add(at * BELL) }
    }

    /// Counts a message sent to `rank`'s thread of `lane`, and wakes the thread if it sleeps.
    /// Call it after the send.
    pub fn ring(&self, rank: Rank, lane: Lane) {
        let word = self.word(rank.0 as usize, lane);
        if word.fetch_add(MESSAGE, SeqCst) & SLEEPING != 0 {
            futex(word, libc::FUTEX_WAKE, 1, None);
        }
    }

    /// Wakes `rank`'s thread of `lane` if it sleeps, without a message: for this rank's own
    /// threads, when there is something else to do.
    pub fn nudge(&self, rank: Rank, lane: Lane) {
        let word = self.word(rank.0 as usize, lane);
        if word.fetch_and(!SLEEPING, SeqCst) & SLEEPING != 0 {
            futex(word, libc::FUTEX_WAKE, 1, None);
        }
    }

    /// Whether more messages were counted for this rank's thread of `lane` than the `taken` it
    /// took.
    pub fn due(&self, lane: Lane, taken: u32) -> bool {
        self.word(self.own, lane).load(SeqCst) / MESSAGE != taken & COUNTED
    }

    /// Readies this rank's thread of `lane`, which has taken `taken` messages, to sleep: `None`
    /// when more were counted, which are on their way.
    pub fn lie_down(&self, lane: Lane, taken: u32) -> Option<LyingDown> {
        let word = self.word(self.own, lane);
        let now = word.load(SeqCst) & !SLEEPING;
        let asleep = now | SLEEPING;
        // From here a ring or a nudge changes the word, so a wait on it returns at once.
        (now / MESSAGE == taken & COUNTED && word.compare_exchange(now, asleep, SeqCst, SeqCst).is_ok())
            .then_some(LyingDown { lane, asleep })
    }

    /// Sleeps until a ring or a nudge after [`Bells::lie_down`], or for `timeout`.
    pub fn sleep(&self, lying: LyingDown, timeout: Duration) {
        let word = self.word(self.own, lying.lane);
        futex(word, libc::FUTEX_WAIT, lying.asleep, Some(timeout));
        word.fetch_and(!SLEEPING, SeqCst);
    }
}

/// The bits of a count a bell's word holds: counts wrap past it.
const COUNTED: u32 = u32::MAX / MESSAGE;

/// A thread ready to sleep on its bell, holding the word it left.
pub struct LyingDown {
    lane: Lane,
    asleep: u32,
}

impl Drop for Bells {
    fn drop(&mut self) {
        // SAFETY: the mapping `mapped` made, no longer used.
        unsafe { libc::munmap(self.words as *mut libc::c_void, Bells::length(self.ranks)) };
    }
}

/// The bytes a bell takes: a cache line, so that ringing or sleeping on one bell does not take the line
/// of others from the cores that use them.
const BELL: usize = 64;

/// A futex operation shared between processes (not `FUTEX_PRIVATE_FLAG`). A wait returns at
/// once when the word no longer holds `value`, and may return early; callers look again anyway.
fn futex(word: &AtomicU32, op: c_int, value: u32, timeout: Option<Duration>) {
    let timeout =
        timeout.map(|t| libc::timespec { tv_sec: t.as_secs() as libc::time_t, tv_nsec: t.subsec_nanos() as libc::c_long });
    let timeout = timeout.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned u32 for the whole call; the kernel only reads it.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), op, value, timeout, std::ptr::null::<u32>(), 0) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::Endpoint;
    use std::time::Instant;

    #[test]
    fn a_thread_sleeps_only_when_it_took_every_message_counted_and_a_ring_or_nudge_wakes_it() {
        let file = tempfile::NamedTempFile::new().unwrap();
        file.as_file().set_len(Bells::length(2) as u64).unwrap();
        let (ringer, sleeper) = (Bells::mapped(file.path(), 2, 0).unwrap(), Bells::mapped(file.path(), 2, 1).unwrap());
        let (lane, other) = (Lane::of(Endpoint::Upload), Lane::of(Endpoint::Download));
        let short = Duration::from_millis(50);
        let long = Duration::from_secs(5);
        let slept = |taken: u32, timeout: Duration| {
            let start = Instant::now();
            sleeper.sleep(sleeper.lie_down(lane, taken).expect("every message taken"), timeout);
            start.elapsed()
        };
        assert!(slept(0, short) >= short, "not rung: it sleeps its time");
        ringer.ring(Rank(1), other);
        ringer.ring(Rank(0), lane);
        assert!(slept(0, short) >= short, "another lane's bell or another rank's: it sleeps its time");
        ringer.ring(Rank(1), lane);
        assert!(sleeper.due(lane, 0) && sleeper.lie_down(lane, 0).is_none(), "a message counted and not taken: no sleep");
        assert!(!sleeper.due(lane, 1), "every message taken");
        assert!(slept(1, short) >= short, "once it is taken, it sleeps");
        let lying = sleeper.lie_down(lane, 1).unwrap();
        ringer.ring(Rank(1), lane);
        let start = Instant::now();
        sleeper.sleep(lying, long);
        assert!(start.elapsed() < long / 2, "rung after it lay down: it does not sleep");
        type Wake = fn(&Bells, Rank, Lane);
        let wakes: [(Wake, u32); 2] = [(Bells::ring, 2), (Bells::nudge, 3)];
        for (wake, taken) in wakes {
            std::thread::scope(|threads| {
                threads.spawn(|| {
                    std::thread::sleep(short);
                    wake(&ringer, Rank(1), lane);
                });
                assert!(slept(taken, long) < long / 2, "rung or nudged while it slept: it wakes");
            });
        }
        assert!(slept(3, short) >= short, "a nudge is no message");
    }
}
