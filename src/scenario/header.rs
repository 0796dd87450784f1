//! What a run is about, known before its first event: the scenario as the tracker checked it,
//! and the options it runs with. The tracker announces it; the log's first line holds it.

use crate::protocol::ids::FileId;
use crate::scenario::capacity::Capacity;
use crate::scenario::fault::Faults;
use crate::scenario::input::Invalid;
use crate::scenario::settings::Settings;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a run is about, known before its first event: the scenario and the options.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunHeader {
    pub peers: u32,
    pub files: Vec<FileSpec>,
    /// Per peer (rank 1 first), the files it owns at the start.
    pub owned: Vec<Vec<FileId>>,
    /// Per peer, the files it wants, in the order it fetches them.
    pub wanted: Vec<Vec<FileId>>,
    pub options: Settings,
    /// Per peer, its capacity from the capacity file; empty when there was none (logs from before
    /// it say nothing either), and every peer then has the options' upload slots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacities: Vec<Capacity>,
    /// Peers that left or sent wrong hashes, by the run's options and its faults file.
    #[serde(default, skip_serializing_if = "Faults::is_empty")]
    pub faults: Faults,
}

impl RunHeader {
    /// Checks that the header is consistent with itself, as one read from a log must be before a
    /// model is built on it.
    pub fn validate(&self) -> Result<(), Invalid> {
        let peers = self.peers as usize;
        if self.owned.len() != peers || self.wanted.len() != peers {
            return Err(Invalid(format!(
                "{} peers, but owned files for {} and wanted files for {}",
                peers,
                self.owned.len(),
                self.wanted.len()
            )));
        }
        if !self.capacities.is_empty() && self.capacities.len() != peers {
            return Err(Invalid(format!("{peers} peers, but capacities for {}", self.capacities.len())));
        }
        if let Some(at) = self.capacities.iter().position(|c| c.upload_slots == 0 || c.download_limit == Some(0)) {
            return Err(Invalid(format!("peer {} has a capacity of 0", at + 1)));
        }
        let files = self.files.len();
        if let Some(bad) = self.owned.iter().chain(&self.wanted).flatten().find(|f| f.index() >= files) {
            return Err(Invalid(format!("file {} named, but there are {files} files", bad.0)));
        }
        Ok(())
    }

    /// Peer `index`'s capacity (rank 1 is peer 0).
    pub fn capacity(&self, index: usize) -> Capacity {
        self.capacities.get(index).copied().unwrap_or(Capacity::uniform(self.options.upload_slots))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FileSpec {
    pub name: String,
    pub chunks: u32,
}
