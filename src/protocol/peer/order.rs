//! The order in which a downloader asks for the chunks of a file it has not asked for yet.

use crate::protocol::ids::ChunkIdx;
use crate::protocol::strategy::PieceOrder;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use std::collections::VecDeque;

#[derive(Default)]
pub struct ChunkOrder {
    /// Chunks never asked for, the next one first.
    remaining: VecDeque<ChunkIdx>,
    rarest: bool,
}

impl ChunkOrder {
    pub fn new(chunks: usize, order: PieceOrder, rng: &mut SmallRng) -> ChunkOrder {
        let mut remaining: Vec<ChunkIdx> = (0..chunks as u32).map(ChunkIdx).collect();
        if order != PieceOrder::Sequential {
            // Random order, and the rarest-first order's tie-break: a peer's own shuffle.
            remaining.shuffle(rng);
        }
        ChunkOrder { remaining: remaining.into(), rarest: order == PieceOrder::Rarest }
    }

    pub fn take_next(&mut self) -> Option<ChunkIdx> {
        self.remaining.pop_front()
    }

    /// Puts chunks back to be asked for first (in the rarest-first order, until the next rerank).
    pub fn put_back(&mut self, chunks: impl IntoIterator<Item = ChunkIdx>) {
        let mut chunks: Vec<ChunkIdx> = chunks.into_iter().collect();
        if !self.rarest {
            // The sequential order stays sequential; a random one is no worse for it.
            chunks.sort_unstable();
        }
        for chunk in chunks.into_iter().rev() {
            self.remaining.push_front(chunk);
        }
    }

    /// Takes out the first chunk, in order, that is `wanted`.
    pub fn take_first(&mut self, wanted: impl FnMut(&ChunkIdx) -> bool) -> Option<ChunkIdx> {
        let at = self.remaining.iter().position(wanted)?;
        self.remaining.remove(at)
    }

    pub fn is_empty(&self) -> bool {
        self.remaining.is_empty()
    }

    /// For the rarest-first order, ranks the remaining chunks by `holders` (how many members
    /// hold each chunk, or counts off by the same number for every chunk; none past its end),
    /// fewest first, keeping the earlier order among equals.
    pub fn rerank(&mut self, holders: &[u32]) {
        if self.rarest {
            self.remaining.make_contiguous().sort_by_key(|c| holders.get(c.index()).copied().unwrap_or(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn drain(order: &mut ChunkOrder) -> Vec<u32> {
        std::iter::from_fn(|| order.take_next()).map(|c| c.0).collect()
    }

    #[test]
    fn sequential_is_in_order_and_random_is_a_repeatable_permutation() {
        let mut rng = SmallRng::seed_from_u64(3);
        assert_eq!(drain(&mut ChunkOrder::new(5, PieceOrder::Sequential, &mut rng)), [0, 1, 2, 3, 4]);
        let shuffled = drain(&mut ChunkOrder::new(50, PieceOrder::Random, &mut SmallRng::seed_from_u64(3)));
        assert_eq!(shuffled, drain(&mut ChunkOrder::new(50, PieceOrder::Random, &mut SmallRng::seed_from_u64(3))));
        assert_ne!(shuffled, (0..50).collect::<Vec<_>>());
        let mut sorted = shuffled.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn rarest_first_follows_the_holder_counts() {
        let mut order = ChunkOrder::new(4, PieceOrder::Rarest, &mut SmallRng::seed_from_u64(1));
        order.rerank(&[3, 1, 2, 1]);
        let first_two = [order.take_next().unwrap().0, order.take_next().unwrap().0];
        assert!(first_two.contains(&1) && first_two.contains(&3), "{first_two:?}");
        order.rerank(&[0, 9, 5, 9]);
        assert_eq!(drain(&mut order), [0, 2]);
        let mut sequential = ChunkOrder::new(3, PieceOrder::Sequential, &mut SmallRng::seed_from_u64(1));
        sequential.rerank(&[2, 1, 0]);
        assert_eq!(drain(&mut sequential), [0, 1, 2], "only rarest-first reranks");
    }

    #[test]
    fn chunks_put_back_come_first() {
        let mut sequential = ChunkOrder::new(5, PieceOrder::Sequential, &mut SmallRng::seed_from_u64(1));
        let _ = [sequential.take_next(), sequential.take_next(), sequential.take_next()];
        sequential.put_back([ChunkIdx(2), ChunkIdx(0)]);
        assert_eq!(drain(&mut sequential), [0, 2, 3, 4]);
        let mut rarest = ChunkOrder::new(3, PieceOrder::Rarest, &mut SmallRng::seed_from_u64(1));
        let first = rarest.take_next().unwrap();
        rarest.put_back([first]);
        assert_eq!(rarest.take_next(), Some(first));
    }
}
