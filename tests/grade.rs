//! `mpitorrent grade` on programs built here from `tests/programs/classic.c` with the `mpicc` of
//! the MPI library the tests are built against: a correct one, one that writes a wrong hash, one
//! that hangs with more than 10 files, one that crashes, one that is correct but whose ranks spin
//! while they wait; and on mpitorrent itself. Each is scored as it should be.

mod common;

use mpitorrent::tools::launch::Mpi;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// One grade at a time: each runs many small swarms, timed against the reference's.
static GRADES: Mutex<()> = Mutex::new(());

/// The test program built with `define` (`""` for the correct one), once per test process.
fn program(define: &str) -> PathBuf {
    static BUILT: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = BUILT.get_or_init(|| tempfile::tempdir().unwrap());
    let name = if define.is_empty() { "correct".to_string() } else { define.to_lowercase() };
    let path = dir.path().join(&name);
    if !path.exists() {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/classic.c");
        let mut mpicc = Command::new(Mpi::linked().compiler());
        mpicc.arg("-O2").arg("-o").arg(&path).arg(source);
        if !define.is_empty() {
            mpicc.arg(format!("-D{define}"));
        }
        let built = mpicc.output().expect("mpicc is installed (see .ci/setup)");
        assert!(built.status.success(), "mpicc: {}", String::from_utf8_lossy(&built.stderr));
    }
    path
}

fn official() -> PathBuf {
    std::env::var_os("MPITORRENT_OFFICIAL_TESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference-tests/official"))
}

struct Graded {
    code: Option<i32>,
    table: String,
    json: Value,
    keep: tempfile::TempDir,
}

fn grade(program: &Path, limit: &str, args: &[&str]) -> Graded {
    let _one_at_a_time = GRADES.lock().unwrap_or_else(|e| e.into_inner());
    let keep = tempfile::tempdir().unwrap();
    let json = keep.path().join("grade.json");
    let out = Command::new(common::BINARY)
        .arg("grade")
        .arg(program)
        .args(["--runs", "1", "--limit", limit, "--keep"])
        .arg(keep.path().join("failures"))
        .arg("--json")
        .arg(&json)
        .args(args)
        .envs(Mpi::linked().environment().iter().copied())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{e}: {table}"))).unwrap();
    Graded { code: out.status.code(), table, json, keep }
}

/// The row of `scenario` in the JSON grade.
fn row<'a>(graded: &'a Graded, scenario: &str) -> &'a Value {
    let rows = graded.json["scenarios"].as_array().unwrap();
    rows.iter().find(|r| r["name"] == scenario).unwrap_or_else(|| panic!("{scenario}: {}", graded.table))
}

const HOLDOUTS: [&str; 6] = ["many-files", "long-names", "big-file", "many-peers", "wants-nothing", "one-owner"];

#[test]
fn a_correct_program_and_mpitorrent_get_full_marks() {
    let dir = official();
    for program in [program(""), PathBuf::from(common::BINARY)] {
        let graded = grade(&program, "20", &["--official", dir.to_str().unwrap()]);
        assert_eq!(graded.json["official"], serde_json::json!([40, 40]), "{}", graded.table);
        assert!(graded.table.contains("official tests: 40/40\n"), "{}", graded.table);
        for scenario in HOLDOUTS.iter().chain(&["test1", "test2", "test3", "test4"]) {
            let row = row(&graded, scenario);
            assert_eq!(
                (row["failed"].as_u64(), row["exit_codes"][0].as_i64()),
                (Some(0), Some(0)),
                "{scenario}: {}",
                graded.table
            );
            assert!(row["reference_wall_s"].as_f64().is_some_and(|r| r > 0.0), "mpitorrent's time on it: {row}");
            assert!(row["cores"].as_f64().is_some_and(|c| c > 0.0), "{row}");
        }
        assert!(!graded.keep.path().join("failures").exists(), "nothing kept when every run passed");
        let reference = graded.json["reference_waiting_cores"].as_f64().expect("mpitorrent's waiting ranks measured");
        assert!(reference < 0.5, "mpitorrent's waiting ranks block: {reference}");
        let rows = graded.json["scenarios"].as_array().unwrap();
        let spinning: Vec<&str> = rows.iter().filter(|r| r["spins"] == true).map(|r| r["name"].as_str().unwrap()).collect();
        // The C program's peers wait for the last of 33 ranks to start in MPI_Barrier, which
        // both libraries busy-poll: it does spin, measurably so when the ranks start far enough
        // apart (always under MPICH, on a slow start under Open MPI).
        let may_spin: &[&str] = if program == Path::new(common::BINARY) { &[] } else { &["many-peers"] };
        assert!(spinning.iter().all(|s| may_spin.contains(s)), "{}", graded.table);
        let all_passed = graded.table.contains("all 10 scenarios passed");
        assert_eq!((graded.code, all_passed), (Some(i32::from(!spinning.is_empty())), spinning.is_empty()), "{}", graded.table);
    }
}

#[test]
fn a_program_that_writes_a_wrong_hash_fails_where_it_does_and_the_run_is_kept() {
    let graded = grade(&program("WRONG"), "20", &["--official", official().to_str().unwrap()]);
    assert_eq!(graded.code, Some(1), "{}", graded.table);
    assert_eq!(graded.json["official"], serde_json::json!([10, 40]), "peer 1 wants nothing in test4 only:\n{}", graded.table);
    assert!(row(&graded, "test1")["problem"].as_str().unwrap().starts_with("client1_file3 differs from out3.txt"));
    let many = row(&graded, "many-files");
    assert!(many["problem"].as_str().unwrap().contains(": line 1: expected "), "{many}");
    let kept = PathBuf::from(many["kept"].as_str().unwrap());
    let command = std::fs::read_to_string(kept.join("command.sh")).unwrap();
    let launch = format!("{} {}\n", Mpi::linked().command_line(7), program("WRONG").display());
    assert!(command.starts_with("#!/bin/sh") && command.ends_with(&launch), "{command}");
    assert!(kept.join("in1.txt").is_file() && kept.join("stderr.txt").is_file());
    let output = many["problem"].as_str().unwrap().split(':').next().unwrap();
    assert!(kept.join(output).is_file(), "the wrong output is kept as written: {output}");
    // command.sh runs the failing run again, in a fresh copy of its inputs.
    let again = Command::new(kept.join("command.sh")).output().unwrap();
    assert!(again.status.success(), "{again:?}");
    assert_eq!(std::fs::read(kept.join("rerun").join(output)).unwrap(), std::fs::read(kept.join(output)).unwrap());
    assert!(graded.table.contains("many-files: kept in "), "{}", graded.table);
    assert_eq!(row(&graded, "big-file")["failed"], 0, "peer 1 owns the big file and writes nothing wrong");
}

#[test]
fn a_program_that_hangs_with_more_than_ten_files_is_stopped_and_counted_as_a_hang() {
    let graded = grade(&program("HANG"), "4", &[]);
    assert_eq!(graded.code, Some(1), "{}", graded.table);
    let many = row(&graded, "many-files");
    assert_eq!((many["hangs"].as_u64(), many["failed"].as_u64()), (Some(1), Some(1)), "{}", graded.table);
    assert!(many["problem"].as_str().unwrap().contains("did not end within 4 s"), "{many}");
    let others: Vec<&str> = HOLDOUTS.into_iter().filter(|s| *s != "many-files" && row(&graded, s)["failed"] != 0).collect();
    assert!(others.is_empty(), "only the shape of many files hangs: {others:?}\n{}", graded.table);
}

#[test]
fn a_correct_program_whose_ranks_spin_while_they_wait_is_caught() {
    let graded = grade(&program("SPIN"), "20", &[]);
    assert_eq!(graded.code, Some(1), "{}", graded.table);
    for scenario in HOLDOUTS {
        let row = row(&graded, scenario);
        assert_eq!((row["failed"].as_u64(), row["spins"].as_bool()), (Some(0), Some(true)), "{scenario}: {}", graded.table);
        assert!(row["waiting_cores"].as_f64().is_some_and(|c| c > 0.5), "{row}");
    }
    assert!(graded.table.contains("SPINS: its ranks keep "), "{}", graded.table);
}

#[test]
fn a_program_that_crashes_fails_everywhere_with_its_exit_code() {
    let graded = grade(&program("CRASH"), "20", &[]);
    assert_eq!(graded.code, Some(1), "{}", graded.table);
    for scenario in HOLDOUTS {
        let row = row(&graded, scenario);
        assert_eq!(row["failed"], 1, "{scenario}");
        assert!(row["exit_codes"][0].as_i64().is_some_and(|c| c != 0), "{scenario}: {row}");
        assert!(row["problem"].as_str().unwrap().starts_with("exit code"), "{row}");
    }
    assert!(graded.table.contains("6 of 6 scenarios failed"), "{}", graded.table);
}

#[test]
fn a_missing_program_or_official_folder_is_refused() {
    let out = Command::new(common::BINARY).args(["grade", "/nonexistent/a.out"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/a.out: no such program, or not executable"));
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(common::BINARY).arg("grade").arg(common::BINARY).arg("--official").arg(empty.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no test1, test2, ... folders"), "{out:?}");
}
