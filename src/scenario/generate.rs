//! Scenarios: which peers own and want which files. Generated from a seed, written as the
//! `in<R>.txt` files a run reads, and able to say what every output must contain.

use crate::protocol::hash::ChunkHash;
use crate::scenario::capacity::Capacity;
use crate::scenario::input::input_file_name;
use crate::scenario::output::output_file_name;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::path::Path;

#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioFile {
    pub name: String,
    pub hashes: Vec<ChunkHash>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeerPlan {
    /// Indices into [`Scenario::files`].
    pub owned: Vec<usize>,
    pub wanted: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub files: Vec<ScenarioFile>,
    /// Peer `i` is rank `i + 1`.
    pub peers: Vec<PeerPlan>,
}

/// The shape of a random scenario; every range is inclusive.
#[derive(Clone, Debug)]
pub struct RandomSpec {
    pub peers: usize,
    pub files: usize,
    pub chunks: RangeInclusive<usize>,
    /// Owners (seeds at start) per file.
    pub owners: RangeInclusive<usize>,
    /// Files each peer wants, among those it does not own.
    pub wanted: RangeInclusive<usize>,
}

impl Scenario {
    pub fn random(spec: &RandomSpec, seed: u64) -> Scenario {
        let mut rng = SmallRng::seed_from_u64(seed);
        let files: Vec<ScenarioFile> = (0..spec.files)
            .map(|i| ScenarioFile {
                name: format!("file{}", i + 1),
                hashes: (0..rng.gen_range(spec.chunks.clone())).map(|_| ChunkHash::from_u128(rng.gen())).collect(),
            })
            .collect();
        let mut peers = vec![PeerPlan::default(); spec.peers];
        let ranks: Vec<usize> = (0..spec.peers).collect();
        for file in 0..spec.files {
            let owners = rng.gen_range(spec.owners.clone()).clamp(1, spec.peers);
            for &peer in ranks.choose_multiple(&mut rng, owners) {
                peers[peer].owned.push(file);
            }
        }
        for peer in &mut peers {
            let mut candidates: Vec<usize> = (0..spec.files).filter(|f| !peer.owned.contains(f)).collect();
            candidates.shuffle(&mut rng);
            candidates.truncate(rng.gen_range(spec.wanted.clone()));
            peer.wanted = candidates;
        }
        Scenario { files, peers }
    }

    /// One seed (peer 1) owns one file of `chunks` chunks; every other peer wants it.
    pub fn flash_crowd(peers: usize, chunks: usize, seed: u64) -> Scenario {
        let mut rng = SmallRng::seed_from_u64(seed);
        let hashes = (0..chunks).map(|_| ChunkHash::from_u128(rng.gen())).collect();
        let files = vec![ScenarioFile { name: "file1".into(), hashes }];
        let peers =
            (0..peers)
                .map(|p| {
                    if p == 0 {
                        PeerPlan { owned: vec![0], wanted: vec![] }
                    } else {
                        PeerPlan { owned: vec![], wanted: vec![0] }
                    }
                })
                .collect();
        Scenario { files, peers }
    }

    /// A scenario of the size and shape of the classic assignment's tests.
    pub fn classic(seed: u64) -> Scenario {
        let mut rng = SmallRng::seed_from_u64(seed);
        let peers = rng.gen_range(3..=6);
        let spec = RandomSpec { peers, files: rng.gen_range(2..=7), chunks: 30..=100, owners: 1..=2, wanted: 1..=3 };
        Scenario::random(&spec, rng.gen())
    }

    /// Ranks a run of this scenario needs: the tracker and one per peer.
    pub fn ranks(&self) -> u32 {
        self.peers.len() as u32 + 1
    }

    /// The text of peer `index`'s `in<R>.txt`.
    pub fn input_text(&self, index: usize) -> String {
        let plan = &self.peers[index];
        let mut text = format!("{}\n", plan.owned.len());
        for &f in &plan.owned {
            let file = &self.files[f];
            writeln!(text, "{} {}", file.name, file.hashes.len()).unwrap();
            for hash in &file.hashes {
                writeln!(text, "{hash}").unwrap();
            }
        }
        writeln!(text, "{}", plan.wanted.len()).unwrap();
        for &f in &plan.wanted {
            writeln!(text, "{}", self.files[f].name).unwrap();
        }
        text
    }

    /// Writes `in1.txt` … `in<N>.txt` into `dir`, creating it.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for index in 0..self.peers.len() {
            std::fs::write(dir.join(input_file_name(index as u32 + 1)), self.input_text(index))?;
        }
        Ok(())
    }

    /// Every output a correct run writes: `client<R>_<file>` and the hashes it must hold.
    pub fn expected_outputs(&self) -> Vec<(String, &[ChunkHash])> {
        (0..self.peers.len()).flat_map(|index| self.outputs_of(index)).collect()
    }

    /// The outputs the peer of `index` (rank `index + 1`) writes in a correct run.
    pub fn outputs_of(&self, index: usize) -> impl Iterator<Item = (String, &[ChunkHash])> {
        self.peers[index].wanted.iter().map(move |&f| {
            let file = &self.files[f];
            (output_file_name(index as u32 + 1, &file.name), &file.hashes[..])
        })
    }

    pub fn chunks_wanted(&self) -> usize {
        self.peers.iter().flat_map(|p| &p.wanted).map(|&f| self.files[f].hashes.len()).sum()
    }
}

/// The name `gen` gives the capacity file it writes beside the inputs.
pub const CAPACITY_FILE: &str = "capacities.txt";

/// Capacities for `peers` peers: upload slots drawn from `upload`, download limits from
/// `download` (none without it).
pub fn random_capacities(
    peers: usize,
    upload: RangeInclusive<u32>,
    download: Option<RangeInclusive<u32>>,
    seed: u64,
) -> Vec<Capacity> {
    // Its own stream, so adding capacities does not change the scenario drawn from the same seed.
    let mut rng = SmallRng::seed_from_u64(seed ^ 0xca9a_c17e);
    (0..peers)
        .map(|_| Capacity {
            upload_slots: rng.gen_range(upload.clone()),
            download_limit: download.clone().map(|d| rng.gen_range(d)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::input::parse_peer_input;

    fn spec() -> RandomSpec {
        RandomSpec { peers: 6, files: 4, chunks: 1..=30, owners: 1..=2, wanted: 0..=3 }
    }

    #[test]
    fn a_flash_crowd_has_one_seed_and_everyone_else_wants_its_file() {
        let crowd = Scenario::flash_crowd(5, 30, 1);
        assert_eq!(crowd.files.len(), 1);
        assert_eq!(crowd.files[0].hashes.len(), 30);
        assert_eq!(crowd.peers[0], PeerPlan { owned: vec![0], wanted: vec![] });
        assert!(crowd.peers[1..].iter().all(|p| p.owned.is_empty() && p.wanted == [0]));
        assert_eq!(crowd.chunks_wanted(), 4 * 30);
    }

    #[test]
    fn classic_scenarios_stay_within_the_classic_limits() {
        for seed in 0..30 {
            let classic = Scenario::classic(seed);
            assert!((3..=6).contains(&classic.peers.len()));
            assert!(classic.files.len() <= 10 && classic.files.iter().all(|f| (30..=100).contains(&f.hashes.len())));
            assert!(classic.files.iter().all(|f| f.name.len() <= 15));
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_scenario() {
        assert_eq!(Scenario::random(&spec(), 7), Scenario::random(&spec(), 7));
        assert_ne!(Scenario::random(&spec(), 7), Scenario::random(&spec(), 8));
    }

    #[test]
    fn generated_inputs_parse_back_to_the_plan() {
        for seed in 0..20 {
            let scenario = Scenario::random(&spec(), seed);
            for (i, plan) in scenario.peers.iter().enumerate() {
                let input = parse_peer_input("in.txt", &scenario.input_text(i)).unwrap();
                let owned: Vec<_> = input.owned.iter().map(|o| (o.name.clone(), o.hashes.clone())).collect();
                let expected: Vec<_> =
                    plan.owned.iter().map(|&f| (scenario.files[f].name.clone(), scenario.files[f].hashes.clone())).collect();
                assert_eq!(owned, expected);
                assert!(plan.wanted.iter().all(|f| !plan.owned.contains(f)));
                assert_eq!(input.wanted.len(), plan.wanted.len());
            }
            for file in 0..scenario.files.len() {
                assert!(scenario.peers.iter().any(|p| p.owned.contains(&file)), "file {file} has an owner");
            }
        }
    }
}
