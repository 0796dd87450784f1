//! Sends a peer's events to rank 0 in batches, from a thread of its own, so that emitting an
//! event never waits for the network: a batch goes when it is full, or a short while after its
//! first event, so the dashboard stays live without a message per event.

use crate::protocol::error::RunError;
use crate::protocol::events::{After, Clock, Event, EventSink, Stamped};
use crate::protocol::ids::Rank;
use crate::protocol::message::Message;
use crate::protocol::transport::Transport;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Events in a full batch.
const BATCH: usize = 512;
/// How long a batch waits for more events after its first one.
const LINGER: Duration = Duration::from_millis(50);

pub struct Forwarder {
    clock: Clock,
    shared: Arc<(Mutex<Batch>, Condvar)>,
    flusher: Mutex<Option<JoinHandle<Result<(), RunError>>>>,
}

#[derive(Default)]
struct Batch {
    events: Vec<(Stamped, Option<After>)>,
    /// Events emitted so far, sent or not.
    emitted: u64,
    /// No more events will come: send what is left as the last batch.
    closing: bool,
}

impl Forwarder {
    pub fn start<T: Transport>(transport: Arc<T>, clock: Clock) -> Forwarder {
        let shared = Arc::new((Mutex::new(Batch::default()), Condvar::new()));
        let flusher = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("events".into())
                .spawn(move || flush_batches(&*transport, &shared))
                .expect("spawn the events thread")
        };
        Forwarder { clock, shared, flusher: Mutex::new(Some(flusher)) }
    }

    /// Sends the last batch, once the peer has stopped, and waits until it is on its way.
    pub fn finish(&self) -> Result<(), RunError> {
        self.close();
        match self.flusher.lock().expect("flusher").take() {
            Some(flusher) => flusher.join().expect("events thread"),
            None => Ok(()),
        }
    }

    fn close(&self) {
        let (batch, wake) = &*self.shared;
        batch.lock().expect("event batch").closing = true;
        wake.notify_one();
    }
}

impl Drop for Forwarder {
    /// A peer that failed still lets its events thread end (it sends what it has, if it can).
    fn drop(&mut self) {
        self.close();
    }
}

impl Forwarder {
    fn queue(&self, event: Event, after: Option<After>) {
        let (batch, wake) = &*self.shared;
        let mut batch = batch.lock().expect("event batch");
        batch.events.push((self.clock.stamp(event), after));
        batch.emitted += 1;
        if batch.events.len() == 1 || batch.events.len() >= BATCH {
            wake.notify_one();
        }
    }
}

impl EventSink for Forwarder {
    fn emit(&self, event: Event) {
        self.queue(event, None);
    }

    fn emit_after(&self, event: Event, after: After) {
        self.queue(event, Some(after));
    }

    fn emitted(&self) -> u64 {
        self.shared.0.lock().expect("event batch").emitted
    }
}

fn flush_batches<T: Transport>(transport: &T, shared: &(Mutex<Batch>, Condvar)) -> Result<(), RunError> {
    let (batch, wake) = shared;
    let mut guard = batch.lock().expect("event batch");
    loop {
        while guard.events.is_empty() && !guard.closing {
            guard = wake.wait(guard).expect("event batch");
        }
        if !guard.closing && guard.events.len() < BATCH {
            guard = wake.wait_timeout(guard, LINGER).expect("event batch").0;
        }
        let events = std::mem::take(&mut guard.events);
        let last = guard.closing;
        drop(guard);
        transport.send(Rank::TRACKER, &Message::Events { events, last })?;
        if last {
            return Ok(());
        }
        guard = batch.lock().expect("event batch");
    }
}
