//! Doorbells: one word per rank in a file in shared memory (`/dev/shm`) that every rank maps,
//! so that a receiver with nothing to do sleeps until a message is sent to it rather than
//! looking for one on a timer. Messages still go through MPI; a bell only says "look now".
//! (Not an MPI shared-memory window, which MPICH is slow to allocate: docs/performance.md, "Bells".)
//!
//! A receiver arms its bell, looks for messages, and sleeps on the word (a futex) while it stays
//! armed. A sender rings after its `MPI_Isend`: if the bell is armed it disarms it and wakes the
//! receiver, or keeps it from sleeping. So a message sent after the bell was armed cuts the
//! sleep short, and one sent before it is found by the looks in between, as long as those looks
//! can find it (see `transport::mpi` for what that takes of MPI).
//!
//! Ranks on other hosts cannot ring: when the job spans hosts there are no bells, and receivers
//! look on a timer. [`BELLS_VARIABLE`] set to `off` asks for that on one host too.

use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use std::ffi::OsStr;
use std::os::fd::AsRawFd;
use std::os::raw::c_int;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{fence, AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use crate::protocol::ids::Rank;

/// `off` (in rank 0's environment) makes receivers look on a timer although every rank shares
/// one host.
pub const BELLS_VARIABLE: &str = "MPITORRENT_BELLS";

/// The value of an armed bell; any other means its receiver is awake.
const ARMED: u32 = 1;
const AWAKE: u32 = 0;
/// Room for the path of the bells' file, sent from rank 0 to the others.
const PATH_ROOM: usize = 256;

/// Every rank's bell, mapped into this process.
pub struct Bells {
    words: *const AtomicU32,
    ranks: usize,
    own: usize,
}

// SAFETY: the words stay mapped until the `Bells` are dropped, and are only touched atomically.
unsafe impl Send for Bells {}
unsafe impl Sync for Bells {}

impl Bells {
    /// The bells of every rank of `world`, or `None` when some rank runs on another host, rank 0
    /// has [`BELLS_VARIABLE`] set to `off`, or some rank could not map them. Collective: every
    /// rank calls it at the same point.
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
                .and_then(|file| file.as_file().set_len((ranks * WORD) as u64).map(|()| file))
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

    /// Rank `own`'s view of the `ranks` bells in the file at `path`, which is that long, shared
    /// with the other processes that map it.
    fn mapped(path: &Path, ranks: usize, own: usize) -> Option<Bells> {
        let file = std::fs::OpenOptions::new().read(true).write(true).open(path).ok()?;
        // SAFETY: a fresh shared mapping of the file's first `ranks` words.
        let words = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ranks * WORD,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        (words != libc::MAP_FAILED).then_some(Bells { words: words as *const AtomicU32, ranks, own })
    }

    fn word(&self, rank: usize) -> &AtomicU32 {
        assert!(rank < self.ranks, "no bell for rank {rank}");
        // SAFETY: the mapping holds `ranks` words and lives as long as `self`.
        unsafe { &*self.words.add(rank) }
    }

    /// Wakes `rank`'s receiver if it sleeps, or keeps it from sleeping. Call it after the send.
    pub fn ring(&self, rank: Rank) {
        let word = self.word(rank.0 as usize);
        // The send's writes must be visible before the bell is read: a store may pass a load.
        fence(SeqCst);
        if word.load(SeqCst) == ARMED && word.swap(AWAKE, SeqCst) == ARMED {
            futex(word, libc::FUTEX_WAKE, 1, None);
        }
    }

    /// Arms this rank's bell: a send from now on rings it. Look for messages before
    /// [`Bells::sleep`].
    pub fn arm(&self) {
        self.word(self.own).store(ARMED, SeqCst);
        // MPI's reads of its queues must not come before the bell is armed.
        fence(SeqCst);
    }

    /// Sleeps until the bell rings (at once if it rang since it was armed), or for `timeout`,
    /// and arms it again.
    pub fn sleep(&self, timeout: Duration) {
        futex(self.word(self.own), libc::FUTEX_WAIT, ARMED, Some(timeout));
        self.arm();
    }
}

impl Drop for Bells {
    fn drop(&mut self) {
        // SAFETY: the mapping `mapped` made, no longer used.
        unsafe { libc::munmap(self.words as *mut libc::c_void, self.ranks * WORD) };
    }
}

const WORD: usize = std::mem::size_of::<AtomicU32>();

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
    use std::time::Instant;

    #[test]
    fn a_ring_through_another_mapping_wakes_the_sleeper_and_an_unrung_bell_times_out() {
        let file = tempfile::NamedTempFile::new().unwrap();
        file.as_file().set_len(2 * WORD as u64).unwrap();
        let (ringer, sleeper) = (Bells::mapped(file.path(), 2, 0).unwrap(), Bells::mapped(file.path(), 2, 1).unwrap());
        let short = Duration::from_millis(50);
        let long = Duration::from_secs(5);
        sleeper.arm();
        let start = Instant::now();
        sleeper.sleep(short);
        assert!(start.elapsed() >= short, "not rung: it sleeps its time");
        ringer.ring(Rank(1));
        let start = Instant::now();
        sleeper.sleep(long);
        assert!(start.elapsed() < long / 2, "rung before it slept: it does not sleep");
        std::thread::scope(|threads| {
            threads.spawn(|| {
                std::thread::sleep(short);
                ringer.ring(Rank(1));
            });
            let start = Instant::now();
            sleeper.sleep(long);
            assert!(start.elapsed() < long / 2, "rung while it slept: it wakes");
        });
        let start = Instant::now();
        sleeper.sleep(short);
        assert!(start.elapsed() >= short, "armed again after each sleep");
    }
}
