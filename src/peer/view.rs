//! A downloader's picture of one swarm: who holds what, and how busy each member is, from the
//! tracker's last answer plus the requests this peer has sent since.

use crate::ids::{ChunkIdx, Rank};
use crate::message::Swarm;

pub struct SwarmView {
    me: Rank,
    swarm: Swarm,
    /// Requests this peer sent to each member since the tracker's last answer.
    asked: Vec<u64>,
}

impl SwarmView {
    pub fn new(me: Rank, swarm: Swarm) -> SwarmView {
        let asked = vec![0; swarm.len()];
        SwarmView { me, swarm, asked }
    }

    pub fn refresh(&mut self, swarm: Swarm) {
        *self = SwarmView::new(self.me, swarm);
    }

    /// The member, other than this peer and those in `tried`, that holds `chunk` and that this
    /// peer asked least since the tracker's last answer, the least busy among equals. So within
    /// each update interval the requests go round the holders, least busy first, instead of
    /// all going to one.
    pub fn pick(&self, chunk: ChunkIdx, tried: &[Rank]) -> Option<Rank> {
        self.swarm
            .iter()
            .zip(&self.asked)
            .filter(|(m, _)| m.rank != self.me && !tried.contains(&m.rank) && m.holding.has(chunk))
            .min_by_key(|(m, asked)| (**asked, m.uploads))
            .map(|(m, _)| m.rank)
    }

    pub fn note_asked(&mut self, rank: Rank) {
        if let Some(i) = self.swarm.iter().position(|m| m.rank == rank) {
            self.asked[i] += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Holding, SwarmMember};
    use fixedbitset::FixedBitSet;

    fn member(rank: u32, uploads: u64, holding: Holding) -> SwarmMember {
        SwarmMember { rank: Rank(rank), uploads, holding }
    }

    fn holds(chunks: &[usize]) -> Holding {
        let mut bits = FixedBitSet::with_capacity(10);
        chunks.iter().for_each(|&c| bits.insert(c));
        Holding::Some(bits)
    }

    #[test]
    fn picks_the_least_busy_holder_and_skips_itself_and_tried_ones() {
        let view = SwarmView::new(
            Rank(1),
            vec![member(1, 0, Holding::All), member(3, 2, holds(&[0])), member(2, 5, Holding::All)],
        );
        assert_eq!(view.pick(ChunkIdx(0), &[]), Some(Rank(3)));
        assert_eq!(view.pick(ChunkIdx(1), &[]), Some(Rank(2)));
        assert_eq!(view.pick(ChunkIdx(0), &[Rank(3)]), Some(Rank(2)));
        assert_eq!(view.pick(ChunkIdx(0), &[Rank(3), Rank(2)]), None);
    }

    #[test]
    fn spreads_successive_requests_over_the_holders_least_busy_first() {
        let mut view = SwarmView::new(Rank(9), vec![member(1, 0, Holding::All), member(2, 50, Holding::All)]);
        let mut sources = Vec::new();
        for chunk in 0..4 {
            let from = view.pick(ChunkIdx(chunk), &[]).unwrap();
            view.note_asked(from);
            sources.push(from.0);
        }
        assert_eq!(sources, [1, 2, 1, 2]);
        view.refresh(vec![member(2, 0, Holding::All)]);
        assert_eq!(view.pick(ChunkIdx(0), &[]), Some(Rank(2)));
    }
}
