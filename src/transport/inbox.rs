//! A rank's inboxes: a queue per endpoint, which the endpoint's one thread blocks on.
//!
//! Not a channel: crossbeam's (and std's) receive spins and then yields its core four times
//! before it blocks. With 65 ranks on two cores, every thread that finds its inbox empty then
//! goes round the run queue, and those yields were an eighth of all CPU time in a 64-peer run
//! (`perf`); here a thread with nothing to take parks at once.

use crate::message::Endpoint;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

pub struct Inboxes<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    queues: [VecDeque<T>; 4],
    /// The thread parked on each endpoint, if one is.
    waiting: [Option<Thread>; 4],
    /// Nothing more will be put.
    closed: bool,
}

/// The inboxes were closed and emptied: nothing can arrive any more.
#[derive(Debug)]
pub struct Closed;

impl<T> Default for Inboxes<T> {
    fn default() -> Self {
        let state = State { queues: Default::default(), waiting: Default::default(), closed: false };
        Inboxes { state: Mutex::new(state) }
    }
}

impl<T> Inboxes<T> {
    /// Queues `item` for `endpoint` and wakes the thread waiting there.
    pub fn put(&self, endpoint: Endpoint, item: T) {
        let mut state = self.state.lock().expect("inboxes");
        state.queues[endpoint.index()].push_back(item);
        let waiting = state.waiting[endpoint.index()].take();
        drop(state);
        if let Some(thread) = waiting {
            thread.unpark();
        }
    }

    /// No more items will come: waiting threads take what is queued, then get [`Closed`].
    pub fn close(&self) {
        let mut state = self.state.lock().expect("inboxes");
        state.closed = true;
        let waiting: Vec<Thread> = state.waiting.iter_mut().filter_map(Option::take).collect();
        drop(state);
        waiting.iter().for_each(Thread::unpark);
    }

    /// The next item for any of `endpoints` (the first of them first), waiting for one without
    /// spinning; `None` after `timeout` (never, when it is `None`).
    pub fn take(&self, endpoints: &[Endpoint], timeout: Option<Duration>) -> Result<Option<T>, Closed> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.state.lock().expect("inboxes");
        loop {
            let item = endpoints.iter().find_map(|e| state.queues[e.index()].pop_front());
            let now = Instant::now();
            let timed_out = deadline.is_some_and(|d| d <= now);
            if item.is_some() || state.closed || timed_out {
                endpoints.iter().for_each(|e| state.waiting[e.index()] = None);
                return match item {
                    None if state.closed => Err(Closed),
                    item => Ok(item),
                };
            }
            endpoints.iter().for_each(|e| state.waiting[e.index()] = Some(thread::current()));
            drop(state);
            // A put between the unlock and the park leaves its wake-up for the park to consume.
            match deadline {
                Some(d) => thread::park_timeout(d - now),
                None => thread::park(),
            }
            state = self.state.lock().expect("inboxes");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_waiting_thread_gets_what_is_put_for_its_endpoints_and_times_out_otherwise() {
        let inboxes = Arc::new(Inboxes::<i32>::default());
        let taker = {
            let inboxes = inboxes.clone();
            thread::spawn(move || inboxes.take(&[Endpoint::Tracker, Endpoint::Events], Some(Duration::from_secs(5))).unwrap())
        };
        thread::sleep(Duration::from_millis(20));
        inboxes.put(Endpoint::Upload, 1);
        inboxes.put(Endpoint::Events, 2);
        assert_eq!(taker.join().unwrap(), Some(2));
        assert_eq!(inboxes.take(&[Endpoint::Download], Some(Duration::from_millis(10))).unwrap(), None);
        assert_eq!(inboxes.take(&[Endpoint::Upload], None).unwrap(), Some(1));
    }

    #[test]
    fn closing_lets_waiters_empty_the_queue_then_fails_them() {
        let inboxes = Arc::new(Inboxes::<i32>::default());
        let taker = {
            let inboxes = inboxes.clone();
            thread::spawn(move || inboxes.take(&[Endpoint::Download], None).map_err(|_| "closed"))
        };
        thread::sleep(Duration::from_millis(20));
        inboxes.close();
        assert_eq!(taker.join().unwrap(), Err("closed"));
        let inboxes = Inboxes::default();
        inboxes.put(Endpoint::Upload, 7);
        inboxes.close();
        assert_eq!(inboxes.take(&[Endpoint::Upload], None).unwrap(), Some(7));
        assert!(inboxes.take(&[Endpoint::Upload], None).is_err());
    }
}
