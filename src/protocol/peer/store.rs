//! What a peer holds. The store is the only way to change a chunk's state, so the upload thread
//! can never serve a chunk that was not verified against the tracker's hash.

use crate::protocol::hash::ChunkHash;
use crate::protocol::ids::{ChunkIdx, FileId};
use crate::protocol::message::{self, Holding};
use fixedbitset::FixedBitSet;
use std::sync::Mutex;

enum FileState {
    Absent,
    /// Being downloaded: the tracker's hashes, and which chunks arrived and matched them.
    Partial {
        expected: Vec<ChunkHash>,
        held: FixedBitSet,
    },
    /// Owned from the start, or completed: every chunk can be served.
    Whole(Vec<ChunkHash>),
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("chunk {} of file {} does not match the tracker's hash", .1.0, .0.0)]
    Mismatch(FileId, ChunkIdx),
    #[error("file {} is not being downloaded", .0.0)]
    NotDownloading(FileId),
    #[error("file {} is missing chunks", .0.0)]
    Incomplete(FileId),
}

pub struct ChunkStore {
    files: Mutex<Vec<FileState>>,
}

impl ChunkStore {
    pub fn new(catalog_len: usize, owned: impl IntoIterator<Item = (FileId, Vec<ChunkHash>)>) -> ChunkStore {
        let mut files: Vec<FileState> = (0..catalog_len).map(|_| FileState::Absent).collect();
        for (file, hashes) in owned {
            files[file.index()] = FileState::Whole(hashes);
        }
        ChunkStore { files: Mutex::new(files) }
    }

    /// The hash to answer a request with, or `None` (NACK) for a chunk not held.
    pub fn serve(&self, file: FileId, chunk: ChunkIdx) -> Option<ChunkHash> {
        let files = self.files.lock().expect("store lock");
        match files.get(file.index())? {
            FileState::Whole(hashes) => hashes.get(chunk.index()).copied(),
            FileState::Partial { expected, held } => held.contains(chunk.index()).then(|| expected[chunk.index()]),
            FileState::Absent => None,
        }
    }

    /// What this peer holds of `file`, as it tells the peers it answers.
    pub fn holding(&self, file: FileId) -> Holding {
        let files = self.files.lock().expect("store lock");
        match files.get(file.index()) {
            Some(FileState::Whole(_)) => Holding::All,
            Some(FileState::Partial { held, .. }) => Holding::Some(held.clone()),
            _ => Holding::Some(FixedBitSet::new()),
        }
    }

    /// Whether this peer holds a chunk of `file` that `held` lacks.
    pub fn offers(&self, file: FileId, held: &FixedBitSet) -> bool {
        let files = self.files.lock().expect("store lock");
        match files.get(file.index()) {
            Some(FileState::Whole(hashes)) => Holding::All.offers(held, hashes.len()),
            Some(FileState::Partial { expected, held: mine }) => message::offers(mine, held, expected.len()),
            _ => false,
        }
    }

    /// The number of chunks of `file`, when this peer knows its hashes.
    pub fn chunks(&self, file: FileId) -> usize {
        let files = self.files.lock().expect("store lock");
        match files.get(file.index()) {
            Some(FileState::Whole(hashes) | FileState::Partial { expected: hashes, .. }) => hashes.len(),
            _ => 0,
        }
    }

    pub fn begin(&self, file: FileId, expected: Vec<ChunkHash>) {
        let mut files = self.files.lock().expect("store lock");
        let held = FixedBitSet::with_capacity(expected.len());
        files[file.index()] = FileState::Partial { expected, held };
    }

    /// Keeps a chunk that arrived with `hash`, if it matches the tracker's, and then calls
    /// `announce` before the store is let go: whatever it records (the chunk's arrival) comes
    /// before anything the upload thread does with the chunk.
    pub fn accept(&self, file: FileId, chunk: ChunkIdx, hash: ChunkHash, announce: impl FnOnce()) -> Result<(), StoreError> {
        let mut files = self.files.lock().expect("store lock");
        match files.get_mut(file.index()) {
            Some(FileState::Partial { expected, held }) if chunk.index() < expected.len() => {
                if expected[chunk.index()] != hash {
                    return Err(StoreError::Mismatch(file, chunk));
                }
                held.insert(chunk.index());
                announce();
                Ok(())
            }
            _ => Err(StoreError::NotDownloading(file)),
        }
    }

    /// Marks a fully downloaded file whole and returns its hashes in chunk order.
    pub fn finish(&self, file: FileId) -> Result<Vec<ChunkHash>, StoreError> {
        let mut files = self.files.lock().expect("store lock");
        let state = files.get_mut(file.index()).ok_or(StoreError::NotDownloading(file))?;
        match state {
            FileState::Partial { expected, held } if held.is_full() => {
                let hashes = std::mem::take(expected);
                *state = FileState::Whole(hashes.clone());
                Ok(hashes)
            }
            FileState::Partial { .. } => Err(StoreError::Incomplete(file)),
            _ => Err(StoreError::NotDownloading(file)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u128) -> ChunkHash {
        ChunkHash::from_u128(n)
    }

    #[test]
    fn owned_files_are_served_whole_and_absent_ones_not_at_all() {
        let store = ChunkStore::new(2, [(FileId(0), vec![h(1), h(2)])]);
        assert_eq!(store.serve(FileId(0), ChunkIdx(1)), Some(h(2)));
        assert_eq!(store.serve(FileId(0), ChunkIdx(2)), None);
        assert_eq!(store.serve(FileId(1), ChunkIdx(0)), None);
        assert_eq!(store.serve(FileId(9), ChunkIdx(0)), None);
        assert_eq!((store.holding(FileId(0)), store.chunks(FileId(0))), (Holding::All, 2));
        assert!(store.offers(FileId(0), &FixedBitSet::with_capacity(2)) && !store.offers(FileId(1), &FixedBitSet::new()));
    }

    #[test]
    fn a_download_serves_only_verified_chunks_and_finishes_when_full() {
        let store = ChunkStore::new(1, []);
        store.begin(FileId(0), vec![h(1), h(2)]);
        assert_eq!(store.accept(FileId(0), ChunkIdx(0), h(9), || ()), Err(StoreError::Mismatch(FileId(0), ChunkIdx(0))));
        assert_eq!(store.serve(FileId(0), ChunkIdx(0)), None);
        store.accept(FileId(0), ChunkIdx(1), h(2), || ()).unwrap();
        assert_eq!(store.serve(FileId(0), ChunkIdx(1)), Some(h(2)));
        let mut one = FixedBitSet::with_capacity(2);
        one.insert(1);
        assert_eq!(store.holding(FileId(0)), Holding::Some(one.clone()));
        assert!(store.offers(FileId(0), &FixedBitSet::with_capacity(2)) && !store.offers(FileId(0), &one));
        assert_eq!(store.finish(FileId(0)), Err(StoreError::Incomplete(FileId(0))));
        store.accept(FileId(0), ChunkIdx(0), h(1), || ()).unwrap();
        assert_eq!(store.finish(FileId(0)), Ok(vec![h(1), h(2)]));
        assert_eq!(store.serve(FileId(0), ChunkIdx(0)), Some(h(1)));
        assert_eq!(store.accept(FileId(0), ChunkIdx(0), h(1), || ()), Err(StoreError::NotDownloading(FileId(0))));
    }
}
