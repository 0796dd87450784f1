//! How one chunk spread through its swarm: who got it from whom, when, and how many hops from an
//! owner, against the ⌈log₂ n⌉ hops a doubling spread needs to reach n peers.

use crate::analysis::model::{Piece, SwarmModel};
use crate::protocol::ids::{ChunkIdx, FileId, Rank};

/// One holder of the chunk: whom it came from (`None`: an owner), when, and its hops from one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hop {
    pub peer: Rank,
    pub from: Option<Rank>,
    pub at: u64,
    pub depth: usize,
}

/// The chunk's dissemination tree, holders in the order they got it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spread {
    pub holders: Vec<Hop>,
    /// Peers that own or want the file.
    pub peers: usize,
    /// The most hops of any holder.
    pub depth: usize,
    /// ⌈log₂ peers⌉: the hops a spread that doubles its holders every round needs.
    pub bound: u32,
}

pub fn spread(model: &SwarmModel, file: FileId, chunk: ChunkIdx) -> Spread {
    let pieces = model.files.get(file.index()).map(|f| &f.pieces[..]).unwrap_or_default();
    let mut held: Vec<(u64, Option<Rank>, Rank)> = pieces
        .iter()
        .enumerate()
        .filter_map(|(peer, p)| match p.get(chunk.index()) {
            Some(&Piece::Held { at, from }) => Some((at, from, Rank::from_peer_index(peer))),
            _ => None,
        })
        .collect();
    held.sort_unstable_by_key(|&(at, from, peer)| (at, from.is_some(), peer));
    let mut holders: Vec<Hop> = Vec::with_capacity(held.len());
    for (at, from, peer) in held {
        // A source got the chunk before it sent it, so its hop is known by now.
        let depth = from.map_or(0, |f| holders.iter().find(|h| h.peer == f).map_or(0, |h| h.depth) + 1);
        holders.push(Hop { peer, from, at, depth });
    }
    let peers = pieces.iter().filter(|p| !p.is_empty()).count();
    let depth = holders.iter().map(|h| h.depth).max().unwrap_or(0);
    Spread { holders, peers, depth, bound: peers.max(1).next_power_of_two().trailing_zeros() }
}
