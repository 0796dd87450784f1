//! The choices that shape how a swarm shares work: in which order a peer asks for chunks, and
//! whom. A run's settings select them (`scenario::settings::Strategy`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// In which order a downloader asks for the chunks of a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PieceOrder {
    /// First chunk first: the classic behaviour.
    #[default]
    Sequential,
    /// A random order of its own for each peer and file.
    Random,
    /// The chunks the fewest swarm members hold first, by the tracker's latest swarm; ties in a
    /// random order of the peer's own, so peers do not all chase the same rare chunk.
    Rarest,
}

impl PieceOrder {
    pub const ALL: [PieceOrder; 3] = [PieceOrder::Sequential, PieceOrder::Random, PieceOrder::Rarest];
}

/// Which of the members holding a chunk a downloader asks for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PeerChoice {
    /// The one asked least since the last swarm update, the least busy (uploads served) among
    /// equals: the classic behaviour.
    #[default]
    Busyness,
    /// Any holder, at random.
    Random,
    /// The holders in turn, by rank.
    RoundRobin,
    /// The holder with the shortest upload queue, as last reported, counting this peer's own
    /// requests to it since.
    ShortestQueue,
    /// With a chunk time: interests at up to 16 members (those known to hold a chunk this peer
    /// lacks first), each answered when its member has a free upload slot and such a chunk; the
    /// peer then names the chunk, by the piece order, so chunk and uploader are chosen when the
    /// upload can start. Without a chunk time, as `busyness`.
    FirstFree,
    /// BitTorrent's choking: an uploader serves only the peers it unchokes (the `--unchoke` that
    /// gave it most in the last window, or, once it downloads nothing, those it sent most, plus
    /// one optimistic unchoke rotated every few windows); a downloader asks unchoked holders by
    /// name, as `busyness` does, and sends the others an interest, answered once it is unchoked.
    TitForTat,
}

impl PeerChoice {
    pub const ALL: [PeerChoice; 6] = [
        PeerChoice::Busyness,
        PeerChoice::Random,
        PeerChoice::RoundRobin,
        PeerChoice::ShortestQueue,
        PeerChoice::FirstFree,
        PeerChoice::TitForTat,
    ];
}
