//! A peer's upload thread: answers chunk requests, one at a time, until the tracker says stop.
//! Requests that arrive while it serves wait in the transport's queue.

use crate::events::{Event, EventSink};
use crate::message::{Endpoint, Message};
use crate::peer::store::ChunkStore;
use crate::run::RunError;
use crate::transport::Transport;
use std::time::Duration;

pub fn serve<T: Transport>(
    transport: &T,
    store: &ChunkStore,
    chunk_time: Duration,
    events: &dyn EventSink,
) -> Result<(), RunError> {
    let me = transport.rank();
    loop {
        let envelope = transport.recv(Endpoint::Upload, None)?.expect("no timeout was set");
        match envelope.msg {
            Message::ChunkRequest { file, chunk } => {
                let hash = store.serve(file, chunk);
                if hash.is_some() {
                    // The simulated cost of sending a chunk; a NACK costs nothing.
                    if !chunk_time.is_zero() {
                        std::thread::sleep(chunk_time);
                    }
                    events.emit(Event::ChunkServed { uploader: me, downloader: envelope.from, file, chunk });
                }
                transport.send(envelope.from, &Message::ChunkReply { file, chunk, hash })?;
            }
            Message::Stop if envelope.from == crate::ids::Rank::TRACKER => return Ok(()),
            other => {
                return Err(RunError::Protocol(format!("upload thread got {other:?} from rank {}", envelope.from)))
            }
        }
    }
}
