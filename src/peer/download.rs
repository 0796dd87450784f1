//! A peer's download thread: fetches each wanted file chunk by chunk from the swarm, reports to
//! the tracker every few chunks, and writes each file when it is complete.

use crate::events::{Event, EventSink};
use crate::hash::ChunkHash;
use crate::ids::{ChunkIdx, FileId, Rank};
use crate::message::{Endpoint, Message, Received, Swarm};
use crate::output::{output_file_name, write_atomically};
use crate::peer::store::ChunkStore;
use crate::peer::view::SwarmView;
use crate::run::{RunConfig, RunError};
use crate::transport::Transport;
use std::time::Duration;

/// The longest a downloader waits before asking the tracker again when nobody holds a chunk.
const LONGEST_BACKOFF: Duration = Duration::from_millis(100);

pub struct Downloader<'a, T: Transport> {
    pub transport: &'a T,
    pub store: &'a ChunkStore,
    pub config: &'a RunConfig,
    pub catalog: &'a [String],
    pub events: &'a dyn EventSink,
}

/// One file's download in progress.
struct Fetch {
    file: FileId,
    hashes: Vec<ChunkHash>,
    view: SwarmView,
    /// Chunks received since the last report to the tracker.
    unreported: Vec<Received>,
}

impl<T: Transport> Downloader<'_, T> {
    pub fn run(&self, wanted: &[FileId]) -> Result<(), RunError> {
        for &file in wanted {
            self.fetch_file(file)?;
        }
        Ok(())
    }

    fn me(&self) -> Rank {
        self.transport.rank()
    }

    fn fetch_file(&self, file: FileId) -> Result<(), RunError> {
        self.transport.send(Rank::TRACKER, &Message::FileRequest { file })?;
        let (hashes, swarm) = self.expect("the file's hashes and swarm", |msg| match msg {
            Message::FileInfo { file: f, hashes, swarm } if f == file => Ok((hashes, swarm)),
            other => Err(other),
        })?;
        self.store.begin(file, hashes.clone());
        let mut fetch = Fetch { file, hashes, view: SwarmView::new(self.me(), swarm), unreported: Vec::new() };
        let chunks = fetch.hashes.len();
        for chunk in (0..chunks).map(|c| ChunkIdx(c as u32)) {
            let from = self.fetch_chunk(&mut fetch, chunk)?;
            fetch.unreported.push(Received { chunk, from });
            if fetch.unreported.len() >= self.config.update_every && chunk.index() + 1 < chunks {
                self.update(&mut fetch)?;
            }
        }

        let hashes = self.store.finish(file).map_err(|e| RunError::Protocol(e.to_string()))?;
        let name = output_file_name(self.me().0, &self.catalog[file.index()]);
        write_atomically(&self.config.out, &name, &hashes)
            .map_err(|e| RunError::Output(format!("{}: cannot write: {e}", self.config.out.join(&name).display())))?;
        let received = std::mem::take(&mut fetch.unreported);
        self.transport.send(Rank::TRACKER, &Message::FileComplete { file, received })?;
        self.events.emit(Event::FileCompleted { peer: self.me(), file });
        Ok(())
    }

    /// Gets one chunk from the least busy member that holds it, trying the others on a NACK or a
    /// wrong hash. When no member is known to hold it, asks the tracker again, backing off.
    fn fetch_chunk(&self, fetch: &mut Fetch, chunk: ChunkIdx) -> Result<Rank, RunError> {
        let (me, file) = (self.me(), fetch.file);
        let mut tried = Vec::new();
        let mut backoff = Duration::from_millis(1);
        let mut refreshes = 0;
        loop {
            let Some(uploader) = fetch.view.pick(chunk, &tried) else {
                if refreshes > 0 {
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(LONGEST_BACKOFF);
                }
                refreshes += 1;
                self.update(fetch)?;
                tried.clear();
                continue;
            };
            fetch.view.note_asked(uploader);
            self.events.emit(Event::ChunkRequested { downloader: me, uploader, file, chunk });
            self.transport.send(uploader, &Message::ChunkRequest { file, chunk })?;
            let answer = self.expect("a chunk reply", |msg| match msg {
                Message::ChunkReply { file: f, chunk: c, hash } if f == file && c == chunk => Ok(hash),
                other => Err(other),
            })?;
            match answer {
                Some(hash) if self.store.accept(file, chunk, hash).is_ok() => {
                    self.events.emit(Event::ChunkReceived { downloader: me, uploader, file, chunk });
                    return Ok(uploader);
                }
                Some(_) => self.events.emit(Event::ChunkRejected { downloader: me, uploader, file, chunk }),
                None => self.events.emit(Event::ChunkNacked { downloader: me, uploader, file, chunk }),
            }
            tried.push(uploader);
        }
    }

    /// Reports the chunks received since the last report and takes the tracker's fresh swarm.
    fn update(&self, fetch: &mut Fetch) -> Result<(), RunError> {
        let file = fetch.file;
        let received = std::mem::take(&mut fetch.unreported);
        self.transport.send(Rank::TRACKER, &Message::Update { file, received })?;
        let swarm: Swarm = self.expect("a swarm update", |msg| match msg {
            Message::SwarmReply { file: f, swarm } if f == file => Ok(swarm),
            other => Err(other),
        })?;
        fetch.view.refresh(swarm);
        Ok(())
    }

    /// Waits for the next message to this thread, which must be the one `accept` takes.
    fn expect<R>(&self, what: &str, accept: impl FnOnce(Message) -> Result<R, Message>) -> Result<R, RunError> {
        let envelope = self.transport.recv(Endpoint::Download, None)?.expect("no timeout was set");
        accept(envelope.msg).map_err(|other| {
            RunError::Protocol(format!("expected {what}, got {other:?} from rank {}", envelope.from))
        })
    }
}
