//! A peer rank: registers its input with the tracker, then runs a download thread and an upload
//! thread until the tracker says stop.

pub mod download;
pub mod store;
pub mod upload;
pub mod view;

use crate::events::Tally;
use crate::ids::{FileId, Rank};
use crate::input::{input_path, read_peer_input, InputError, PeerInput};
use crate::message::{Endpoint, Message, Registration};
use crate::output::check_writable;
use crate::run::{RunConfig, RunError};
use crate::transport::Transport;
use download::Downloader;
use std::sync::Arc;
use store::ChunkStore;

pub fn run_peer<T: Transport>(transport: Arc<T>, config: &RunConfig) -> Result<(), RunError> {
    let me = transport.rank();
    let path = input_path(&config.inputs, me.0);
    let shown = path.display().to_string();
    let input = read_peer_input(&path).and_then(|input| {
        check_writable(&config.out).map_err(|p| InputError::new(config.out.display().to_string(), None, p))?;
        Ok(input)
    });
    // Every peer registers, even with a broken input, so the tracker can stop the whole run.
    transport.send(Rank::TRACKER, &Message::Register(Registration { path: shown, input: input.clone() }))?;

    let envelope = transport.recv(Endpoint::Download, None)?.expect("no timeout was set");
    let catalog = match envelope.msg {
        Message::Start { catalog } => catalog,
        Message::Abort => return Err(RunError::Aborted),
        other => return Err(RunError::Protocol(format!("expected the tracker's start, got {other:?}"))),
    };
    let input = input.map_err(|e| RunError::Protocol(format!("the tracker started a run despite {e}")))?;
    let (store, wanted) = prepare(&catalog, input)?;

    let store = Arc::new(store);
    let tally = Arc::new(Tally::default());
    let uploads = {
        let (transport, store, tally, chunk_time) = (transport.clone(), store.clone(), tally.clone(), config.chunk_time);
        spawn("upload", move || upload::serve(&*transport, &store, chunk_time, &*tally))
    };
    let downloads = {
        let (transport, config) = (transport.clone(), config.clone());
        spawn("download", move || {
            let downloader =
                Downloader { transport: &*transport, store: &store, config: &config, catalog: &catalog, events: &*tally };
            downloader.run(&wanted)?;
            transport.send(Rank::TRACKER, &Message::PeerDone(tally.snapshot()))?;
            Ok(())
        })
    };
    // On a download error the upload thread is not waited for: it would wait for a stop that never
    // comes, and the caller ends the whole run anyway.
    downloads.join().expect("download thread")?;
    uploads.join().expect("upload thread")
}

fn spawn(
    name: &str,
    work: impl FnOnce() -> Result<(), RunError> + Send + 'static,
) -> std::thread::JoinHandle<Result<(), RunError>> {
    std::thread::Builder::new().name(name.into()).spawn(work).expect("spawn a thread")
}

/// The store seeded with this peer's own files, and its wanted files as catalog ids.
fn prepare(catalog: &[String], input: PeerInput) -> Result<(ChunkStore, Vec<FileId>), RunError> {
    let id = |name: &str| {
        catalog
            .iter()
            .position(|n| n == name)
            .map(|i| FileId(i as u32))
            .ok_or_else(|| RunError::Protocol(format!("'{name}' is missing from the tracker's catalog")))
    };
    let owned = input.owned.into_iter().map(|o| Ok((id(&o.name)?, o.hashes))).collect::<Result<Vec<_>, RunError>>()?;
    let wanted = input.wanted.iter().map(|w| id(&w.name)).collect::<Result<Vec<_>, _>>()?;
    Ok((ChunkStore::new(catalog.len(), owned), wanted))
}
