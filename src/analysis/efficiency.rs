//! How close a run came to the best any schedule could do, and how it spread the work.
//!
//! Time is counted in rounds: one round is the chunk time, in which an upload slot sends one
//! chunk. Peer `p` has `s_p` upload slots and, if its capacity says so, a download limit `d_p`
//! (chunks it receives a round at most); downloads are not limited otherwise. The lower bound on
//! the makespan of a scenario is the largest of these, each a number of rounds no schedule can
//! beat. For a file of `k` chunks, `S_o` is the slots of its `o` owners and `S` those of its
//! owners and its `r` requesters together:
//! - per peer with a download limit: `ceil(w_p / d_p)`, for `w_p` chunks wanted;
//! - per file: `ceil(k / S_o)`, for every chunk must leave an owner at least once, and the owners
//!   send `S_o` chunks a round at most;
//! - per file: `ceil(r k / S)`, for the `r k` copies can only come from its owners and requesters;
//! - over all files: `ceil(sum of r k / all slots)`, for every upload slot of the run serves one
//!   chunk a round at most;
//! - per file, the doubling bound `ceil(k / S_o) - 1 + ceil(log_(1+s)((o + r) / o))`, `s` the
//!   most slots of any peer: the last chunk to leave the owners does so in round `ceil(k / S_o)` at
//!   the earliest, and from then the number of its holders can at most grow `1 + s` times a round
//!   until all `o + r` hold it. With one seed and one slot each this is the classic
//!   `k - 1 + ceil(log2 n)`.

use crate::analysis::model::SwarmModel;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Efficiency {
    /// The run's time in rounds (none without a chunk time).
    pub makespan_rounds: Option<f64>,
    pub lower_bound_rounds: u64,
    /// Makespan over the lower bound: 1 is the best any schedule can do.
    pub makespan_ratio: Option<f64>,
    /// Jain's index of uploads per upload slot (its capacity), over the peers that held something wanted:
    /// 1 when all served alike, 1/n when one served everything.
    pub fairness: Option<f64>,
    /// The most uploads per slot over the mean, over the same peers.
    pub upload_max_over_mean: Option<f64>,
    /// Chunk requests per chunk delivered, NACKs and end-game copies included.
    pub requests_per_chunk: f64,
    pub duplicates: u64,
    /// CPU time of every rank from the run's start, per chunk delivered (measured under mpirun
    /// only).
    pub cpu_seconds_per_chunk: Option<f64>,
}

/// The lower bound, in rounds, on the makespan of the model's scenario.
pub fn lower_bound(model: &SwarmModel) -> u64 {
    let header = &model.header;
    let peers = header.peers as usize;
    let slots = |p: usize| u64::from(header.capacity(p).upload_slots.max(1));
    let chunks =
        |files: &[crate::protocol::ids::FileId]| files.iter().map(|f| u64::from(header.files[f.index()].chunks)).sum::<u64>();
    let mut bound = (0..peers)
        .filter_map(|p| header.capacity(p).download_limit.map(|d| chunks(&header.wanted[p]).div_ceil(u64::from(d.max(1)))))
        .max()
        .unwrap_or(0);
    let most_slots = (0..peers).map(slots).max().unwrap_or(1);
    let mut all_copies = 0u64;
    for (f, spec) in header.files.iter().enumerate() {
        let k = u64::from(spec.chunks);
        let has = |files: &Vec<crate::protocol::ids::FileId>| files.iter().any(|x| x.index() == f);
        let owners: Vec<usize> = (0..peers).filter(|&p| has(&header.owned[p])).collect();
        let requesters: Vec<usize> = (0..peers).filter(|&p| has(&header.wanted[p])).collect();
        if owners.is_empty() || requesters.is_empty() {
            continue;
        }
        let (o, r) = (owners.len() as u64, requesters.len() as u64);
        all_copies += r * k;
        let owner_slots: u64 = owners.iter().map(|&p| slots(p)).sum();
        let swarm_slots = owner_slots + requesters.iter().map(|&p| slots(p)).sum::<u64>();
        let leave_owners = k.div_ceil(owner_slots);
        let spread = (r * k).div_ceil(swarm_slots);
        let doubling = leave_owners - 1 + growth_rounds(o, o + r, 1 + most_slots);
        bound = bound.max(leave_owners).max(spread).max(doubling);
    }
    bound.max(all_copies.div_ceil((0..peers).map(slots).sum::<u64>().max(1)))
}

/// The best any schedule could deliver by the end of each round, the first round first, up to
/// every wanted copy: each file's chunks leave its owners `S_o` a round, each chunk's holders then
/// grow at most `1 + s` times a round (the doubling of the bound), and no round delivers more
/// than every upload slot of the run (or every download limit, when all requesters have one).
/// It reaches the end in the round of the bound's doubling and total-upload terms.
pub fn ideal_curve(model: &SwarmModel) -> Vec<u64> {
    let header = &model.header;
    let peers = header.peers as usize;
    let slots = |p: usize| u64::from(header.capacity(p).upload_slots.max(1));
    let factor = 1 + (0..peers).map(slots).max().unwrap_or(1);
    let has = |files: &[crate::protocol::ids::FileId], f: usize| files.iter().any(|x| x.index() == f);
    // Per file: chunks, owners, holders once everyone has it, and the owners' slots.
    let swarms: Vec<(u64, u64, u64, u64)> = (0..header.files.len())
        .filter_map(|f| {
            let owners: Vec<usize> = (0..peers).filter(|&p| has(&header.owned[p], f)).collect();
            let requesters = (0..peers).filter(|&p| has(&header.wanted[p], f)).count() as u64;
            let o = owners.len() as u64;
            (o > 0 && requesters > 0)
                .then(|| (u64::from(header.files[f].chunks), o, o + requesters, owners.iter().map(|&p| slots(p)).sum()))
        })
        .collect();
    let total: u64 = swarms.iter().map(|&(k, o, n, _)| k * (n - o)).sum();
    let per_round_limit = (0..peers)
        .filter(|&p| !header.wanted[p].is_empty())
        .map(|p| header.capacity(p).download_limit.map(u64::from))
        .sum::<Option<u64>>()
        .unwrap_or(u64::MAX)
        .min((0..peers).map(slots).sum());
    // Copies of one chunk `age` rounds after the round it first left its owners.
    let copies = |age: u64, o: u64, n: u64| (o.saturating_mul(factor.saturating_pow(age.min(64) as u32))).min(n) - o;
    let mut curve: Vec<u64> = Vec::new();
    let mut delivered = 0u64;
    while delivered < total && per_round_limit > 0 {
        let round = curve.len() as u64 + 1;
        let doubling: u64 = swarms
            .iter()
            .map(|&(k, o, n, owner_slots)| {
                // The chunks that left its owners in the last few rounds, by age; older ones are
                // everywhere.
                let young = growth_rounds(o, n, factor);
                let mut sum = 0;
                for age in 1..=young.min(round) {
                    let first = (round - age) * owner_slots;
                    let these = (first + owner_slots).min(k).saturating_sub(first);
                    sum += these * copies(age, o, n);
                }
                let old = (round.saturating_sub(young) * owner_slots).min(k);
                sum + old * (n - o)
            })
            .sum();
        delivered = doubling.min(delivered + per_round_limit).min(total);
        curve.push(delivered);
    }
    curve
}

/// Rounds for holders to grow from `from` to `to`, multiplying by at most `factor` a round.
fn growth_rounds(from: u64, to: u64, factor: u64) -> u64 {
    let (mut holders, mut rounds) = (from, 0);
    while holders < to {
        holders = holders.saturating_mul(factor);
        rounds += 1;
    }
    rounds
}

pub fn efficiency(model: &SwarmModel) -> Efficiency {
    let header = &model.header;
    let chunks = model.chunks_delivered();
    let wall_s = model.finished.unwrap_or(model.now) as f64 / 1e6;
    let bound = lower_bound(model);
    let makespan = (header.options.chunk_time_ms > 0).then(|| wall_s * 1000.0 / header.options.chunk_time_ms as f64);
    // Peers that held something wanted: owners of wanted files, and every requester.
    let wanted: Vec<bool> = (0..header.files.len()).map(|f| header.wanted.iter().flatten().any(|x| x.index() == f)).collect();
    let loads: Vec<f64> = model
        .peers
        .iter()
        .enumerate()
        .filter(|(i, _)| !header.wanted[*i].is_empty() || header.owned[*i].iter().any(|f| wanted[f.index()]))
        .map(|(i, p)| p.uploads as f64 / f64::from(header.capacity(i).upload_slots.max(1)))
        .collect();
    let (sum, squares) = loads.iter().fold((0.0, 0.0), |(s, q), x| (s + x, q + x * x));
    let spread = (!loads.is_empty() && sum > 0.0).then_some(());
    let requests: u64 = model.peers.iter().map(|p| p.requests).sum();
    let per_chunk = |x: f64| if chunks == 0 { 0.0 } else { x / chunks as f64 };
    Efficiency {
        makespan_rounds: makespan,
        lower_bound_rounds: bound,
        makespan_ratio: makespan.filter(|_| bound > 0).map(|m| m / bound as f64),
        fairness: spread.map(|()| sum * sum / (loads.len() as f64 * squares)),
        upload_max_over_mean: spread.map(|()| loads.iter().copied().fold(0.0, f64::max) / (sum / loads.len() as f64)),
        requests_per_chunk: per_chunk(requests as f64),
        duplicates: model.peers.iter().map(|p| p.duplicates).sum(),
        cpu_seconds_per_chunk: (model.cpu_us > 0 && chunks > 0).then(|| model.cpu_us as f64 / 1e6 / chunks as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ids::FileId;
    use crate::scenario::header::{FileSpec, RunHeader};
    use crate::scenario::settings::Settings;

    fn flash_crowd(n: u32, k: u32, slots: u32) -> SwarmModel {
        SwarmModel::new(RunHeader {
            peers: n,
            files: vec![FileSpec { name: "f".into(), chunks: k }],
            owned: (0..n).map(|p| if p == 0 { vec![FileId(0)] } else { vec![] }).collect(),
            wanted: (0..n).map(|p| if p == 0 { vec![] } else { vec![FileId(0)] }).collect(),
            options: Settings { upload_slots: slots, chunk_time_ms: 10, ..Settings::default() },
            capacities: vec![],
            faults: Default::default(),
        })
    }

    #[test]
    fn a_flash_crowd_is_bound_by_the_classic_doubling_bound() {
        // k - 1 + ceil(log2 n): n counts the seed.
        assert_eq!(lower_bound(&flash_crowd(16, 100, 1)), 99 + 4);
        assert_eq!(lower_bound(&flash_crowd(17, 100, 1)), 99 + 5);
        assert_eq!(lower_bound(&flash_crowd(2, 1, 1)), 1);
        // Two slots: the seed sends a chunk in 50 rounds; holders triple a round.
        assert_eq!(lower_bound(&flash_crowd(16, 100, 2)), 49 + 3);
    }

    #[test]
    fn many_requesters_of_few_chunks_are_bound_by_the_total_upload() {
        // 64 peers, one owner of 2 chunks: 63 x 2 copies over 64 slots is 2 rounds; doubling
        // from 1 to 64 holders takes 6, after the first round: 1 + 6 = 7.
        assert_eq!(lower_bound(&flash_crowd(64, 2, 1)), 2 - 1 + 6);
    }

    #[test]
    fn per_peer_capacities_shape_the_bound_and_the_fairness() {
        use crate::scenario::capacity::Capacity;
        // A seed of 4 slots sends 100 chunks in 25 rounds, and holders may grow five times a round
        // (24 + 1); but 3 x 100 copies over 4 + 1 + 1 + 1 slots take 43.
        let mut model = flash_crowd(4, 100, 1);
        model.header.capacities = vec![Capacity::uniform(4), Capacity::uniform(1), Capacity::uniform(1), Capacity::uniform(1)];
        assert_eq!(lower_bound(&model), 43);
        // A peer that receives 2 chunks a round needs 50 rounds for its 100.
        model.header.capacities[2].download_limit = Some(2);
        assert_eq!(lower_bound(&model), 50);
        // Uploads per slot: the seed's 8 over 4 slots is as fair as 2 over 1.
        for (peer, uploads) in model.peers.iter_mut().zip([8, 2, 2, 2]) {
            peer.uploads = uploads;
        }
        assert!((efficiency(&model).fairness.unwrap() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_ideal_curve_doubles_then_fills_every_slot_and_ends_at_the_bound() {
        // One seed, one slot each: each chunk's holders double (1, 3, 7, 15 copies) while the
        // seed sends one new chunk a round; the last chunk leaves in round 100 and is everywhere
        // 4 rounds later.
        let model = flash_crowd(16, 100, 1);
        let curve = ideal_curve(&model);
        assert_eq!(&curve[..5], [1, 3 + 1, 7 + 3 + 1, 15 + 7 + 3 + 1, 15 + 15 + 7 + 3 + 1]);
        assert_eq!(curve.len() as u64, lower_bound(&model));
        assert_eq!(*curve.last().unwrap(), 15 * 100);
        assert!(curve.windows(2).all(|w| w[1] - w[0] <= 16), "never more than every slot");
        // Few chunks, many peers: every slot busy is the limit, not the seed.
        let crowd = flash_crowd(64, 2, 1);
        assert_eq!(ideal_curve(&crowd).len() as u64, lower_bound(&crowd));
    }

    #[test]
    fn growth_is_counted_in_whole_rounds() {
        assert_eq!(growth_rounds(1, 1, 2), 0);
        assert_eq!(growth_rounds(1, 2, 2), 1);
        assert_eq!(growth_rounds(1, 16, 2), 4);
        assert_eq!(growth_rounds(2, 17, 2), 4);
    }

    #[test]
    fn fairness_is_jains_index_over_peers_that_held_something_wanted() {
        let mut model = flash_crowd(3, 4, 1);
        for (peer, uploads) in model.peers.iter_mut().zip([2, 2, 0]) {
            peer.uploads = uploads;
        }
        let e = efficiency(&model);
        assert!((e.fairness.unwrap() - 16.0 / 24.0).abs() < 1e-9, "{e:?}");
        assert!((e.upload_max_over_mean.unwrap() - 1.5).abs() < 1e-9);
        model.peers.iter_mut().for_each(|p| p.uploads = 5);
        assert!((efficiency(&model).fairness.unwrap() - 1.0).abs() < 1e-9);
    }
}
