//! A rank's inboxes in the in-process transport: a queue per endpoint, which the endpoint's one
//! thread blocks on (a second thread waiting on the same endpoint would not be woken).
//!
//! Not a channel: crossbeam's (and std's) receive spins and then yields its core four times
//! before it blocks. With dozens of ranks on two cores, every thread that finds its inbox empty
//! then goes round the run queue (docs/performance.md measures the cost); here a thread with
//! nothing to take parks at once.

use crate::protocol::message::Endpoint;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

pub struct Inboxes<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    /// Each item with its place in the order of arrival, so that a thread waiting on several
    /// endpoints takes them in that order.
    queues: [VecDeque<(u64, T)>; 4],
    arrived: u64,
    /// The thread parked on each endpoint, if one is.
    waiting: [Option<Thread>; 4],
}

impl<T> Default for Inboxes<T> {
    fn default() -> Self {
        let state = State { queues: Default::default(), arrived: 0, waiting: Default::default() };
        Inboxes { state: Mutex::new(state) }
    }
}

impl<T> Inboxes<T> {
    /// Queues `item` for `endpoint` and wakes the thread waiting there.
    pub fn put(&self, endpoint: Endpoint, item: T) {
        let mut state = self.state.lock().expect("inboxes");
        state.arrived += 1;
        let place = state.arrived;
        state.queues[endpoint.index()].push_back((place, item));
        let waiting = state.waiting[endpoint.index()].take();
        drop(state);
        if let Some(thread) = waiting {
            thread.unpark();
        }
    }

    /// The oldest item for any of `endpoints`, waiting for one without spinning; `None` after
    /// `timeout` (never, when it is `None`).
    pub fn take(&self, endpoints: &[Endpoint], timeout: Option<Duration>) -> Option<T> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.state.lock().expect("inboxes");
        loop {
            let oldest = endpoints.iter().filter_map(|e| Some((state.queues[e.index()].front()?.0, e.index()))).min();
            let item = oldest.and_then(|(_, at)| state.queues[at].pop_front()).map(|(_, item)| item);
            let now = Instant::now();
            let timed_out = deadline.is_some_and(|d| d <= now);
            if item.is_some() || timed_out {
                endpoints.iter().for_each(|e| state.waiting[e.index()] = None);
                return item;
            }
            for e in endpoints {
                let waiting = &mut state.waiting[e.index()];
                debug_assert!(waiting.as_ref().is_none_or(|t| t.id() == thread::current().id()), "two threads wait on {e:?}");
                *waiting = Some(thread::current());
            }
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
            thread::spawn(move || inboxes.take(&[Endpoint::Tracker, Endpoint::Events], Some(Duration::from_secs(5))))
        };
        thread::sleep(Duration::from_millis(20));
        let put = Instant::now();
        inboxes.put(Endpoint::Upload, 1);
        inboxes.put(Endpoint::Events, 2);
        assert_eq!(taker.join().unwrap(), Some(2));
        assert!(put.elapsed() < Duration::from_secs(2), "the waiting thread was woken, not timed out");
        inboxes.put(Endpoint::Events, 3);
        inboxes.put(Endpoint::Tracker, 4);
        let both = [Endpoint::Tracker, Endpoint::Events];
        assert_eq!([(); 2].map(|_| inboxes.take(&both, None)), [Some(3), Some(4)], "in the order they came");
        assert_eq!(inboxes.take(&[Endpoint::Download], Some(Duration::from_millis(10))), None);
        assert_eq!(inboxes.take(&[Endpoint::Upload], None), Some(1));
    }
}
