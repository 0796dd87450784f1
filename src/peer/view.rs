//! A downloader's picture of one swarm: who holds what, how busy each member is, from the
//! tracker's last answer plus the requests this peer has sent since; and the choice of whom to
//! ask for a chunk.

use crate::ids::{ChunkIdx, Rank};
use crate::message::{Holding, Swarm};
use crate::strategy::PeerChoice;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;

/// Whom to ask for a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    Chosen(Rank),
    /// Members hold it, but all are busy: ask again later.
    Busy,
    /// No member (left to try) is known to hold it.
    Nobody,
}

pub struct SwarmView {
    me: Rank,
    swarm: Swarm,
    /// Requests this peer sent to each member since the tracker's last answer.
    asked: Vec<u64>,
    /// The member asked last, for round-robin.
    last: Option<Rank>,
}

impl SwarmView {
    pub fn new(me: Rank, swarm: Swarm) -> SwarmView {
        let asked = vec![0; swarm.len()];
        SwarmView { me, swarm, asked, last: None }
    }

    /// Takes the tracker's fresh swarm; the round-robin turn carries on.
    pub fn refresh(&mut self, swarm: Swarm) {
        let last = self.last;
        *self = SwarmView::new(self.me, swarm);
        self.last = last;
    }

    /// A member, other than this peer and those in `tried`, that holds `chunk`, chosen by
    /// `choice` (see [`PeerChoice`]) among those not in `busy`.
    pub fn pick(&mut self, chunk: ChunkIdx, tried: &[Rank], busy: &[Rank], choice: PeerChoice, rng: &mut SmallRng) -> Pick {
        let holders: Vec<usize> = (0..self.swarm.len())
            .filter(|&i| {
                let m = &self.swarm[i];
                m.rank != self.me && !tried.contains(&m.rank) && m.holding.has(chunk)
            })
            .collect();
        if holders.is_empty() {
            return Pick::Nobody;
        }
        let free: Vec<usize> = holders.into_iter().filter(|&i| !busy.contains(&self.swarm[i].rank)).collect();
        let at = match choice {
            PeerChoice::Busyness => free.iter().copied().min_by_key(|&i| (self.asked[i], self.swarm[i].uploads)),
            PeerChoice::Random => free.choose(rng).copied(),
            PeerChoice::RoundRobin => {
                let after = |i: &usize| self.last.is_none_or(|last| self.swarm[*i].rank > last);
                let by_rank = |i: &usize| self.swarm[*i].rank;
                free.iter().copied().filter(after).min_by_key(by_rank).or_else(|| free.iter().copied().min_by_key(by_rank))
            }
            PeerChoice::ShortestQueue => {
                free.iter().copied().min_by_key(|&i| (u64::from(self.swarm[i].queue) + self.asked[i], self.swarm[i].uploads))
            }
        };
        let Some(at) = at else { return Pick::Busy };
        self.asked[at] += 1;
        self.last = Some(self.swarm[at].rank);
        Pick::Chosen(self.swarm[at].rank)
    }

    /// How many members other than this peer hold each of the file's `chunks` chunks.
    pub fn holders(&self, chunks: usize) -> Vec<u32> {
        let mut counts = vec![0; chunks];
        for member in self.swarm.iter().filter(|m| m.rank != self.me) {
            match &member.holding {
                Holding::All => counts.iter_mut().for_each(|c| *c += 1),
                Holding::Some(bits) => bits.ones().filter(|&c| c < chunks).for_each(|c| counts[c] += 1),
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::SwarmMember;
    use fixedbitset::FixedBitSet;
    use rand::SeedableRng;

    fn member(rank: u32, uploads: u64, holding: Holding) -> SwarmMember {
        SwarmMember { rank: Rank(rank), uploads, queue: 0, holding }
    }

    fn holds(chunks: &[usize]) -> Holding {
        let mut bits = FixedBitSet::with_capacity(10);
        chunks.iter().for_each(|&c| bits.insert(c));
        Holding::Some(bits)
    }

    fn rng() -> SmallRng {
        SmallRng::seed_from_u64(1)
    }

    fn picks(view: &mut SwarmView, choice: PeerChoice, n: u32) -> Vec<u32> {
        let mut rng = rng();
        let mut pick = |c: u32| match view.pick(ChunkIdx(c % 2), &[], &[], choice, &mut rng) {
            Pick::Chosen(rank) => rank.0,
            other => panic!("{other:?}"),
        };
        (0..n).map(&mut pick).collect()
    }

    #[test]
    fn busyness_picks_the_least_busy_holder_and_skips_itself_and_tried_ones() {
        let mut view = SwarmView::new(
            Rank(1),
            vec![member(1, 0, Holding::All), member(3, 2, holds(&[0])), member(2, 5, Holding::All)],
        );
        let mut rng = rng();
        let busyness = PeerChoice::Busyness;
        assert_eq!(view.pick(ChunkIdx(1), &[], &[], busyness, &mut rng), Pick::Chosen(Rank(2)));
        let mut view = SwarmView::new(Rank(1), view.swarm.clone());
        assert_eq!(view.pick(ChunkIdx(0), &[], &[], busyness, &mut rng), Pick::Chosen(Rank(3)));
        assert_eq!(view.pick(ChunkIdx(0), &[Rank(3)], &[], busyness, &mut rng), Pick::Chosen(Rank(2)));
        assert_eq!(view.pick(ChunkIdx(0), &[Rank(3), Rank(2)], &[], busyness, &mut rng), Pick::Nobody);
        assert_eq!(view.pick(ChunkIdx(0), &[Rank(3)], &[Rank(2)], busyness, &mut rng), Pick::Busy);
    }

    #[test]
    fn busyness_spreads_successive_requests_least_busy_first() {
        let mut view = SwarmView::new(Rank(9), vec![member(1, 0, Holding::All), member(2, 50, Holding::All)]);
        assert_eq!(picks(&mut view, PeerChoice::Busyness, 4), [1, 2, 1, 2]);
    }

    #[test]
    fn round_robin_takes_holders_in_turn_across_refreshes() {
        let swarm = vec![member(4, 0, Holding::All), member(2, 0, Holding::All), member(7, 9, Holding::All)];
        let mut view = SwarmView::new(Rank(1), swarm.clone());
        assert_eq!(picks(&mut view, PeerChoice::RoundRobin, 4), [2, 4, 7, 2]);
        view.refresh(swarm);
        assert_eq!(picks(&mut view, PeerChoice::RoundRobin, 1), [4]);
    }

    #[test]
    fn shortest_queue_counts_reported_queues_and_own_requests() {
        let mut busy = member(2, 0, Holding::All);
        busy.queue = 3;
        let mut view = SwarmView::new(Rank(1), vec![busy, member(3, 10, Holding::All)]);
        assert_eq!(picks(&mut view, PeerChoice::ShortestQueue, 5), [3, 3, 3, 2, 3]);
    }

    #[test]
    fn random_choice_uses_every_holder_and_is_repeatable() {
        let swarm: Swarm = (2..6).map(|r| member(r, 0, Holding::All)).collect();
        let first = picks(&mut SwarmView::new(Rank(1), swarm.clone()), PeerChoice::Random, 40);
        assert_eq!(first, picks(&mut SwarmView::new(Rank(1), swarm), PeerChoice::Random, 40));
        for rank in 2..6 {
            assert!(first.contains(&rank), "{first:?}");
        }
    }

    #[test]
    fn holders_count_members_other_than_itself() {
        let view = SwarmView::new(Rank(1), vec![member(1, 0, Holding::All), member(2, 0, holds(&[1, 2])), member(3, 0, Holding::All)]);
        assert_eq!(view.holders(4), [1, 2, 2, 1]);
    }
}
