//! Rank 0: registers the peers, answers their requests, stops them when all are done, and hands
//! the run's events (its own and the peers') to whatever consumes them.

pub mod holdback;
pub mod registry;
pub mod state;

use crate::protocol::error::{Breach, Refusal, RunError};
use crate::protocol::events::{process_cpu_us, After, Clock, Event, EventSink, Feed, Stamped};
use crate::protocol::ids::Rank;
use crate::protocol::message::{Endpoint, Message};
use crate::protocol::transport::start_lead;
use crate::protocol::transport::Transport;
use crate::scenario::capacity::{read_capacities, Capacity};
use crate::scenario::fault::read_faults;
use crate::scenario::input::check_input_count;
use crate::scenario::settings::Settings;
use crossbeam_channel::Sender;
use holdback::Holdback;
use registry::Registry;
use std::sync::Mutex;

/// Runs the tracker until every peer is done and every peer's last events arrived, feeding the
/// run's header and then its events to `feed`.
/// Rank 0's refusal of its own options, when it has one, is reported like an input error once
/// every peer registered: every rank then stops cleanly.
pub fn run_tracker<T: Transport>(
    transport: &T,
    settings: &Settings,
    refusal: Option<Refusal>,
    feed: Sender<Feed>,
) -> Result<(), RunError> {
    let peers = transport.size() as usize - 1;
    let mut registry = Registry::new(peers);
    while !registry.is_complete() {
        let envelope = receive(transport, &[Endpoint::Tracker])?;
        match envelope.msg {
            Message::Register(registration) => registry.add(envelope.from, registration).map_err(RunError::Protocol)?,
            other => return Err(RunError::Protocol(Breach(format!("expected a registration, got {other:?}")))),
        }
    }
    let checked = registry.into_tracker().and_then(|tracker| {
        check_input_count(&settings.inputs, peers)?;
        let faults = read_faults(&settings.faults, settings.faults_file.as_deref())?;
        faults.check(transport.size())?;
        tracker.check_free_riders(&faults)?;
        let capacities = match &settings.capacities {
            Some(path) => read_capacities(path, peers, settings.upload_slots)?,
            None => vec![Capacity::uniform(settings.upload_slots); peers],
        };
        refusal.map_or(Ok((tracker, capacities, faults)), |refusal| Err(RunError::Refused(refusal)))
    });
    let (mut tracker, capacities, faults) = match checked {
        Ok(checked) => checked,
        Err(problem) => {
            for i in 0..peers {
                transport.send(Rank::from_peer_index(i), &Message::Abort)?;
            }
            return Err(problem);
        }
    };

    let _ = feed.send(Feed::Begin(Box::new(tracker.header(settings.as_recorded(), capacities.clone(), faults.clone()))));
    let lead = start_lead(transport);
    let clock = Clock::starting_in(lead);
    let events = FeedSink { feed: feed.clone(), clock, order: Mutex::new(Order::new(transport.size() as usize)) };
    // MPI's start-up and the wait for registrations are not the run's work.
    let cpu_at_start = process_cpu_us();
    for (to, msg) in tracker.start(clock.epoch_us(), &capacities, &faults, &events) {
        transport.send(to, &msg)?;
    }
    // Every peer asks for its first file as the run starts.
    std::thread::sleep(lead);
    transport.expect_messages();
    // Peers send their last events after the stop, so the run is over when all of those came.
    let mut finished_peers = 0;
    while !tracker.all_done() || finished_peers < peers {
        let envelope = receive(transport, &[Endpoint::Tracker, Endpoint::Events])?;
        match envelope.msg {
            Message::Events { events: batch, last } => {
                events.take(envelope.from, batch);
                finished_peers += usize::from(last);
            }
            msg => {
                // What the tracker emits in answer is recorded after what the peer emitted first.
                let cause = msg.emitted().map(|events| After { rank: envelope.from, events });
                events.order.lock().expect("event order").cause = cause;
                let answers = tracker.handle(envelope.from, msg, &events).map_err(RunError::Protocol);
                events.order.lock().expect("event order").cause = None;
                for (to, msg) in answers? {
                    transport.send(to, &msg)?;
                }
            }
        }
    }
    if transport.is_own_process() {
        events.emit(Event::CpuUsed { rank: Rank::TRACKER, micros: process_cpu_us().saturating_sub(cpu_at_start) });
    }
    events.flush();
    Ok(())
}

/// Every event of the run, the tracker's stamped by its clock, into the feed once what it follows
/// from is in (see [`holdback`]).
struct FeedSink {
    feed: Sender<Feed>,
    clock: Clock,
    order: Mutex<Order>,
}

struct Order {
    holdback: Holdback,
    /// What the tracker's events follow from while it answers a peer's request.
    cause: Option<After>,
}

impl Order {
    fn new(ranks: usize) -> Order {
        Order { holdback: Holdback::new(ranks), cause: None }
    }
}

impl FeedSink {
    /// A batch of a peer's events.
    fn take(&self, from: Rank, batch: Vec<(Stamped, Option<After>)>) {
        self.order.lock().expect("event order").holdback.take(from, batch, &mut |event| self.send(event));
    }

    /// The run is over: whatever is held still goes out.
    fn flush(&self) {
        self.order.lock().expect("event order").holdback.flush(&mut |event| self.send(event));
    }

    fn send(&self, event: Stamped) {
        // A consumer that stopped listening (a closed dashboard) does not stop the run.
        let _ = self.feed.send(Feed::Event(event));
    }
}

impl EventSink for FeedSink {
    fn emit(&self, event: Event) {
        let mut order = self.order.lock().expect("event order");
        let caused = (self.clock.stamp(event), order.cause);
        order.holdback.take(Rank::TRACKER, [caused], &mut |event| self.send(event));
    }

    fn emitted(&self) -> u64 {
        self.order.lock().expect("event order").holdback.taken(Rank::TRACKER)
    }
}

fn receive<T: Transport>(transport: &T, endpoints: &[Endpoint]) -> Result<crate::protocol::message::Envelope, RunError> {
    Ok(transport.recv_any(endpoints, None)?.expect("no timeout was set"))
}
