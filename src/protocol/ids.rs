//! Validated index newtypes, so a rank is never confused with a file or a chunk.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An MPI rank. Rank 0 is the tracker; every other rank is a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Rank(pub u32);

impl Rank {
    pub const TRACKER: Rank = Rank(0);

    /// Position of a peer in per-peer tables (rank 1 is index 0).
    pub fn peer_index(self) -> usize {
        debug_assert!(self != Rank::TRACKER, "the tracker is not a peer");
        self.0 as usize - 1
    }

    pub fn from_peer_index(index: usize) -> Rank {
        Rank(index as u32 + 1)
    }
}

impl fmt::Display for Rank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A file's position in the tracker's catalog (names sorted), shared by every rank after the start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct FileId(pub u32);

impl FileId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A chunk's position inside its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct ChunkIdx(pub u32);

impl ChunkIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
