//! The real binary under mpirun: generated scenarios checked hash by hash, the report, and bad
//! inputs refused on every rank within seconds.

mod common;

use common::{check_outputs, expected_from_inputs, mpirun};
use mpitorrent::analysis::audit::{audit, Rule};
use mpitorrent::analysis::model::SwarmModel;
use mpitorrent::analysis::report::{Report, Waiting};
use mpitorrent::record::log::Log;
use mpitorrent::scenario::generate::{RandomSpec, Scenario};
use mpitorrent::tools::launch::{Mpi, LAUNCHER_VARIABLE};
use mpitorrent::transport::bells::BELLS_VARIABLE;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn generated_scenarios_come_out_right_hash_by_hash() {
    let shapes = [
        (RandomSpec { peers: 3, files: 2, chunks: 1..=40, owners: 1..=1, wanted: 1..=1 }, 11),
        (RandomSpec { peers: 8, files: 5, chunks: 20..=120, owners: 1..=3, wanted: 0..=4 }, 12),
        (RandomSpec { peers: 12, files: 12, chunks: 1000..=1500, owners: 1..=2, wanted: 1..=3 }, 13),
    ];
    for (spec, seed) in shapes {
        let scenario = Scenario::random(&spec, seed);
        let dir = tempfile::tempdir().unwrap();
        scenario.write(&dir.path().join("in")).unwrap();
        let run = mpirun(dir.path(), scenario.ranks(), &["--inputs", "in", "--out", "out", "--report", "report.json"], LIMIT);
        assert!(run.success(), "{spec:?}: {}", run.stderr);
        check_outputs(&scenario.expected_outputs(), &dir.path().join("out"));

        let stdout = &run.stdout;
        assert_eq!(stdout.lines().count(), 1, "one summary line: {stdout}");
        assert!(stdout.starts_with(&format!("mpitorrent: {} peers", spec.peers)), "{stdout}");
        let report: Report = serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
        assert_eq!(report.chunks_delivered as usize, scenario.chunks_wanted());
        assert_eq!(report.peers.len(), spec.peers);
        assert!((report.efficiency.requests_per_chunk - 1.0).abs() < 1e-9, "a request and an answer per chunk");
        assert!(report.peer_messages_per_chunk() >= 2.0, "and any interests besides");
    }
}

#[test]
fn random_scenarios_come_out_right_under_mpirun() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(77);
    for seed in 0..8 {
        let spec = common::random_spec(&mut rng, 16, 5, 300, 0);
        let scenario = Scenario::random(&spec, seed);
        let dir = tempfile::tempdir().unwrap();
        scenario.write(dir.path()).unwrap();
        let run = mpirun(dir.path(), scenario.ranks(), &["--out", "out"], LIMIT);
        assert!(run.success(), "{spec:?} seed {seed}: {}", run.stderr);
        check_outputs(&scenario.expected_outputs(), &dir.path().join("out"));
    }
}

#[test]
fn chunk_time_makes_uploaders_busy_without_burning_cpu() {
    // With bells (one host), and with receivers that look on a timer, as across hosts.
    for bells in ["on", "off"] {
        busy_without_burning_cpu(bells);
    }
}

fn busy_without_burning_cpu(bells: &str) {
    let spec = RandomSpec { peers: 8, files: 2, chunks: 30..=30, owners: 1..=1, wanted: 1..=1 };
    let scenario = Scenario::random(&spec, 5);
    let dir = tempfile::tempdir().unwrap();
    scenario.write(dir.path()).unwrap();
    let variable = format!("{BELLS_VARIABLE}={bells}");
    let args = [&variable, common::BINARY, "--chunk-time", "20", "--report", "r.json", "--out", "out"];
    let run = common::launch(dir.path(), scenario.ranks(), Path::new("env"), &args, LIMIT);
    assert!(run.success(), "bells {bells}: {}", run.stderr);
    check_outputs(&scenario.expected_outputs(), &dir.path().join("out"));
    let report: Report = serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    let expected = if bells == "on" { Waiting::Bells } else { Waiting::Polling };
    assert_eq!(report.waiting, Some(expected), "bells {bells}: the receivers waited as asked");
    // 7 downloaders x 30 chunks at 20 ms, over at most 8 uploaders: at least 0.5 s of serving.
    assert!(report.wall_time_s > 0.5, "bells {bells}: chunk time was not spent: {report:?}");
    // No schedule beats the lower bound; the ranks' CPU time was reported.
    let efficiency = &report.efficiency;
    assert!(efficiency.makespan_ratio.is_some_and(|r| r >= 1.0), "{efficiency:?}");
    assert!(efficiency.cpu_seconds_per_chunk.is_some_and(|c| c > 0.0), "{efficiency:?}");
    // Waiting ranks sleep: spinning ones would use both cores from the run's start to its end.
    let chunks = report.chunks_delivered as f64;
    let busy = efficiency.cpu_seconds_per_chunk.unwrap_or_default() * chunks / report.wall_time_s;
    assert!(busy < 0.5, "bells {bells}: {busy:.2} cores busy over the run's {} s", report.wall_time_s);
    // And over the whole job, the launcher and MPI's start and end too (MPICH's start costs
    // about 0.5 s of CPU time with 9 ranks, Open MPI's less).
    let whole = run.cpu.as_secs_f64() / run.wall.as_secs_f64();
    assert!(whole < 1.0, "bells {bells}: {whole:.2} cores busy over {:?}", run.wall);
}

/// Runs `inputs` (in1.txt, in2.txt, ...) with `np` ranks; returns stderr after checking the run
/// failed fast, on every rank, and wrote nothing.
fn refused(inputs: &[&str], np: u32) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (i, text) in inputs.iter().enumerate() {
        std::fs::write(dir.path().join(format!("in{}.txt", i + 1)), text).unwrap();
    }
    refused_in(dir.path(), np, "out")
}

/// Runs the inputs already in `dir` with outputs going to `out`, and checks as [`refused`] does.
fn refused_in(dir: &Path, np: u32, out: &str) -> String {
    let run = mpirun(dir, np, &["--out", out], LIMIT);
    assert!(run.code.is_some_and(|c| c != 0), "a bad input must fail the run, not {:?}", run.code);
    assert!(run.wall < Duration::from_secs(15), "took {:?}", run.wall);
    assert!(!dir.join(out).exists(), "nothing written, not even the output folder");
    run.stderr
}

const H: &str = "3fcfb9d1242fdce64aee2bfe35266912";

#[test]
fn a_rank_that_fails_mid_run_ends_the_whole_job() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in1.txt"), format!("1\nf 1\n{H}\n0\n")).unwrap();
    std::fs::write(dir.path().join("in2.txt"), "0\n1\nf\n").unwrap();
    std::fs::write(dir.path().join("in3.txt"), "0\n1\nf\n").unwrap();
    // A folder where peer 2's output should go: its write fails after the download.
    std::fs::create_dir_all(dir.path().join("client2_f/in-the-way")).unwrap();
    let run = mpirun(dir.path(), 4, &[], LIMIT);
    assert!(run.code.is_some_and(|c| c != 0), "exit {:?}", run.code);
    assert!(run.wall < Duration::from_secs(15), "took {:?}", run.wall);
    let ours: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("mpitorrent")).collect();
    assert_eq!(ours.len(), 1, "{}", run.stderr);
    assert!(ours[0].starts_with("mpitorrent: rank 2: error: ./client2_f: cannot write"), "{}", ours[0]);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn output_and_report_places_that_cannot_be_written_stop_the_run_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in1.txt"), format!("1\nf 1\n{H}\n0\n")).unwrap();
    std::fs::write(dir.path().join("in2.txt"), "0\n1\nf\n").unwrap();
    std::fs::write(dir.path().join("taken"), "a file where the folder should be").unwrap();
    let stderr = refused_in(dir.path(), 3, "taken/out");
    assert!(stderr.contains("mpitorrent: error: taken/out: cannot create the folder: "), "{stderr}");
    assert!(stderr.contains("taken is not a folder"), "{stderr}");

    let run = mpirun(dir.path(), 3, &["--out", "out", "--report", "taken/report.json"], LIMIT);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("mpitorrent: error: taken/report.json: cannot create the folder"), "{}", run.stderr);
    assert!(!dir.path().join("out").exists(), "the run never started");
}

#[test]
fn bad_inputs_end_the_run_with_one_message() {
    let seed = format!("1\nf 1\n{H}\n0\n");
    let cases: [(&[&str], u32, &str); 5] = [
        (&[&seed, "0\n1\nf\n"], 4, "mpitorrent: error: in3.txt: input file not found"),
        (&[&seed, "0\n1\nf\n", "0\n0\n"], 3, "mpitorrent: error: in3.txt: present, but -np 3 runs peers 1 to 2 only"),
        (&[&seed, "0\n1\nnope\n"], 3, "mpitorrent: error: in2.txt:3: wants 'nope', which no peer owns"),
        (
            &["1\nf 1\nnot-a-hash\n0\n", "0\n1\nf\n"],
            3,
            "mpitorrent: error: in1.txt:3: expected hash 1 of 1 of 'f' (32 hex digits), found 'not-a-hash'",
        ),
        (&[&seed], 1, "mpitorrent: error: needs at least 2 ranks"),
    ];
    for (inputs, np, message) in cases {
        let stderr = refused(inputs, np);
        let ours: Vec<&str> = stderr.lines().filter(|l| l.starts_with("mpitorrent")).collect();
        assert_eq!(ours.len(), 1, "exactly one message: {stderr}");
        assert!(ours[0].starts_with(message), "expected {message:?} in\n{stderr}");
    }
}

/// A mistyped option on many ranks: mpirun of Open MPI 4.1 hung when 33 ranks all exited with
/// clap's error before MPI started.
#[test]
fn a_mistyped_option_on_many_ranks_ends_the_job_with_one_message() {
    let dir = tempfile::tempdir().unwrap();
    let run = mpirun(dir.path(), 40, &["--tuii"], LIMIT);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(run.stderr.matches("unexpected argument '--tuii'").count(), 1, "{}", run.stderr);
    assert!(run.wall < Duration::from_secs(20), "took {:?}", run.wall);
}

/// Every scenario in `inputs/` (the lessons aside) is what `mpitorrent gen` writes for the arguments in its
/// `gen.args`, and runs to completion.
#[test]
fn shipped_scenarios_are_generated_and_run() {
    let inputs = Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&inputs).unwrap() {
        let shipped = entry.unwrap().path();
        if shipped.ends_with("lessons") {
            continue; // lesson files, tested in tests/lessons.rs
        }
        let args = std::fs::read_to_string(shipped.join("gen.args")).unwrap();
        let fresh = tempfile::tempdir().unwrap();
        let status = std::process::Command::new(common::BINARY)
            .arg("gen")
            .args(args.split_whitespace())
            .arg("--out")
            .arg(fresh.path().join("in"))
            .output()
            .unwrap();
        assert!(status.status.success(), "{}: {}", shipped.display(), String::from_utf8_lossy(&status.stderr));
        let listing = |dir: &Path| {
            let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
            names.sort();
            names
        };
        let generated = listing(&fresh.path().join("in"));
        let mut shipped_inputs = listing(&shipped);
        shipped_inputs.retain(|n| n != "gen.args");
        assert_eq!(generated, shipped_inputs, "{}", shipped.display());
        for name in &generated {
            let read = |dir: &Path| std::fs::read(dir.join(name)).unwrap();
            assert!(read(&fresh.path().join("in")) == read(&shipped), "{}/{:?} differs from gen's", shipped.display(), name);
        }
        let peers = generated.len() as u32;
        let run = mpirun(fresh.path(), peers + 1, &["--inputs", "in", "--out", "out"], LIMIT);
        assert!(run.success(), "{}: {}", shipped.display(), run.stderr);
        check_outputs(&expected_from_inputs(&shipped), &fresh.path().join("out"));
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} scenarios in inputs/");
}

#[test]
fn a_recorded_run_replays_to_the_same_report() {
    let scenario = Scenario::random(&RandomSpec { peers: 8, files: 3, chunks: 30..=90, owners: 1..=2, wanted: 1..=2 }, 31);
    let dir = tempfile::tempdir().unwrap();
    scenario.write(dir.path()).unwrap();
    let args = ["--out", "out", "--record", "run.log", "--report", "live.json"];
    let run = mpirun(dir.path(), scenario.ranks(), &args, LIMIT);
    assert!(run.success(), "{}", run.stderr);

    let replay = std::process::Command::new(common::BINARY)
        .args(["replay", "run.log", "--headless", "--report", "replayed.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    assert_eq!(String::from_utf8_lossy(&replay.stderr), "", "a whole log replays without warnings");
    assert_eq!(String::from_utf8_lossy(&replay.stdout), run.stdout, "the same summary");
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let parse = |json: &str| serde_json::from_str::<Report>(json).unwrap();
    // The log holds the swarm, not how MPI's receivers waited: only the live run reports that.
    let live = parse(&read("live.json"));
    assert!(live.waiting.is_some(), "{live:?}");
    let live = Report { waiting: None, ..live };
    assert_eq!(parse(&read("replayed.json")), live);

    // stats: the same figures from the log alone, as JSON or as text with a row per peer.
    let stats = |json: bool| {
        let mut command = std::process::Command::new(common::BINARY);
        command.args(["stats", "run.log"]).current_dir(dir.path());
        if json {
            command.arg("--json");
        }
        String::from_utf8(command.output().unwrap().stdout).unwrap()
    };
    assert_eq!(parse(&stats(true)), live);
    let text = stats(false);
    assert!(text.starts_with(run.stdout.trim_end()), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.split_whitespace().next().is_some_and(|w| w.parse::<u32>().is_ok())).count(),
        8,
        "{text}"
    );

    // A second run may not overwrite the log, and stops before anything is written.
    let again = mpirun(dir.path(), scenario.ranks(), &["--out", "out2", "--record", "run.log"], LIMIT);
    assert_eq!(again.code, Some(2), "{}", again.stderr);
    assert!(again.stderr.contains("run.log: the log exists already"), "{}", again.stderr);
    assert!(!dir.path().join("out2").exists());

    // A log cut short replays up to its last whole line, and says so.
    let whole = read("run.log");
    // Two thirds in, a byte further when that falls at the start of a line: always mid-line.
    let at = whole.len() * 2 / 3;
    let at = if whole.as_bytes()[at - 1] == b'\n' { at + 1 } else { at };
    std::fs::write(dir.path().join("cut.log"), &whole[..at]).unwrap();
    let cut = std::process::Command::new(common::BINARY)
        .args(["replay", "cut.log", "--headless"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(cut.status.success());
    assert!(
        String::from_utf8_lossy(&cut.stderr).contains("the log ends in the middle of this line"),
        "{}",
        String::from_utf8_lossy(&cut.stderr)
    );

    // Anything else is refused with a clear error.
    let other = std::process::Command::new(common::BINARY)
        .args(["replay", "live.json", "--headless"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("live.json:1: not an mpitorrent log"));
}

#[test]
fn without_a_terminal_the_dashboard_falls_back_to_headless_with_one_warning() {
    let scenario = Scenario::random(&RandomSpec { peers: 3, files: 2, chunks: 10..=20, owners: 1..=1, wanted: 1..=1 }, 41);
    let dir = tempfile::tempdir().unwrap();
    scenario.write(dir.path()).unwrap();
    // setsid: a new session with no controlling terminal, as under a batch scheduler or CI.
    let mpi = Mpi::linked();
    let output = std::process::Command::new("setsid")
        .args(["-w", "timeout", "60"])
        .args(mpi.words(scenario.ranks()))
        .args([common::BINARY, "--tui", "--out", "out"])
        .current_dir(dir.path())
        .envs(mpi.environment().iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("mpitorrent: warning: --tui needs a terminal"), "{stderr}");
    check_outputs(&scenario.expected_outputs(), &dir.path().join("out"));
}

#[test]
fn bench_prints_every_run_with_its_figures_and_the_raw_and_threaded_round_trip_rates() {
    let args = [
        "bench",
        "--peers",
        "3,4",
        "--chunks",
        "12",
        "--orders",
        "sequential,rarest",
        "--peer-choices",
        "first-free",
        "--swarm-peers",
        "4",
    ];
    let bench =
        std::process::Command::new(common::BINARY).args(args).args(["--chunk-time", "5", "--timeout", "60"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&bench.stdout);
    assert!(bench.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&bench.stderr));
    assert!(stdout.starts_with("Machine: "), "{stdout}");
    let cells = |line: &str| line.trim_matches('|').split('|').map(str::trim).map(String::from).collect::<Vec<_>>();
    let runs: Vec<Vec<String>> =
        stdout.lines().filter(|l| l.starts_with("| flash crowd") || l.starts_with("| random")).map(cells).collect();
    assert_eq!(runs.len(), 6, "two crowds and a swarm, two orders each:\n{stdout}");
    for run in &runs {
        assert_eq!(run[2], "first-free", "{run:?}");
        // bound, makespan, ratio, fairness: a run never beats the bound.
        let ratio: f64 = run[7].parse().unwrap_or_else(|_| panic!("{run:?}"));
        assert!(ratio >= 1.0, "{run:?}");
        let fairness: f64 = run[8].parse().unwrap();
        assert!(fairness > 0.0 && fairness <= 1.0, "{run:?}");
    }
    let rates: Vec<Vec<String>> =
        stdout.lines().filter(|l| l.starts_with("| 4 |") || l.starts_with("| 5 |")).map(cells).collect();
    assert_eq!(rates.len(), 2, "{stdout}");
    for rate in rates {
        let figure = |at: usize| -> f64 { rate[at].parse().unwrap_or_else(|_| panic!("{rate:?}")) };
        let (raw, threads, ours) = (figure(1), figure(2), figure(3));
        assert!(raw > 0.0 && threads > 0.0 && ours > 0.0, "{rate:?}");
        assert!((figure(4) - ours / raw).abs() < 0.01 && (figure(5) - ours / threads).abs() < 0.01, "{rate:?}");
    }
}

#[test]
fn gen_writes_capacities_that_a_run_takes_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let gen = std::process::Command::new(common::BINARY)
        .args([
            "gen",
            "flash-crowd",
            "--out",
            "s",
            "--peers",
            "6",
            "--chunks",
            "30",
            "--upload-slots",
            "1..3",
            "--download-limit",
            "2..4",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&gen.stdout);
    assert!(gen.status.success() && said.contains("--capacities s/capacities.txt"), "{said}");
    let args = ["--inputs", "s", "--out", "out", "--capacities", "s/capacities.txt", "--chunk-time", "5", "--report", "r.json"];
    let run = mpirun(dir.path(), 7, &args, LIMIT);
    assert!(run.success(), "{}", run.stderr);
    check_outputs(&expected_from_inputs(&dir.path().join("s")), &dir.path().join("out"));
    let report: Report = serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    let text = std::fs::read_to_string(dir.path().join("s/capacities.txt")).unwrap();
    let written = mpitorrent::scenario::capacity::parse_capacities(&text, "capacities.txt", 6, 1).unwrap();
    assert_eq!(report.capacities, written);
    assert!(written.iter().all(|c| (1..=3).contains(&c.upload_slots) && c.download_limit.is_some_and(|d| (2..=4).contains(&d))));
    assert!(report.efficiency.makespan_ratio.is_some_and(|r| r >= 1.0));

    std::fs::write(dir.path().join("bad.txt"), "1 2\n2 two\n").unwrap();
    let refused = mpirun(dir.path(), 7, &["--inputs", "s", "--out", "out2", "--capacities", "bad.txt"], LIMIT);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.starts_with("mpitorrent: error: bad.txt:2: upload slots 'two' is not a whole number"),
        "{}",
        refused.stderr
    );
    assert!(!dir.path().join("out2").exists());
}

#[test]
fn verify_judges_every_output_and_names_the_first_wrong_line() {
    let scenario = Scenario::random(&RandomSpec { peers: 4, files: 3, chunks: 5..=30, owners: 1..=1, wanted: 1..=2 }, 3);
    let dir = tempfile::tempdir().unwrap();
    scenario.write(&dir.path().join("in")).unwrap();
    let args = ["--inputs", "in", "--out", "out", "--record", "run.log", "--end-game"];
    assert!(mpirun(dir.path(), scenario.ranks(), &args, LIMIT).success());
    let verify_with = |more: &[&str]| {
        let run = std::process::Command::new(common::BINARY)
            .args(["verify", "--inputs", "in", "--out", "out"])
            .args(more)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (run.status.code(), String::from_utf8_lossy(&run.stdout).into_owned())
    };
    let verify = || verify_with(&[]);
    let (code, table) = verify();
    assert_eq!(code, Some(0), "{table}");
    let outputs = scenario.expected_outputs();
    assert_eq!(table.lines().filter(|l| l.contains(" ok, ")).count(), outputs.len(), "{table}");

    // With the log: every rule kept, and a row per download with its sources.
    let (code, table) = verify_with(&["--log", "run.log"]);
    assert_eq!(code, Some(0), "{table}");
    assert_eq!(table.lines().filter(|l| l.ends_with("  ok")).count(), 10, "{table}");
    assert_eq!(table.lines().filter(|l| l.contains("% from peer ")).count(), outputs.len(), "{table}");
    // A log in which a peer serves itself breaks a rule, named with its line.
    let log = std::fs::read_to_string(dir.path().join("run.log")).unwrap();
    let served = log.lines().position(|l| l.contains("ChunkServed")).unwrap();
    let mut lines: Vec<String> = log.lines().map(String::from).collect();
    let uploader = lines[served].split("\"uploader\":").nth(1).unwrap().split(',').next().unwrap().to_string();
    lines[served] = lines[served].replacen("\"downloader\":", &format!("\"downloader\":{uploader},\"x\":"), 1);
    std::fs::write(dir.path().join("bad.log"), lines.join("\n") + "\n").unwrap();
    let (code, table) = verify_with(&["--log", "bad.log"]);
    assert_eq!(code, Some(1), "{table}");
    let broken = format!("BROKEN at line {}: the upload of chunk", served + 1);
    assert!(table.lines().any(|l| l.starts_with("no peer asks itself") && l.contains(&broken)), "{table}");

    // The same log exported for Perfetto and for ShiViz.
    for (format, file) in [("chrome", "trace.json"), ("shiviz", "run.shiviz")] {
        let export = std::process::Command::new(common::BINARY)
            .args(["export", "run.log", "--format", format, "-o", file])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(export.success(), "{format}");
    }
    let trace: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("trace.json")).unwrap()).unwrap();
    assert!(trace["traceEvents"].as_array().unwrap().iter().any(|e| e["ph"] == "f"));
    let shiviz = std::fs::read_to_string(dir.path().join("run.shiviz")).unwrap();
    assert!(shiviz.starts_with("(?<event>.*)\\n(?<host>\\S*) (?<clock>{.*})\n\nstart (at "), "{shiviz}");

    let (name, hashes) = &outputs[0];
    let damaged = dir.path().join("out").join(name);
    let mut lines: Vec<String> = hashes.iter().map(|h| h.to_string()).collect();
    lines[1] = "0123".into();
    std::fs::write(&damaged, lines.join("\n")).unwrap();
    let (code, table) = verify();
    assert_eq!(code, Some(1), "{table}");
    assert!(table.contains(&format!("line 2: expected {}, found '0123'", hashes[1])), "{table}");
    assert!(table.ends_with(&format!("1 of {} outputs are wrong or missing\n", outputs.len())), "{table}");
}

#[test]
fn leaves_and_lies_under_mpirun_end_with_an_exit_code_that_says_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::flash_crowd(4, 200, 1);
    scenario.write(&dir.path().join("s")).unwrap();
    // A lying downloader (from a faults file) and one that leaves: the others still get everything.
    std::fs::write(dir.path().join("faults.txt"), "# a liar\ncorrupt 3:0.5\n").unwrap();
    let args =
        ["--inputs", "s", "--out", "a", "--chunk-time", "1", "--leave", "2@30", "--faults", "faults.txt", "--record", "a.log"];
    let run = mpirun(dir.path(), 5, &args, LIMIT);
    assert!(run.success(), "{}", run.stderr);
    let log = std::fs::read_to_string(dir.path().join("a.log")).unwrap();
    assert!(log
        .lines()
        .next()
        .unwrap()
        .contains(r#""faults":{"leaves":[{"peer":2,"at_ms":30}],"corrupt":[{"peer":3,"probability":0.5}],"freeride":[]}"#));
    assert!(log.contains(r#"{"PeerLeft":{"peer":2}}"#));
    let stayed: Vec<_> = scenario.expected_outputs().into_iter().filter(|(n, _)| n != "client2_file1").collect();
    check_outputs(&stayed, &dir.path().join("a"));

    // The only seed leaves: the others give up, every rank ends, and the exit code is 3.
    let run = mpirun(dir.path(), 5, &["--inputs", "s", "--out", "b", "--chunk-time", "1", "--leave", "1@20"], LIMIT);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(run.stderr.contains("mpitorrent: peer 3 gives up on 'file1'"), "{}", run.stderr);
    assert!(run.stdout.contains("1 peers left, 3 files given up (incomplete)"), "{}", run.stdout);

    let refused = mpirun(dir.path(), 5, &["--inputs", "s", "--out", "c", "--leave", "5@10"], LIMIT);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("--leave names rank 5, but the peers of this run are ranks 1 to 4"), "{}", refused.stderr);
    std::fs::write(dir.path().join("bad.txt"), "leave 1@20\ncorrupt 2\n").unwrap();
    let refused = mpirun(dir.path(), 5, &["--inputs", "s", "--out", "c", "--faults", "bad.txt"], LIMIT);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("bad.txt:2: '2' is not RANK:PROBABILITY, as in 3:0.2"), "{}", refused.stderr);
    assert!(!dir.path().join("c").join("client2_file1").exists());
}

#[test]
fn free_riders_under_tit_for_tat_get_everything_and_serve_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::flash_crowd(12, 60, 1);
    scenario.write(&dir.path().join("s")).unwrap();
    std::fs::write(dir.path().join("faults.txt"), "freeride 11\nfreeride 12 # takes, never gives\n").unwrap();
    let args = "--inputs s --out a --chunk-time 5 --piece-order rarest --peer-choice tit-for-tat --unchoke 2 \
                --faults faults.txt --record a.log --report a.json";
    let args: Vec<&str> = args.split_whitespace().collect();
    let run = mpirun(dir.path(), 13, &args, LIMIT);
    assert!(run.success(), "{}", run.stderr);
    check_outputs(&scenario.expected_outputs(), &dir.path().join("a"));
    let report: Report = serde_json::from_str(&std::fs::read_to_string(dir.path().join("a.json")).unwrap()).unwrap();
    assert_eq!(report.options.strategy.unchoke, 2);
    for peer in &report.peers {
        assert_eq!(peer.free_rider, peer.rank >= 11, "{peer:?}");
        if peer.free_rider {
            assert_eq!((peer.uploads_served, peer.unchokes), (0, 0), "a free rider serves nobody: {peer:?}");
        }
    }
    assert!(report.peers.iter().map(|p| p.unchokes).sum::<u64>() > 0 && report.peers.iter().all(|p| p.done_s.is_some()));
    let text = report.text();
    assert!(text.contains(" requests refused · free riders done after ") && text.contains("  free rider\n"), "{text}");
    // verify reads the choke events and finds every rule kept.
    let verified = std::process::Command::new(common::BINARY)
        .args(["verify", "--inputs", "s", "--out", "a", "--log", "a.log"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));

    // A file only free riders own could never arrive: refused before anything runs.
    let refused = mpirun(dir.path(), 13, &["--inputs", "s", "--out", "b", "--freeride", "1"], LIMIT);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("--freeride: 'file1' is owned only by free riders (peer 1)"), "{}", refused.stderr);
    assert!(!dir.path().join("b").exists());
}

/// CI's slice of `mpitorrent stress`: six random runs, with leaves and liars among them.
#[test]
fn a_slice_of_the_stress_runs_has_no_hang_and_no_wrong_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(common::BINARY)
        .args(["stress", "--runs", "6", "--seed", "1", "--max-ranks", "17", "--limit", "60"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{printed}{}", String::from_utf8_lossy(&run.stderr));
    assert!(printed.contains("6 runs: 0 hangs, 0 wrong outcomes"), "{printed}");
    assert_eq!(printed.lines().filter(|l| l.contains(": ok in ")).count(), 6, "{printed}");
    assert!(printed.contains(", leave ") && printed.contains(", corrupt "), "the slice has faults: {printed}");
}

/// What a model shows that no state of the run could be: a file complete, or a peer done, with
/// chunks of its files missing (a file given up aside).
fn shows_missing(model: &SwarmModel) -> Option<String> {
    for (index, peer) in model.peers.iter().enumerate() {
        for (slot, file) in model.header.wanted[index].iter().enumerate() {
            let (got, chunks) = (peer.got[slot], model.header.files[file.index()].chunks);
            let what =
                format!("peer {} with {got} of the {chunks} chunks of {}", index + 1, model.header.files[file.index()].name);
            if got < chunks && peer.completed.contains(file) {
                return Some(format!("a completed file: {what}"));
            }
            if got < chunks && peer.done && !peer.abandoned.contains(file) {
                return Some(format!("done: {what}"));
            }
        }
    }
    None
}

#[test]
fn every_prefix_of_a_recorded_log_is_a_state_of_the_run() {
    let scenario = Scenario::random(&RandomSpec { peers: 10, files: 3, chunks: 20..=60, owners: 1..=2, wanted: 1..=2 }, 47);
    let runs: [&[&str]; 2] = [
        &["--chunk-time", "2", "--upload-slots", "2", "--end-game", "--corrupt", "1:0.2"],
        &["--chunk-time", "2", "--peer-choice", "tit-for-tat", "--piece-order", "rarest"],
    ];
    for options in runs {
        let dir = tempfile::tempdir().unwrap();
        scenario.write(dir.path()).unwrap();
        let args = [&["--out", "out", "--record", "run.log"][..], options].concat();
        let run = mpirun(dir.path(), scenario.ranks(), &args, LIMIT);
        assert!(run.success(), "{options:?}: {}", run.stderr);
        let path = dir.path().join("run.log");
        let log = Log::read(&path).unwrap();
        let in_order = |log: &Log| audit(log).breach(Rule::InOrder).map(|b| b.to_string());
        assert_eq!(in_order(&log), None, "{options:?}");
        let mut model = SwarmModel::new(log.header.clone());
        for (index, event) in log.events.iter().enumerate() {
            model.apply(event);
            if let Some(problem) = shows_missing(&model) {
                panic!("{options:?}: the log up to line {} shows {problem}", index + 2);
            }
        }
        // Cut in the middle of a line, as a run stopped while writing leaves it, and read back.
        let bytes = std::fs::read(&path).unwrap();
        let cut = dir.path().join("cut.log");
        for part in 1..=30 {
            std::fs::write(&cut, &bytes[..bytes.len() * part / 31]).unwrap();
            let log = Log::read(&cut).unwrap();
            assert!(log.end.is_none(), "{options:?}: cut at {part}/31 is seen");
            assert_eq!(in_order(&log), None, "{options:?}: cut at {part}/31");
            if let Some(problem) = shows_missing(&log.model()) {
                panic!("{options:?}: the log cut at {part}/31 shows {problem}");
            }
        }
    }
}

/// `MPITORRENT_LAUNCHER` names the launcher that every tool runs the program with; one that is
/// not installed is named in the error.
#[test]
fn the_launcher_can_be_named_and_one_missing_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("launcher");
    let used = dir.path().join("used.txt");
    let script = format!("#!/bin/sh\necho \"$@\" >> '{}'\nexec {} \"$@\"\n", used.display(), Mpi::linked().launcher());
    std::fs::write(&wrapper, script).unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let stress = |launcher: &Path| {
        std::process::Command::new(common::BINARY)
            .args(["stress", "--runs", "1", "--seed", "3", "--max-ranks", "5", "--limit", "60"])
            .current_dir(dir.path())
            .env(LAUNCHER_VARIABLE, launcher)
            .envs(Mpi::linked().environment().iter().copied())
            .output()
            .unwrap()
    };
    let ran = stress(&wrapper);
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stdout));
    let used = std::fs::read_to_string(used).expect("the named launcher ran");
    assert!(used.contains(common::BINARY), "{used}");
    let missing = stress(&dir.path().join("no-such-launcher"));
    let said = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{said}");
    assert!(said.contains(&format!("{}: not found", dir.path().join("no-such-launcher").display())), "{said}");
}
