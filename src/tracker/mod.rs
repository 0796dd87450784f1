//! Rank 0: registers the peers, answers their requests, and stops them when all are done.

pub mod registry;
pub mod state;

use crate::events::EventSink;
use crate::ids::Rank;
use crate::input::check_input_count;
use crate::output::check_writable;
use crate::message::{Endpoint, Message};
use crate::report::Report;
use crate::run::{RunConfig, RunError};
use crate::transport::Transport;
use registry::Registry;
use std::path::Path;
use std::time::Instant;

pub fn run_tracker<T: Transport>(transport: &T, config: &RunConfig, events: &dyn EventSink) -> Result<Report, RunError> {
    let started = Instant::now();
    let peers = transport.size() as usize - 1;
    let mut registry = Registry::new(peers);
    while !registry.is_complete() {
        let envelope = receive(transport)?;
        match envelope.msg {
            Message::Register(registration) => registry.add(envelope.from, registration).map_err(RunError::Protocol)?,
            other => return Err(RunError::Protocol(format!("expected a registration, got {other:?}"))),
        }
    }
    let checked = registry.into_tracker().and_then(|tracker| {
        check_input_count(&config.inputs, peers).map_err(|e| e.to_string())?;
        if let Some(report) = &config.report {
            let folder = report.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            check_writable(folder).map_err(|problem| format!("{}: {problem}", report.display()))?;
        }
        Ok(tracker)
    });
    let mut tracker = match checked {
        Ok(tracker) => tracker,
        Err(problem) => {
            for i in 0..peers {
                transport.send(Rank::from_peer_index(i), &Message::Abort)?;
            }
            return Err(RunError::Input(problem));
        }
    };

    for (to, msg) in tracker.start(events) {
        transport.send(to, &msg)?;
    }
    while !tracker.all_done() {
        let envelope = receive(transport)?;
        for (to, msg) in tracker.handle(envelope.from, envelope.msg, events).map_err(RunError::Protocol)? {
            transport.send(to, &msg)?;
        }
    }
    Ok(tracker.report(started.elapsed()))
}

fn receive<T: Transport>(transport: &T) -> Result<crate::message::Envelope, RunError> {
    Ok(transport.recv(Endpoint::Tracker, None)?.expect("no timeout was set"))
}
