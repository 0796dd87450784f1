//! A peer's upload thread: answers chunk requests until the tracker says stop. It serves up to
//! its upload slots at once, each chunk taking the chunk time; other requests wait in its queue,
//! first come, first served. A NACK costs nothing and is sent at once.

use crate::events::{Event, EventSink};
use crate::hash::ChunkHash;
use crate::ids::{ChunkIdx, FileId, Rank};
use crate::message::{Endpoint, Message};
use crate::peer::store::ChunkStore;
use crate::run::RunError;
use crate::transport::Transport;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A chunk to send: to whom, which, and its hash.
struct Upload {
    to: Rank,
    file: FileId,
    chunk: ChunkIdx,
    hash: ChunkHash,
}

pub struct Uploader<'a, T: Transport> {
    pub transport: &'a T,
    pub store: &'a ChunkStore,
    pub chunk_time: Duration,
    pub slots: usize,
    pub events: &'a dyn EventSink,
    /// Requests waiting or being served, for the peer's reports to the tracker.
    pub queue: &'a AtomicU32,
}

impl<T: Transport> Uploader<'_, T> {
    pub fn serve(&self) -> Result<(), RunError> {
        let mut waiting: VecDeque<Upload> = VecDeque::new();
        // Transfers under way and when each is done.
        let mut sending: Vec<(Instant, Upload)> = Vec::new();
        loop {
            while sending.len() < self.slots {
                let Some(upload) = waiting.pop_front() else { break };
                sending.push((Instant::now() + self.chunk_time, upload));
            }
            let now = Instant::now();
            let (done, busy): (Vec<_>, Vec<_>) = sending.into_iter().partition(|(at, _)| *at <= now);
            sending = busy;
            for (_, upload) in done {
                self.answer(upload)?;
            }
            if sending.len() < self.slots && !waiting.is_empty() {
                continue; // a slot came free: start the next transfer first
            }
            self.queue.store((waiting.len() + sending.len()) as u32, Ordering::Relaxed);
            // Sleep until a request comes or the next transfer is done.
            let until_next = sending.iter().map(|(at, _)| at.saturating_duration_since(now)).min();
            let Some(envelope) = self.transport.recv(Endpoint::Upload, until_next)? else { continue };
            match envelope.msg {
                Message::ChunkRequest { file, chunk } => {
                    let to = envelope.from;
                    match self.store.serve(file, chunk) {
                        None => self.transport.send(to, &Message::ChunkReply { file, chunk, hash: None })?,
                        Some(hash) if self.chunk_time.is_zero() => self.answer(Upload { to, file, chunk, hash })?,
                        Some(hash) => waiting.push_back(Upload { to, file, chunk, hash }),
                    }
                }
                Message::Stop if envelope.from == Rank::TRACKER => return Ok(()),
                other => {
                    return Err(RunError::Protocol(format!("upload thread got {other:?} from rank {}", envelope.from)))
                }
            }
        }
    }

    fn answer(&self, upload: Upload) -> Result<(), RunError> {
        let Upload { to, file, chunk, hash } = upload;
        let uploader = self.transport.rank();
        self.events.emit(Event::ChunkServed { uploader, downloader: to, file, chunk });
        self.transport.send(to, &Message::ChunkReply { file, chunk, hash: Some(hash) })?;
        Ok(())
    }
}
