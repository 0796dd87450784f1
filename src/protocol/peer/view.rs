//! A downloader's picture of one swarm: who holds what, how busy each member is, from the
//! tracker's last answer, the holdings members told it with their answers since, and the
//! requests this peer has sent since; and the choice of whom to ask for a chunk.

use crate::protocol::ids::{ChunkIdx, Rank};
use crate::protocol::message::{Holding, Swarm, SwarmMember};
use crate::protocol::strategy::PeerChoice;
use fixedbitset::FixedBitSet;
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
    /// This peer's own order among members otherwise equal, so that peers do not all pick the
    /// same one (the lowest rank) among equally busy holders.
    salt: u64,
    /// Members that sent this peer a wrong hash: suspects for good, whatever the tracker says.
    shunned: Vec<Rank>,
    /// Holders of each chunk, kept up to date as holdings grow: rarest first ranks chunks by
    /// them after nearly every answer, too often to count them over the swarm each time.
    counts: Counts,
}

/// How many members other than this peer, among those that hold only some of the file, hold
/// each chunk. Those holding all of it are left out: they hold every chunk alike, so they do not
/// change which is rarest.
#[derive(Default)]
struct Counts {
    some: Vec<u32>,
}

impl Counts {
    fn of(me: Rank, swarm: &Swarm) -> Counts {
        let mut counts = Counts::default();
        swarm.iter().filter(|m| m.rank != me).for_each(|m| counts.add(&m.holding));
        counts
    }

    fn add(&mut self, holding: &Holding) {
        if let Holding::Some(bits) = holding {
            bits.ones().for_each(|c| self.add_chunk(c));
        }
    }

    fn add_chunk(&mut self, chunk: usize) {
        if chunk >= self.some.len() {
            self.some.resize(chunk + 1, 0);
        }
        self.some[chunk] += 1;
    }

    fn remove(&mut self, holding: &Holding) {
        if let Holding::Some(bits) = holding {
            bits.ones().for_each(|c| self.some[c] -= 1);
        }
    }

    /// A member's holding grows from `old` by `news`.
    fn grow(&mut self, old: &Holding, news: &Holding) {
        match (old, news) {
            (Holding::All, _) => {}
            (Holding::Some(_), Holding::All) => self.remove(old),
            (Holding::Some(old), Holding::Some(new)) => {
                // Word by word: a reply brings the uploader's whole holding, mostly known already.
                let mut fresh = new.clone();
                fresh.difference_with(old);
                fresh.ones().for_each(|c| self.add_chunk(c));
            }
        }
    }
}

impl SwarmView {
    pub fn new(me: Rank, swarm: Swarm, salt: u64) -> SwarmView {
        let asked = vec![0; swarm.len()];
        let counts = Counts::of(me, &swarm);
        SwarmView { me, swarm, asked, last: None, salt, shunned: Vec::new(), counts }
    }

    /// Takes the tracker's fresh swarm, keeping what members told since that the tracker does
    /// not know yet; the round-robin turn carries on.
    pub fn refresh(&mut self, mut swarm: Swarm) {
        let me = self.me;
        // The counts follow what changed rather than being counted afresh: a swarm comes every
        // few chunks, and counting every member's holding each time cost more than all else.
        for member in swarm.iter_mut() {
            match self.swarm.iter().find(|m| m.rank == member.rank) {
                Some(known) => {
                    member.holding.learn(&known.holding);
                    if member.rank != me {
                        self.counts.grow(&known.holding, &member.holding);
                    }
                }
                None if member.rank != me => self.counts.add(&member.holding),
                None => {}
            }
        }
        for gone in self.swarm.iter().filter(|m| m.rank != me && !swarm.iter().any(|n| n.rank == m.rank)) {
            self.counts.remove(&gone.holding);
        }
        swarm.iter_mut().filter(|m| self.shunned.contains(&m.rank)).for_each(|m| m.suspect = true);
        self.asked = vec![0; swarm.len()];
        self.swarm = swarm;
    }

    /// Leaves `member` out until a swarm from the tracker lists it again (it did not answer).
    pub fn forget(&mut self, member: Rank) {
        if let Some(at) = self.swarm.iter().position(|m| m.rank == member) {
            let gone = self.swarm.remove(at);
            if member != self.me {
                self.counts.remove(&gone.holding);
            }
            self.asked.remove(at);
        }
    }

    /// Makes `member` a suspect for good (it sent a wrong hash), asked only for chunks no one
    /// else holds; whether it was not shunned before.
    pub fn shun(&mut self, member: Rank) -> bool {
        self.swarm.iter_mut().filter(|m| m.rank == member).for_each(|m| m.suspect = true);
        let new = !self.shunned.contains(&member);
        if new {
            self.shunned.push(member);
        }
        new
    }

    /// Whether `member` is in this view.
    fn lists(&self, member: Rank) -> bool {
        self.swarm.iter().any(|m| m.rank == member)
    }

    /// Adds a member the tracker's swarm did not list yet (it asked this peer for a chunk), as
    /// holding nothing known.
    pub fn meet(&mut self, member: Rank) {
        if !self.lists(member) {
            let (holding, suspect) = (Holding::Some(FixedBitSet::new()), self.shunned.contains(&member));
            self.swarm.push(SwarmMember { rank: member, uploads: 0, queue: 0, holding, suspect });
            self.asked.push(0);
        }
    }

    /// Takes what `member` said it holds; whether it holds chunks this view did not know of.
    pub fn learn(&mut self, member: Rank, holding: &Holding) -> bool {
        let Some(m) = self.swarm.iter_mut().find(|m| m.rank == member) else { return false };
        if member != self.me {
            self.counts.grow(&m.holding, holding);
        }
        m.holding.learn(holding)
    }

    /// What the members other than this peer and those in `busy` hold between them, if anything.
    pub fn obtainable(&self, busy: &[Rank]) -> Option<Holding> {
        let mut union: Option<Holding> = None;
        for m in self.swarm.iter().filter(|m| m.rank != self.me && !busy.contains(&m.rank)) {
            match &mut union {
                Some(u) => {
                    u.learn(&m.holding);
                }
                None => union = Some(m.holding.clone()),
            }
        }
        union
    }

    /// Members other than this peer and those in `skip` known to hold none of the file's
    /// `chunks` chunks that `got` lacks (or all of them, with `holders_too`: those known to hold
    /// one first), in this peer's own order, each with whether it holds one.
    pub fn strangers(&self, got: &FixedBitSet, chunks: usize, skip: &[Rank], holders_too: bool) -> Vec<(Rank, bool)> {
        let mut strangers: Vec<(bool, Rank)> = self
            .swarm
            .iter()
            .filter(|m| m.rank != self.me && !skip.contains(&m.rank))
            .map(|m| (m.holding.offers(got, chunks), m.rank))
            .filter(|&(offers, _)| holders_too || !offers)
            .collect();
        strangers.sort_by_key(|&(offers, rank)| (!offers, self.tiebreak(rank)));
        strangers.into_iter().map(|(offers, rank)| (rank, offers)).collect()
    }

    /// Every member but this peer.
    pub fn members(&self) -> impl Iterator<Item = Rank> + '_ {
        self.swarm.iter().map(|m| m.rank).filter(move |&rank| rank != self.me)
    }

    fn tiebreak(&self, rank: Rank) -> u64 {
        splitmix(self.salt ^ u64::from(rank.0))
    }

    /// A member, other than this peer and those in `tried`, that holds `chunk`, chosen by
    /// `choice` (see [`PeerChoice`]) among those not in `busy`. A suspect is chosen only when
    /// every other holder is a suspect too, or chokes this peer (`choking`): a free rider holding
    /// the chunk would otherwise keep it from a lying owner for good.
    pub fn pick(
        &mut self,
        chunk: ChunkIdx,
        tried: &[Rank],
        busy: &[Rank],
        choking: &[Rank],
        choice: PeerChoice,
        rng: &mut SmallRng,
    ) -> Pick {
        let holders: Vec<usize> = (0..self.swarm.len())
            .filter(|&i| {
                let m = &self.swarm[i];
                m.rank != self.me && !tried.contains(&m.rank) && m.holding.has(chunk)
            })
            .collect();
        if holders.is_empty() {
            return Pick::Nobody;
        }
        // Suspects only when no one else would serve the chunk.
        let trusted: Vec<usize> =
            holders.iter().copied().filter(|&i| !self.swarm[i].suspect && !choking.contains(&self.swarm[i].rank)).collect();
        let holders = if trusted.is_empty() { holders } else { trusted };
        let free: Vec<usize> = holders.into_iter().filter(|&i| !busy.contains(&self.swarm[i].rank)).collect();
        let at = match choice {
            // First-free asks by name only in the end game: the least busy, then. Tit-for-tat asks the
            // least busy of the holders that unchoke it.
            PeerChoice::Busyness | PeerChoice::FirstFree | PeerChoice::TitForTat => {
                free.iter().copied().min_by_key(|&i| (self.asked[i], self.swarm[i].uploads, self.tiebreak(self.swarm[i].rank)))
            }
            PeerChoice::Random => free.choose(rng).copied(),
            PeerChoice::RoundRobin => {
                let after = |i: &usize| self.last.is_none_or(|last| self.swarm[*i].rank > last);
                let by_rank = |i: &usize| self.swarm[*i].rank;
                free.iter().copied().filter(after).min_by_key(by_rank).or_else(|| free.iter().copied().min_by_key(by_rank))
            }
            PeerChoice::ShortestQueue => free.iter().copied().min_by_key(|&i| {
                let m = &self.swarm[i];
                (u64::from(m.queue) + self.asked[i], m.uploads, self.tiebreak(m.rank))
            }),
        };
        let Some(at) = at else { return Pick::Busy };
        self.asked[at] += 1;
        self.last = Some(self.swarm[at].rank);
        Pick::Chosen(self.swarm[at].rank)
    }

    /// What `member` is known to hold, if it is a member.
    pub fn holding(&self, member: Rank) -> Option<&Holding> {
        self.swarm.iter().find(|m| m.rank == member).map(|m| &m.holding)
    }

    /// The chunks of the file's `chunks` that `member` holds but may not be asked for: a
    /// suspect is asked only for chunks no member but suspects, or members `choking` this peer,
    /// holds.
    pub fn withheld(&self, member: Rank, chunks: usize, choking: &[Rank]) -> Vec<usize> {
        let Some(suspect) = self.swarm.iter().find(|m| m.rank == member && m.suspect) else { return Vec::new() };
        let trusted = |chunk| {
            self.swarm.iter().any(|o| o.rank != self.me && !o.suspect && !choking.contains(&o.rank) && o.holding.has(chunk))
        };
        (0..chunks).filter(|&c| suspect.holding.has(ChunkIdx(c as u32)) && trusted(ChunkIdx(c as u32))).collect()
    }

    /// Whether `member` holds a chunk of the file's `chunks` that `got` lacks.
    pub fn offers(&self, member: Rank, got: &FixedBitSet, chunks: usize) -> bool {
        self.swarm.iter().any(|m| m.rank == member && m.holding.offers(got, chunks))
    }

    /// Whether a member other than this peer holds a chunk of the file's `chunks` that `got`
    /// lacks.
    pub fn anyone_offers(&self, got: &FixedBitSet, chunks: usize) -> bool {
        self.swarm.iter().any(|m| m.rank != self.me && m.holding.offers(got, chunks))
    }

    /// How many members other than this peer hold each chunk, leaving out those that hold the
    /// whole file (see [`Counts`]); none past the end.
    pub fn partial_holders(&self) -> &[u32] {
        &self.counts.some
    }
}

/// A well-mixed 64-bit hash (SplitMix64's finalizer).
pub fn splitmix(x: u64) -> u64 {
    let x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixedbitset::FixedBitSet;
    use rand::SeedableRng;
    use std::collections::BTreeSet;

    fn member(rank: u32, uploads: u64, holding: Holding) -> SwarmMember {
        SwarmMember { rank: Rank(rank), uploads, queue: 0, holding, suspect: false }
    }

    fn holds(chunks: &[usize]) -> Holding {
        let mut bits = FixedBitSet::with_capacity(10);
        chunks.iter().for_each(|&c| bits.insert(c));
        Holding::Some(bits)
    }

    /// How many members other than the view's peer, and not holding the whole file, hold each
    /// of `chunks` chunks.
    fn holders(view: &SwarmView, chunks: usize) -> Vec<u32> {
        (0..chunks).map(|c| view.partial_holders().get(c).copied().unwrap_or(0)).collect()
    }

    fn rng() -> SmallRng {
        SmallRng::seed_from_u64(1)
    }

    fn picks(view: &mut SwarmView, choice: PeerChoice, n: u32) -> Vec<u32> {
        let mut rng = rng();
        let mut pick = |c: u32| match view.pick(ChunkIdx(c % 2), &[], &[], &[], choice, &mut rng) {
            Pick::Chosen(rank) => rank.0,
            other => panic!("{other:?}"),
        };
        (0..n).map(&mut pick).collect()
    }

    #[test]
    fn busyness_picks_the_least_busy_holder_and_skips_itself_and_tried_ones() {
        let mut view =
            SwarmView::new(Rank(1), vec![member(1, 0, Holding::All), member(3, 2, holds(&[0])), member(2, 5, Holding::All)], 0);
        let mut rng = rng();
        let busyness = PeerChoice::Busyness;
        assert_eq!(view.pick(ChunkIdx(1), &[], &[], &[], busyness, &mut rng), Pick::Chosen(Rank(2)));
        let mut view = SwarmView::new(Rank(1), view.swarm.clone(), 0);
        assert_eq!(view.pick(ChunkIdx(0), &[], &[], &[], busyness, &mut rng), Pick::Chosen(Rank(3)));
        assert_eq!(view.pick(ChunkIdx(0), &[Rank(3)], &[], &[], busyness, &mut rng), Pick::Chosen(Rank(2)));
        assert_eq!(view.pick(ChunkIdx(0), &[Rank(3), Rank(2)], &[], &[], busyness, &mut rng), Pick::Nobody);
        assert_eq!(view.pick(ChunkIdx(0), &[Rank(3)], &[Rank(2)], &[], busyness, &mut rng), Pick::Busy);
    }

    #[test]
    fn busyness_spreads_successive_requests_least_busy_first() {
        let mut view = SwarmView::new(Rank(9), vec![member(1, 0, Holding::All), member(2, 50, Holding::All)], 0);
        assert_eq!(picks(&mut view, PeerChoice::Busyness, 4), [1, 2, 1, 2]);
    }

    #[test]
    fn round_robin_takes_holders_in_turn_across_refreshes() {
        let swarm = vec![member(4, 0, Holding::All), member(2, 0, Holding::All), member(7, 9, Holding::All)];
        let mut view = SwarmView::new(Rank(1), swarm.clone(), 0);
        assert_eq!(picks(&mut view, PeerChoice::RoundRobin, 4), [2, 4, 7, 2]);
        view.refresh(swarm);
        assert_eq!(picks(&mut view, PeerChoice::RoundRobin, 1), [4]);
    }

    #[test]
    fn shortest_queue_counts_reported_queues_and_own_requests() {
        let mut busy = member(2, 0, Holding::All);
        busy.queue = 3;
        let mut view = SwarmView::new(Rank(1), vec![busy, member(3, 10, Holding::All)], 0);
        assert_eq!(picks(&mut view, PeerChoice::ShortestQueue, 5), [3, 3, 3, 2, 3]);
    }

    #[test]
    fn random_choice_uses_every_holder_and_is_repeatable() {
        let swarm: Swarm = (2..6).map(|r| member(r, 0, Holding::All)).collect();
        let first = picks(&mut SwarmView::new(Rank(1), swarm.clone(), 0), PeerChoice::Random, 40);
        assert_eq!(first, picks(&mut SwarmView::new(Rank(1), swarm, 0), PeerChoice::Random, 40));
        for rank in 2..6 {
            assert!(first.contains(&rank), "{first:?}");
        }
    }

    #[test]
    fn equally_busy_holders_are_picked_in_each_peers_own_order() {
        let swarm: Swarm = (2..10).map(|r| member(r, 0, Holding::All)).collect();
        let firsts: BTreeSet<u32> =
            (0..8).map(|salt| picks(&mut SwarmView::new(Rank(1), swarm.clone(), salt), PeerChoice::Busyness, 1)[0]).collect();
        assert!(firsts.len() > 3, "peers spread their first requests: {firsts:?}");
    }

    #[test]
    fn members_answers_add_to_what_the_tracker_said_and_survive_its_next_swarm() {
        let swarm = vec![member(2, 0, holds(&[])), member(3, 0, holds(&[1])), member(4, 0, holds(&[]))];
        let mut view = SwarmView::new(Rank(2), swarm.clone(), 0);
        let mine = {
            let mut bits = FixedBitSet::with_capacity(10);
            bits.insert(1);
            bits
        };
        let ranks = |strangers: Vec<(Rank, bool)>| strangers.into_iter().map(|(rank, _)| rank).collect::<Vec<_>>();
        let strangers: BTreeSet<Rank> = ranks(view.strangers(&mine, 10, &[], false)).into_iter().collect();
        assert_eq!(strangers, [Rank(3), Rank(4)].into(), "neither holds a chunk this peer lacks; itself is no stranger");
        assert!(view.learn(Rank(4), &holds(&[5])));
        assert!(!view.learn(Rank(4), &holds(&[5])), "nothing new");
        assert!(!view.learn(Rank(9), &Holding::All), "not a member");
        view.meet(Rank(9));
        view.meet(Rank(9));
        assert!(view.learn(Rank(9), &holds(&[7])));
        assert_eq!(holders(&view, 10)[7], 1);
        assert_eq!(view.strangers(&mine, 10, &[], false), [(Rank(3), false)], "rank 4 holds chunk 5, which this peer lacks");
        assert_eq!(view.strangers(&mine, 10, &[Rank(3)], false), []);
        let everyone: BTreeSet<Rank> = ranks(view.strangers(&mine, 10, &[Rank(3)], true)).into_iter().collect();
        assert_eq!(everyone, [Rank(4), Rank(9)].into(), "holders too, with first-free");
        let all = view.strangers(&mine, 10, &[], true);
        assert_eq!((all.len(), all.last()), (3, Some(&(Rank(3), false))), "those holding a chunk this peer lacks first");
        assert!(view.offers(Rank(4), &mine, 10) && !view.offers(Rank(3), &mine, 10));
        assert!(view.holding(Rank(4)).is_some_and(|h| h.has(ChunkIdx(5)) && !h.has(ChunkIdx(6))));
        assert_eq!(view.withheld(Rank(4), 10, &[]), [] as [usize; 0], "not a suspect");
        view.learn(Rank(3), &holds(&[5, 6]));
        view.shun(Rank(3));
        assert_eq!(view.withheld(Rank(3), 10, &[]), [5], "rank 4 holds chunk 5 too, and no one else holds 1 or 6");
        assert!(view.withheld(Rank(3), 10, &[Rank(4)]).is_empty(), "unless rank 4 chokes this peer: a free rider, say");
        let mut rng = SmallRng::seed_from_u64(1);
        let pick = |view: &mut SwarmView, choking: &[Rank], rng: &mut SmallRng| {
            view.pick(ChunkIdx(5), &[], choking, choking, PeerChoice::Busyness, rng)
        };
        assert_eq!(pick(&mut view, &[], &mut rng), Pick::Chosen(Rank(4)), "the suspect is passed over");
        assert_eq!(pick(&mut view, &[Rank(4)], &mut rng), Pick::Chosen(Rank(3)), "but asked when the other holder chokes");
        view.refresh(swarm);
        assert_eq!(holders(&view, 10)[5], 2, "the tracker's older swarm does not forget ranks 3 and 4 hold it");
    }

    #[test]
    fn holders_count_members_other_than_itself_holding_part_of_the_file() {
        let view = SwarmView::new(
            Rank(1),
            vec![member(1, 0, holds(&[0])), member(2, 0, holds(&[1, 2])), member(3, 0, Holding::All), member(4, 0, holds(&[2]))],
            0,
        );
        assert_eq!(holders(&view, 4), [0, 1, 2, 0]);
    }

    #[test]
    fn holders_kept_as_holdings_grow_match_a_count_over_the_swarm() {
        use rand::Rng;
        let mut rng = rng();
        let swarm: Swarm = (1..7).map(|r| member(r, 0, holds(&[r as usize]))).collect();
        let mut view = SwarmView::new(Rank(2), swarm, 0);
        for step in 0..300 {
            let who = Rank(rng.gen_range(1..9));
            match step % 50 {
                49 => view.forget(who),
                // The tracker's swarm: some members dropped, others new, holdings it may not know,
                // some members holding the whole file.
                24 | 37 => {
                    let listed: Vec<u32> = (1..9).filter(|_| rng.gen_bool(0.7)).collect();
                    let mut holding = |r: u32| if rng.gen_bool(0.2) { Holding::All } else { holds(&[r as usize + 1]) };
                    view.refresh(listed.into_iter().map(|r| member(r, 0, holding(r))).collect())
                }
                _ if rng.gen_bool(0.02) => drop(view.learn(who, &Holding::All)),
                _ => {
                    view.meet(who);
                    let news: Vec<usize> = (0..rng.gen_range(0..4)).map(|_| rng.gen_range(0..10)).collect();
                    view.learn(who, &holds(&news));
                }
            }
            let counted = holders(&SwarmView::new(Rank(2), view.swarm.clone(), 0), 10);
            assert_eq!(holders(&view, 10), counted, "after step {step}");
        }
    }
}
