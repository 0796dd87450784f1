//! MPI's progress engine yields the core (`sched_yield`) after each look that found nothing when
//! the host runs more ranks than cores, on the view that its caller spins until something comes.
//! The transport's probes and tests of sends never wait: a thread that finds nothing sleeps until
//! a bell or its pause. There the yield only costs a switch of threads, two for every look that
//! ends in a sleep. So while a thread holds [`Quiet`], around those calls, this process's
//! `sched_yield`, which takes the place of the C library's for MPI too (build.rs exports it),
//! returns at once. MPI's waits, in its start, its end, its collectives and the receive of a
//! large message, still yield.

use std::cell::Cell;
use std::os::raw::c_int;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// While it lives, `sched_yield` on this thread does nothing.
pub struct Quiet(());

impl Quiet {
    pub fn hold() -> Quiet {
        debug_assert!(!QUIET.get(), "held once at a time");
        QUIET.set(true);
        Quiet(())
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        QUIET.set(false);
    }
}

/// Yields the core unless this thread holds a [`Quiet`].
#[no_mangle]
pub extern "C" fn sched_yield() -> c_int {
    match QUIET.get() {
        true => 0,
        // SAFETY: the system call takes no arguments.
        false => unsafe { libc::syscall(libc::SYS_sched_yield) as c_int },
    }
}
