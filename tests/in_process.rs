//! The real tracker and peers, run as threads over the in-process transport: many random
//! scenarios checked hash by hash, and bad inputs refused, in seconds and without mpirun.

use mpitorrent::events::NoEvents;
use mpitorrent::run::{run_in_process, RunConfig, RunError};
use mpitorrent::scenario::{RandomSpec, Scenario};
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::path::Path;

fn config(dir: &Path) -> RunConfig {
    RunConfig { inputs: dir.join("in"), out: dir.join("out"), ..RunConfig::default() }
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().into_string().unwrap()).collect(),
        Err(_) => BTreeSet::new(),
    }
}

/// Runs `scenario` and checks every output hash by hash, that nothing else was written, and that
/// the report adds up.
fn run_and_check(scenario: &Scenario, mut config: RunConfig, dir: &Path) {
    scenario.write(&config.inputs).unwrap();
    config.out = dir.join("out");
    let report = run_in_process(scenario.ranks(), &config, &NoEvents).unwrap();
    let expected = scenario.expected_outputs();
    for (name, hashes) in &expected {
        let text = std::fs::read_to_string(config.out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<&str> = text.lines().collect();
        let want: Vec<&str> = hashes.iter().map(|h| h.as_str()).collect();
        assert_eq!(got, want, "{name}");
    }
    let names: BTreeSet<String> = expected.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(files_in(&config.out), names, "exactly the wanted outputs, no temporaries");

    assert_eq!(report.chunks_delivered as usize, scenario.chunks_wanted());
    let uploads: u64 = report.peers.iter().map(|p| p.uploads_served).sum();
    assert_eq!(uploads, report.chunks_delivered);
    for (peer, plan) in report.peers.iter().zip(&scenario.peers) {
        let wanted: BTreeSet<&str> = plan.wanted.iter().map(|&f| scenario.files[f].name.as_str()).collect();
        assert_eq!(peer.completed.iter().map(String::as_str).collect::<BTreeSet<_>>(), wanted);
        assert_eq!(peer.requests_sent, peer.chunks_downloaded, "no NACKs without faults");
        assert!(!peer.downloaded_from.contains_key(&peer.rank), "a peer never serves itself");
    }
}

#[test]
fn hundreds_of_random_scenarios_deliver_every_chunk() {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(2026);
    for seed in 0..300 {
        let files = rng.gen_range(1..=6);
        let spec = RandomSpec {
            peers: rng.gen_range(1..=12),
            files,
            chunks: 1..=rng.gen_range(1..=60),
            owners: 1..=rng.gen_range(1..=3),
            wanted: 0..=files,
        };
        let scenario = Scenario::random(&spec, seed);
        let dir = tempfile::tempdir().unwrap();
        let config = RunConfig { update_every: rng.gen_range(1..=15), ..config(dir.path()) };
        run_and_check(&scenario, config, dir.path());
    }
}

#[test]
fn large_files_and_many_of_them_work() {
    let spec = RandomSpec { peers: 6, files: 15, chunks: 1000..=2500, owners: 1..=2, wanted: 3..=6 };
    let dir = tempfile::tempdir().unwrap();
    run_and_check(&Scenario::random(&spec, 1), config(dir.path()), dir.path());
}

#[test]
fn downloads_spread_over_the_holders_of_a_file() {
    // Three seeds, six downloaders of one 200-chunk file.
    let spec = RandomSpec { peers: 9, files: 1, chunks: 200..=200, owners: 3..=3, wanted: 1..=1 };
    let scenario = Scenario::random(&spec, 3);
    let dir = tempfile::tempdir().unwrap();
    scenario.write(&dir.path().join("in")).unwrap();
    let report = run_in_process(scenario.ranks(), &config(dir.path()), &NoEvents).unwrap();
    for peer in report.peers.iter().filter(|p| p.chunks_downloaded > 0) {
        let largest = *peer.downloaded_from.values().max().unwrap() as f64;
        assert!(
            peer.downloaded_from.len() >= 3 && largest / (peer.chunks_downloaded as f64) < 0.6,
            "peer {} got its chunks from {:?}",
            peer.rank,
            peer.downloaded_from
        );
    }
}

const H: &str = "3fcfb9d1242fdce64aee2bfe35266912";
const G: &str = "6dd6078d720fc86c885f7f87faf0d32a";

/// Runs hand-written inputs and returns the error every rank stopped with.
fn input_error(inputs: &[&str], ranks: u32) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    std::fs::create_dir_all(&config.inputs).unwrap();
    for (i, text) in inputs.iter().enumerate() {
        std::fs::write(config.inputs.join(format!("in{}.txt", i + 1)), text).unwrap();
    }
    let err = match run_in_process(ranks, &config, &NoEvents) {
        Err(RunError::Input(problem)) => problem,
        other => panic!("expected an input error, got {other:?}"),
    };
    assert!(!config.out.exists(), "no output, not even its folder, after an input error");
    err.replace(&format!("{}/", config.inputs.display()), "")
}

#[test]
fn bad_inputs_stop_every_rank_with_one_clear_message() {
    let seed = format!("1\nf 2\n{H}\n{G}\n0\n");
    let wants = "0\n1\nf\n";
    assert_eq!(input_error(&[&seed, wants], 4), "in3.txt: input file not found");
    assert_eq!(input_error(&[&seed, wants, wants], 3), "in3.txt: present, but -np 3 runs peers 1 to 2 only: start one rank per input file plus the tracker, or remove it");
    assert_eq!(input_error(&[&seed, "0\n1\ng\n"], 3), "in2.txt:3: wants 'g', which no peer owns");
    assert_eq!(
        input_error(&[&seed, &format!("1\nf 2\n{G}\n{H}\n0\n"), wants], 4),
        "in2.txt:2: file 'f' has a different hash for chunk 1 here than in1.txt:2 gives"
    );
    assert_eq!(input_error(&[&seed, "0\n2\nf\nf\n"], 3), "in2.txt:4: file 'f' is listed twice among wanted files");
    assert_eq!(input_error(&[&format!("1\nf 3\n{H}\n{G}\n0\n"), wants], 3), "in1.txt:5: expected hash 3 of 3 of 'f' (32 hex digits), found '0'");
    assert_eq!(input_error(&[&seed, "0\n1\n../f\n"], 3), "in2.txt:3: file name '../f' contains a path separator");
}
