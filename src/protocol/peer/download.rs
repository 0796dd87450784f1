//! A peer's download thread: fetches each wanted file in turn, doing what the file's [`Fetch`]
//! decides (see [`crate::protocol::peer::fetch`]): it sends, writes the output, waits for the next
//! message for as long as told, and hands back what came, or that nothing did.

use crate::protocol::error::RunError;
use crate::protocol::ids::{ChunkIdx, FileId};
use crate::protocol::message::Endpoint;
use crate::protocol::peer::fetch::{Fetch, Fetched, Memory, Peer, Step};
use crate::protocol::transport::Transport;
use crate::scenario::output::{output_file_name, write_atomically, WriteError};
use std::time::Instant;

pub struct Downloader<'a, T: Transport> {
    pub transport: &'a T,
    pub peer: Peer<'a>,
    pub catalog: &'a [String],
}

impl<T: Transport> Downloader<'_, T> {
    /// Fetches every wanted file in turn; whether this peer left before the end (its upload
    /// thread tells the tracker).
    pub fn run(&self, wanted: &[FileId]) -> Result<bool, RunError> {
        let mut memory = Memory::default();
        let mut left = false;
        for &file in wanted {
            if self.fetch_file(file, &mut memory)? == Fetched::Left {
                left = true;
                break;
            }
        }
        memory.report_interests(self.peer.me, self.peer.events);
        Ok(left)
    }

    fn fetch_file(&self, file: FileId, memory: &mut Memory) -> Result<Fetched, RunError> {
        let mut fetch = Fetch::new(&self.peer, memory, file);
        let mut steps = fetch.start();
        loop {
            let mut until = None;
            for step in steps {
                match step {
                    Step::Send { to, msg } => self.transport.send(to, &msg)?,
                    Step::Write { hashes } => {
                        let (dir, name) =
                            (&self.peer.settings.out, output_file_name(self.peer.me.0, &self.catalog[file.index()]));
                        write_atomically(dir, &name, &hashes).map_err(|source| WriteError { path: dir.join(&name), source })?;
                    }
                    Step::GiveUp { chunk, asks } => self.say_given_up(file, chunk, asks),
                    Step::WaitUntil(at) => until = at,
                    Step::Done(fetched) => return Ok(fetched),
                }
            }
            let timeout = until.map(|at| at.saturating_duration_since(Instant::now()));
            steps = match self.transport.recv(Endpoint::Download, timeout)? {
                Some(envelope) => fetch.on_message(envelope.from, envelope.msg, Instant::now())?,
                None => fetch.on_time(Instant::now())?,
            };
        }
    }

    fn say_given_up(&self, file: FileId, chunk: ChunkIdx, asks: u32) {
        crate::protocol::say(&format!(
            "mpitorrent: peer {} gives up on '{}': no member served chunk {} after {asks} swarm updates",
            self.peer.me,
            self.catalog[file.index()],
            chunk.0
        ));
    }
}
