//! The real tracker and peers, run as threads over the in-process transport: many random
//! scenarios checked hash by hash, and bad inputs refused, in seconds and without mpirun.

mod common;

use clap::ValueEnum;
use common::{check_outputs, random_spec};
use mpitorrent::analysis::report::Report;
use mpitorrent::protocol::error::RunError;
use mpitorrent::protocol::events::Event;
use mpitorrent::protocol::hash::ChunkHash;
use mpitorrent::protocol::ids::Rank;
use mpitorrent::protocol::message::{Endpoint, Envelope, Message, Sent};
use mpitorrent::protocol::strategy::{PeerChoice, PieceOrder};
use mpitorrent::protocol::transport::{Transport, TransportError};
use mpitorrent::record::log::{Log, Recorder};
use mpitorrent::scenario::fault::{Corrupt, Faults, Leave};
use mpitorrent::scenario::generate::{PeerPlan, RandomSpec, Scenario, ScenarioFile};
use mpitorrent::scenario::settings::Settings;
use mpitorrent::scenario::settings::Strategy;
use mpitorrent::tools::run::{run_in_process, run_in_process_with, SwarmError};
use mpitorrent::transport::local::LocalTransport;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

fn config(dir: &Path) -> Settings {
    Settings { inputs: dir.join("in"), out: dir.join("out"), ..Settings::default() }
}

/// Runs `scenario` in-process, with the test configuration changed by `tweak`; the folder it ran
/// in lives as long as the returned handle.
fn run_tweaked(scenario: &Scenario, tweak: impl FnOnce(Settings) -> Settings) -> (Report, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    scenario.write(&dir.path().join("in")).unwrap();
    let report = run_in_process(scenario.ranks(), &tweak(config(dir.path()))).unwrap().report();
    (report, dir)
}

/// Runs `scenario` and checks every output hash by hash, that nothing else was written, and that
/// the report adds up.
fn run_and_check(scenario: &Scenario, mut config: Settings, dir: &Path) {
    scenario.write(&config.inputs).unwrap();
    config.out = dir.join("out");
    let report = run_in_process(scenario.ranks(), &config).unwrap().report();
    check_outputs(&scenario.expected_outputs(), &config.out);

    assert_eq!(report.chunks_delivered as usize, scenario.chunks_wanted());
    let uploads: u64 = report.peers.iter().map(|p| p.uploads_served).sum();
    assert_eq!(uploads, report.chunks_delivered);
    for (peer, plan) in report.peers.iter().zip(&scenario.peers) {
        let wanted: BTreeSet<&str> = plan.wanted.iter().map(|&f| scenario.files[f].name.as_str()).collect();
        assert_eq!(peer.completed.iter().map(String::as_str).collect::<BTreeSet<_>>(), wanted);
        // Without faults, a request is answered with a chunk: the one asked for, another one
        // from a super-seeding owner (a duplicate, rarely, when two owners send the same one),
        // or an end-game copy; or, with tit-for-tat, refused by an uploader that choked it.
        assert!(config.strategy.peers == PeerChoice::TitForTat || peer.refused == 0, "{peer:?}");
        let extra = peer.requests_sent - peer.chunks_downloaded - peer.refused;
        assert!(extra >= peer.duplicates, "{peer:?}");
        assert!(config.strategy.end_game || extra == peer.duplicates, "{peer:?}");
        let substitutes = config.strategy.pieces == PieceOrder::Rarest;
        assert!(config.strategy.end_game || substitutes || extra == 0, "{peer:?}");
        assert!(!peer.downloaded_from.contains_key(&peer.rank), "a peer never serves itself");
    }
}

#[test]
fn hundreds_of_random_scenarios_deliver_every_chunk() {
    within(Duration::from_secs(120), hundreds_of_random_scenarios);
}

fn hundreds_of_random_scenarios() {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(2026);
    for seed in 0..300 {
        let scenario = Scenario::random(&random_spec(&mut rng, 12, 6, 60, 0), seed);
        let dir = tempfile::tempdir().unwrap();
        let config = Settings { update_every: rng.gen_range(1..=15), ..config(dir.path()) };
        run_and_check(&scenario, config, dir.path());
    }
}

#[test]
fn every_strategy_delivers_every_chunk() {
    within(Duration::from_secs(120), every_strategy);
}

fn every_strategy() {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(4);
    for &pieces in PieceOrder::value_variants() {
        for &peers in PeerChoice::value_variants() {
            for end_game in [false, true] {
                for seed in 0..6 {
                    let scenario = Scenario::random(&random_spec(&mut rng, 10, 4, 80, 1), seed);
                    let dir = tempfile::tempdir().unwrap();
                    let config = Settings {
                        update_every: rng.gen_range(1..=12),
                        upload_slots: rng.gen_range(1..=3),
                        // A chunk time in a third of the runs: first-free needs one to differ.
                        chunk_time_ms: u64::from(seed % 3 == 0),
                        strategy: Strategy { pieces, peers, end_game, seed, ..Strategy::default() },
                        ..config(dir.path())
                    };
                    run_and_check(&scenario, config, dir.path());
                }
            }
        }
    }
}

#[test]
fn the_end_game_makes_duplicates_and_counts_them() {
    // Several seeds and a slow last chunk: copies are asked of a second holder.
    let spec = RandomSpec { peers: 8, files: 1, chunks: 40..=40, owners: 3..=3, wanted: 1..=1 };
    let scenario = Scenario::random(&spec, 9);
    let strategy = Strategy { end_game: true, ..Strategy::default() };
    let (report, dir) = run_tweaked(&scenario, |c| Settings { chunk_time_ms: 2, strategy, ..c });
    let duplicates: u64 = report.peers.iter().map(|p| p.duplicates).sum();
    let extra: u64 = report.peers.iter().map(|p| p.requests_sent - p.chunks_downloaded).sum();
    assert!(duplicates > 0, "{report:?}");
    assert!(extra >= duplicates);
    assert_eq!(report.options.strategy, strategy, "the report says how the run was set up");
    check_outputs(&scenario.expected_outputs(), &dir.path().join("out"));
}

#[test]
fn upload_slots_serve_several_chunks_at_once() {
    // One seed of four files, four downloaders each wanting its own, 20 ms a chunk: only the
    // seed can serve them; with 4 slots it serves them in parallel.
    let hashes = Scenario::flash_crowd(2, 10, 2).files.remove(0).hashes;
    let scenario = Scenario {
        files: (1..=4).map(|i| ScenarioFile { name: format!("file{i}"), hashes: hashes.clone() }).collect(),
        peers: (0..5)
            .map(|p| {
                if p == 0 {
                    PeerPlan { owned: vec![0, 1, 2, 3], wanted: vec![] }
                } else {
                    PeerPlan { owned: vec![], wanted: vec![p - 1] }
                }
            })
            .collect(),
    };
    // The seed's uploads, by when each was served, and the run's report.
    let run = |slots| {
        let dir = tempfile::tempdir().unwrap();
        let config = Settings { chunk_time_ms: 20, upload_slots: slots, ..config(dir.path()) };
        scenario.write(&config.inputs).unwrap();
        let recorder = Recorder::create(&dir.path().join("run.log"), false).unwrap();
        let report = run_in_process_with(scenario.ranks(), &config, |t| t, Some(recorder)).unwrap().report();
        let log = Log::read(&dir.path().join("run.log")).unwrap();
        let mut served: Vec<u64> =
            log.events.iter().filter(|e| matches!(e.event, Event::ChunkServed { .. })).map(|e| e.at).collect();
        served.sort_unstable();
        (served, report)
    };
    // Uploads that ended less than a chunk time after the one before: served side by side.
    let overlapping = |served: &[u64]| served.windows(2).filter(|w| w[1] - w[0] < 15_000).count();
    let ((one, _), (four, report)) = (run(1), run(4));
    let efficiency = report.efficiency;
    assert!(efficiency.makespan_ratio.is_some_and(|r| r >= 1.0), "no schedule beats the bound: {efficiency:?}");
    // One slot serves one chunk at a time, however busy the machine; four serve several at once.
    assert_eq!((one.len(), four.len()), (40, 40));
    assert_eq!(overlapping(&one), 0, "{one:?}");
    assert!(overlapping(&four) >= 20, "{four:?}");
}

#[test]
fn capacities_from_a_file_set_each_peers_slots_and_download_limit() {
    // A seed with 4 slots; peer 3 may have one request out at a time, so its 20 chunks take at
    // least 20 rounds: the bound, which the run cannot beat.
    let scenario = Scenario::flash_crowd(5, 20, 1);
    let dir = tempfile::tempdir().unwrap();
    let capacities = dir.path().join("capacities.txt");
    std::fs::write(&capacities, "# rank slots limit\n1 4\n3 1 1\n").unwrap();
    let chunk_time_ms = 10;
    let with_file = Some(capacities.clone());
    let (report, out) = run_tweaked(&scenario, |c| Settings { chunk_time_ms, capacities: with_file, ..c });
    check_outputs(&scenario.expected_outputs(), &out.path().join("out"));
    let slots: Vec<(u32, Option<u32>)> = report.capacities.iter().map(|c| (c.upload_slots, c.download_limit)).collect();
    assert_eq!(slots, [(4, None), (1, None), (1, Some(1)), (1, None), (1, None)]);
    assert_eq!(report.efficiency.lower_bound_rounds, 20);
    assert!(report.efficiency.makespan_ratio.is_some_and(|r| r >= 1.0), "{:?}", report.efficiency);

    std::fs::write(&capacities, "1 4\n6 1\n").unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    scenario.write(&dir2.path().join("in")).unwrap();
    let config = Settings { capacities: Some(capacities.clone()), ..config(dir2.path()) };
    match run_in_process(scenario.ranks(), &config) {
        Err(SwarmError::Run(RunError::Input(problem))) => {
            assert_eq!(problem.to_string(), format!("{}:2: rank 6 is not a peer: the run has peers 1 to 5", capacities.display()))
        }
        other => panic!("{other:?}"),
    }
    assert!(!dir2.path().join("out").exists(), "nothing written");
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
    let (report, _) = run_tweaked(&Scenario::random(&spec, 3), |c| c);
    let downloaders: Vec<_> = report.peers.iter().filter(|p| p.chunks_downloaded > 0).collect();
    assert_eq!(downloaders.len(), 6);
    for peer in downloaders {
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
    let err = match run_in_process(ranks, &config) {
        Err(SwarmError::Run(RunError::Input(problem))) => problem.to_string(),
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
    assert_eq!(
        input_error(&[&seed, wants, wants], 3),
        "in3.txt: present, but -np 3 runs peers 1 to 2 only: start one rank per input file plus the tracker, or remove it"
    );
    assert_eq!(input_error(&[&seed, "0\n1\ng\n"], 3), "in2.txt:3: wants 'g', which no peer owns");
    assert_eq!(
        input_error(&[&seed, &format!("1\nf 2\n{G}\n{H}\n0\n"), wants], 4),
        "in2.txt:3: chunk 1 of 'f' has a different hash here than at in1.txt:3"
    );
    assert_eq!(input_error(&[&seed, "0\n2\nf\nf\n"], 3), "in2.txt:4: file 'f' is listed twice among wanted files");
    assert_eq!(
        input_error(&[&format!("1\nf 3\n{H}\n{G}\n0\n"), wants], 3),
        "in1.txt:5: expected hash 3 of 3 of 'f' (32 hex digits), found '0'"
    );
    assert_eq!(input_error(&[&seed, "0\n1\n../f\n"], 3), "in2.txt:3: file name '../f' contains a path separator");
}

/// Runs `work` on its own thread and fails the test if it takes longer than `limit`, so a
/// regression shows up as a failure rather than a suite that never ends.
fn within<R: Send + 'static>(limit: Duration, work: impl FnOnce() -> R + Send + 'static) -> R {
    let (done, outcome) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let _ = done.send(work());
    });
    outcome.recv_timeout(limit).unwrap_or_else(|_| panic!("still running after {limit:?}: a hang"))
}

#[test]
fn a_failing_peer_ends_the_run_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    std::fs::create_dir_all(&config.inputs).unwrap();
    std::fs::write(config.inputs.join("in1.txt"), format!("1\nf 2\n{H}\n{G}\n0\n")).unwrap();
    std::fs::write(config.inputs.join("in2.txt"), "0\n1\nf\n").unwrap();
    std::fs::write(config.inputs.join("in3.txt"), "0\n1\nf\n").unwrap();
    // A folder where peer 2's output should go: its write fails after the download.
    std::fs::create_dir_all(config.out.join("client2_f/in-the-way")).unwrap();
    let result = within(Duration::from_secs(30), move || run_in_process(4, &config).map(|model| model.report()));
    match result {
        Err(SwarmError::Run(RunError::Output(problem))) => {
            assert!(problem.to_string().contains("client2_f: cannot write"), "{problem}")
        }
        other => panic!("expected peer 2's output error, got {other:?}"),
    }
}

/// Wraps a peer's transport so that its upload thread answers some requests with a NACK or a
/// wrong hash instead of the chunk.
struct Faulty {
    inner: LocalTransport,
    nack: f64,
    corrupt: f64,
    rng: Mutex<SmallRng>,
}

impl Transport for Faulty {
    fn rank(&self) -> Rank {
        self.inner.rank()
    }

    fn size(&self) -> u32 {
        self.inner.size()
    }

    fn send(&self, to: Rank, msg: &Message) -> Result<(), TransportError> {
        if let Message::ChunkReply { file, asked, sent: Some(sent), holding, choked } = msg {
            let roll: f64 = self.rng.lock().unwrap().gen();
            let sent = if roll < self.nack {
                None
            } else if roll < self.nack + self.corrupt {
                Some(Sent { hash: ChunkHash::from_u128(roll.to_bits() as u128), ..*sent })
            } else {
                return self.inner.send(to, msg);
            };
            let reply = Message::ChunkReply { file: *file, asked: *asked, sent, holding: holding.clone(), choked: *choked };
            return self.inner.send(to, &reply);
        }
        self.inner.send(to, msg)
    }

    fn recv_any(&self, endpoints: &[Endpoint], timeout: Option<Duration>) -> Result<Option<Envelope>, TransportError> {
        self.inner.recv_any(endpoints, timeout)
    }
}

fn run_faulty(scenario: &Scenario, dir: &Path, nack: f64, corrupt: f64) -> Result<Report, SwarmError> {
    let config = config(dir);
    scenario.write(&config.inputs).unwrap();
    let wrap = move |inner: LocalTransport| {
        let rng = Mutex::new(SmallRng::seed_from_u64(inner.rank().0 as u64));
        Faulty { inner, nack, corrupt, rng }
    };
    run_in_process_with(scenario.ranks(), &config, wrap, None).map(|model| model.report())
}

#[test]
fn nacks_and_wrong_hashes_send_the_chunk_to_another_member() {
    let spec = RandomSpec { peers: 8, files: 3, chunks: 20..=60, owners: 1..=2, wanted: 1..=2 };
    for seed in 0..10 {
        let scenario = Scenario::random(&spec, seed);
        let dir = tempfile::tempdir().unwrap();
        let report = {
            let (scenario, path) = (scenario.clone(), dir.path().to_owned());
            within(Duration::from_secs(60), move || run_faulty(&scenario, &path, 0.2, 0.1)).unwrap()
        };
        check_outputs(&scenario.expected_outputs(), &dir.path().join("out"));
        let (nacks, bad): (u64, u64) =
            report.peers.iter().map(|p| (p.nacks_received, p.bad_hashes)).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let requests: u64 = report.peers.iter().map(|p| p.requests_sent).sum();
        assert!(nacks > 0 && bad > 0, "faults were injected: {nacks} NACKs, {bad} bad hashes");
        assert_eq!(requests, report.chunks_delivered + nacks + bad, "each failed request was retried");
    }
}

#[test]
fn a_chunk_nobody_serves_is_given_up_and_the_run_says_it_is_incomplete() {
    let spec = RandomSpec { peers: 3, files: 1, chunks: 5..=5, owners: 1..=1, wanted: 1..=1 };
    let scenario = Scenario::random(&spec, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let report = within(Duration::from_secs(60), move || run_faulty(&scenario, &path, 1.0, 0.0)).unwrap();
    assert!(report.incomplete());
    let gave_up: Vec<&Vec<String>> = report.peers.iter().map(|p| &p.abandoned).filter(|a| !a.is_empty()).collect();
    assert_eq!(gave_up, [&vec!["file1".to_string()]; 2], "both downloaders gave up on the file");
    assert!(nothing_in(&dir.path().join("out")), "nothing half-written");
}

#[test]
fn a_recorded_run_replays_to_the_same_final_model() {
    let spec = RandomSpec { peers: 10, files: 4, chunks: 20..=120, owners: 1..=2, wanted: 1..=3 };
    let scenario = Scenario::random(&spec, 21);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    scenario.write(&config.inputs).unwrap();
    let path = dir.path().join("run.log");
    let recorder = Recorder::create(&path, false).unwrap();
    let live = run_in_process_with(scenario.ranks(), &config, |t| t, Some(recorder)).unwrap();
    let log = Log::read(&path).unwrap();
    assert_eq!(log.damage, None);
    assert_eq!(log.end.map(|e| e.at), live.finished);
    assert_eq!(log.model(), live);
    assert_eq!(live.chunks_delivered(), live.chunks_wanted());
    assert_eq!(mpitorrent::analysis::audit::audit(&log).breaches, []);
}

#[test]
fn a_recorded_run_with_faults_and_the_end_game_keeps_every_protocol_rule() {
    let spec = RandomSpec { peers: 8, files: 3, chunks: 20..=80, owners: 2..=2, wanted: 1..=2 };
    let scenario = Scenario::random(&spec, 5);
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.strategy = Strategy { pieces: PieceOrder::Rarest, end_game: true, ..config.strategy };
    config.chunk_time_ms = 1;
    config.faults = Faults {
        leaves: vec![Leave { peer: Rank(4), at_ms: 30 }],
        corrupt: vec![Corrupt { peer: Rank(2), probability: 0.3 }],
        ..Faults::default()
    };
    let (_, log) = run_recorded(&scenario, config, dir.path());
    let happened = |what: fn(&Event) -> bool| log.events.iter().any(|e| what(&e.event));
    assert!(happened(|e| matches!(e, Event::PeerLeft { .. })) && happened(|e| matches!(e, Event::ChunkRejected { .. })));
    let audit = mpitorrent::analysis::audit::audit(&log);
    assert_eq!(audit.breaches, [], "{}", audit.table());
}

#[test]
fn with_tit_for_tat_free_riders_and_an_owner_that_leaves_every_upload_goes_to_a_peer_unchoked_then() {
    // Two owners of each file, so a file survives one of them leaving; two free riders among the
    // peers that own nothing.
    let spec = RandomSpec { peers: 12, files: 3, chunks: 40..=120, owners: 2..=2, wanted: 1..=3 };
    let scenario = Scenario::random(&spec, 6);
    let owns = |r: &Rank| !scenario.peers[r.peer_index()].owned.is_empty();
    let leaver = (1..=12).map(Rank).find(owns).unwrap();
    let riders: Vec<Rank> = (1..=12).map(Rank).filter(|r| !owns(r)).take(2).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.strategy = Strategy { pieces: PieceOrder::Rarest, peers: PeerChoice::TitForTat, unchoke: 2, ..config.strategy };
    config.chunk_time_ms = 1;
    config.faults = Faults { leaves: vec![Leave { peer: leaver, at_ms: 30 }], freeride: riders.clone(), ..Faults::default() };
    let (model, log) = run_recorded(&scenario, config, dir.path());
    let report = model.report();
    assert!(report.peers[leaver.peer_index()].left && !report.incomplete(), "the others finish from the rest: {report:?}");
    for rider in &riders {
        let peer = &report.peers[rider.peer_index()];
        assert!(peer.free_rider && peer.uploads_served == 0, "{peer:?}");
        assert_eq!(peer.completed.len(), peer.wanted.len(), "a free rider still gets what it wants: {peer:?}");
    }
    assert!(log.events.iter().any(|e| matches!(e.event, Event::Choked { .. })), "some peer was choked");
    let audit = mpitorrent::analysis::audit::audit(&log);
    assert_eq!(audit.breaches, [], "{}", audit.table());
}

#[test]
fn a_peer_that_leaves_keeps_what_it_completed_and_the_others_finish_from_the_rest() {
    // Rank 3 leaves mid-run; the seed (rank 1) stays, so every other peer completes.
    let scenario = Scenario::flash_crowd(6, 300, 1);
    let faults = Faults { leaves: vec![Leave { peer: Rank(3), at_ms: 40 }], ..Faults::default() };
    let (report, dir) = run_with_faults(&scenario, faults, 1);
    assert!(report.peers[2].left && !report.incomplete(), "{report:?}");
    assert!(report.peers.iter().filter(|p| !p.left && !p.wanted.is_empty()).all(|p| p.completed.len() == 1));
    let expected = scenario.expected_outputs();
    let stayed: Vec<_> = expected.iter().filter(|(name, _)| !name.starts_with("client3_")).cloned().collect();
    check_outputs(&stayed, &dir.path().join("out"));
    assert!(!dir.path().join("out/client3_file1").exists(), "it left before completing its file");
}

#[test]
fn requests_at_a_peer_that_left_go_elsewhere_once_the_tracker_drops_it_not_after_their_timeout() {
    // The leaver is a second seed, so requests for any chunk queue at it until it leaves; the
    // first seed stays, so all can finish.
    let mut scenario = Scenario::flash_crowd(10, 100, 1);
    scenario.peers[2] = PeerPlan { owned: vec![0], wanted: vec![] };
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.strategy = Strategy { pieces: PieceOrder::Rarest, ..config.strategy };
    config.chunk_time_ms = 4;
    config.faults = Faults { leaves: vec![Leave { peer: Rank(3), at_ms: 120 }], ..Faults::default() };
    let (model, log) = run_recorded(&scenario, config, dir.path());
    let report = model.report();
    assert!(report.peers.iter().filter(|p| !p.left && !p.wanted.is_empty()).all(|p| p.completed.len() == 1));
    // Each request given up at the leaver, and how long after it was made.
    let mut asked = std::collections::HashMap::new();
    let mut waited = Vec::new();
    for stamped in &log.events {
        match stamped.event {
            Event::ChunkRequested { downloader, uploader, chunk, .. } => {
                asked.insert((downloader, uploader, chunk), stamped.at);
            }
            Event::ChunkTimedOut { downloader, uploader, chunk, .. } if uploader == Rank(3) => {
                waited.push(Duration::from_micros(stamped.at - asked[&(downloader, uploader, chunk)]))
            }
            _ => {}
        }
    }
    assert!(!waited.is_empty(), "some requests were at the leaver: {report:?}");
    let timeout = mpitorrent::protocol::peer::request_timeout(Duration::from_millis(4), 10);
    assert!(waited.iter().all(|&w| w < timeout / 2), "given up after {waited:?}, the deadline being {timeout:?}");
}

#[test]
fn when_the_only_seed_leaves_the_others_give_up_and_every_rank_finishes() {
    let scenario = Scenario::flash_crowd(4, 300, 1);
    let faults = Faults { leaves: vec![Leave { peer: Rank(1), at_ms: 20 }], ..Faults::default() };
    let (report, dir) = run_with_faults(&scenario, faults, 1);
    assert!(report.peers[0].left && report.incomplete());
    assert!(report.peers[1..].iter().all(|p| p.abandoned == ["file1"]), "{report:?}");
    assert!(report.peers.iter().map(|p| p.timeouts).sum::<u64>() > 0, "requests to the seed timed out");
    assert!(nothing_in(&dir.path().join("out")), "nothing half-written");
}

#[test]
fn a_lying_uploader_is_caught_reported_and_avoided() {
    // Two owners of each file: the liar's chunks can always come from the other.
    let spec = RandomSpec { peers: 8, files: 2, chunks: 50..=80, owners: 2..=2, wanted: 1..=2 };
    let scenario = Scenario::random(&spec, 4);
    let liar = Rank(scenario.peers.iter().position(|p| !p.owned.is_empty()).unwrap() as u32 + 1);
    let faults = Faults { leaves: vec![], corrupt: vec![Corrupt { peer: liar, probability: 0.5 }], ..Faults::default() };
    let (report, dir) = run_with_faults(&scenario, faults, 0);
    check_outputs(&scenario.expected_outputs(), &dir.path().join("out"));
    let bad: u64 = report.peers.iter().map(|p| p.bad_hashes).sum();
    let from_liar: u64 = report.peers.iter().map(|p| p.downloaded_from.get(&liar.0).copied().unwrap_or(0)).sum();
    assert!(bad > 0, "the liar was caught");
    assert!(report.tracker.bad_sources > 0, "and reported");
    assert!(from_liar < report.chunks_delivered / 4, "{from_liar} of {} chunks came from the liar", report.chunks_delivered);
}

#[test]
fn with_first_free_a_lying_only_owner_still_delivers_and_nothing_spins() {
    // The only owner lies half the time; with first-free every chunk still comes from it, each
    // lie caught and the chunk asked again, and a member that failed a chunk is not asked for it
    // again by interest after interest.
    let scenario = Scenario::flash_crowd(4, 60, 3);
    let faults = Faults { leaves: vec![], corrupt: vec![Corrupt { peer: Rank(1), probability: 0.5 }], ..Faults::default() };
    let scenario2 = scenario.clone();
    let (report, dir) = within(Duration::from_secs(60), move || {
        run_tweaked(&scenario2, |c| Settings {
            chunk_time_ms: 1,
            faults,
            strategy: Strategy { pieces: PieceOrder::Rarest, peers: PeerChoice::FirstFree, ..c.strategy },
            ..c
        })
    });
    check_outputs(&scenario.expected_outputs(), &dir.path().join("out"));
    assert!(report.peers.iter().map(|p| p.bad_hashes).sum::<u64>() > 0, "the lies were caught");
    assert!(report.efficiency.requests_per_chunk < 3.0, "{:?}", report.efficiency);
    // Without the end game, a chunk is asked for by name only in answer to an interest, and the
    // interests are counted among the peers' messages.
    for peer in &report.peers {
        assert!(peer.interests_sent >= peer.requests_sent, "{peer:?}");
    }
    assert!(report.peer_messages_per_chunk() > 2.0 * report.efficiency.requests_per_chunk, "interests count too");
}

/// Runs `scenario` in-process with `config`, recorded to `run.log` in `dir`, within a minute: the
/// final model and the log.
fn run_recorded(scenario: &Scenario, config: Settings, dir: &Path) -> (mpitorrent::analysis::model::SwarmModel, Log) {
    scenario.write(&config.inputs).unwrap();
    let path = dir.join("run.log");
    let recorder = Recorder::create(&path, false).unwrap();
    let ranks = scenario.ranks();
    let model = within(Duration::from_secs(60), move || run_in_process_with(ranks, &config, |t| t, Some(recorder)).unwrap());
    (model, Log::read(&path).unwrap())
}

/// Runs `scenario` in-process with `faults` and a chunk time of `chunk_ms`, within a minute.
fn run_with_faults(scenario: &Scenario, faults: Faults, chunk_ms: u64) -> (Report, tempfile::TempDir) {
    let scenario = scenario.clone();
    within(Duration::from_secs(60), move || run_tweaked(&scenario, |c| Settings { chunk_time_ms: chunk_ms, faults, ..c }))
}

/// Whether a folder holds nothing (or does not exist).
fn nothing_in(folder: &Path) -> bool {
    std::fs::read_dir(folder).map_or(true, |mut entries| entries.next().is_none())
}
