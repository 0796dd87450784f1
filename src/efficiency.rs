//! How close a run came to the best any schedule could do, and how it spread the work.
//!
//! Time is counted in rounds: one round is the chunk time, in which an upload slot sends one
//! chunk. Downloads are not limited. The lower bound on the makespan of a scenario is the largest
//! of these, each a number of rounds no schedule can beat (`s` upload slots per peer):
//! - per file of `k` chunks with `o` owners: `ceil(k / (o s))`, for every chunk must leave an
//!   owner at least once, and the owners send `o s` chunks a round at most;
//! - per file with `r` requesters: `ceil(r k / ((o + r) s))`, for the `r k` copies can only come
//!   from its owners and requesters;
//! - over all files: `ceil(sum of r k / (P s))` with `P` peers, for every upload slot of the run
//!   serves one chunk a round at most;
//! - per file, the doubling bound `ceil(k / (o s)) - 1 + ceil(log_(1+s)((o + r) / o))`: the last
//!   chunk to leave the owners does so in round `ceil(k / (o s))` at the earliest, and from then the
//!   number of its holders can at most grow `1 + s` times a round until all `o + r` hold it. With one
//!   seed and one slot this is the classic `k - 1 + ceil(log2 n)`.

use crate::model::SwarmModel;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Efficiency {
    /// The run's time in rounds (none without a chunk time).
    pub makespan_rounds: Option<f64>,
    pub lower_bound_rounds: u64,
    /// Makespan over the lower bound: 1 is the best any schedule can do.
    pub makespan_ratio: Option<f64>,
    /// Jain's index of uploads per upload slot, over the peers that held something wanted:
    /// 1 when all served alike, 1/n when one served everything.
    pub fairness: Option<f64>,
    /// The most uploads per slot over the mean, over the same peers.
    pub upload_max_over_mean: Option<f64>,
    /// Chunk requests per chunk delivered, NACKs and end-game copies included.
    pub requests_per_chunk: f64,
    pub duplicates: u64,
    /// CPU time of every rank per chunk delivered (measured under mpirun only).
    pub cpu_seconds_per_chunk: Option<f64>,
}

/// The lower bound, in rounds, on the makespan of the model's scenario.
pub fn lower_bound(model: &SwarmModel) -> u64 {
    let header = &model.header;
    let slots = u64::from(header.options.upload_slots.max(1));
    let peers = u64::from(header.peers);
    let mut bound = 0u64;
    let mut all_copies = 0u64;
    for (f, spec) in header.files.iter().enumerate() {
        let k = u64::from(spec.chunks);
        let owners = header.owned.iter().filter(|o| o.iter().any(|x| x.index() == f)).count() as u64;
        let requesters = header.wanted.iter().filter(|w| w.iter().any(|x| x.index() == f)).count() as u64;
        if owners == 0 || requesters == 0 {
            continue;
        }
        all_copies += requesters * k;
        let leave_owners = k.div_ceil(owners * slots);
        let spread = (requesters * k).div_ceil((owners + requesters) * slots);
        let doubling = leave_owners - 1 + growth_rounds(owners, owners + requesters, 1 + slots);
        bound = bound.max(leave_owners).max(spread).max(doubling);
    }
    bound.max(all_copies.div_ceil(peers.max(1) * slots))
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
    let slots = f64::from(header.options.upload_slots.max(1));
    let loads: Vec<f64> = model
        .peers
        .iter()
        .enumerate()
        .filter(|(i, _)| !header.wanted[*i].is_empty() || header.owned[*i].iter().any(|f| wanted[f.index()]))
        .map(|(_, p)| p.uploads as f64 / slots)
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
    use crate::ids::FileId;
    use crate::model::{FileSpec, RunHeader, RunOptions};

    fn flash_crowd(n: u32, k: u32, slots: u32) -> SwarmModel {
        SwarmModel::new(RunHeader {
            peers: n,
            files: vec![FileSpec { name: "f".into(), chunks: k }],
            owned: (0..n).map(|p| if p == 0 { vec![FileId(0)] } else { vec![] }).collect(),
            wanted: (0..n).map(|p| if p == 0 { vec![] } else { vec![FileId(0)] }).collect(),
            options: RunOptions { upload_slots: slots, chunk_time_ms: 10, ..RunOptions::default() },
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
