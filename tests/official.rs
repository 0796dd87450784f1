//! The four public grading tests, run exactly as `cases.json` says graders run them: a fresh
//! folder holding the test's in<R>.txt, `mpirun --oversubscribe -np NP <binary>` (MPICH's
//! `mpiexec -n NP` for a build against MPICH) with no arguments and a 20 s limit, then `diff -q -w`
//! of each listed output against the expected file.

mod common;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn official_dir() -> PathBuf {
    std::env::var_os("MPITORRENT_OFFICIAL_TESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference-tests/official"))
}

#[test]
fn the_public_grading_tests_pass_as_graders_run_them() {
    let dir = official_dir();
    let cases = std::fs::read_to_string(dir.join("cases.json")).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; the grading tests live in ../shared beside the checkout, or set MPITORRENT_OFFICIAL_TESTS",
            dir.display()
        )
    });
    let cases: Value = serde_json::from_str(&cases).expect("cases.json is JSON");
    let tests = cases["tests"].as_object().expect("a 'tests' object");
    assert_eq!(tests.len(), 4);
    for (name, case) in tests {
        let source = dir.join(name);
        let work = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(&source).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_str().unwrap();
            if file.starts_with("in") && file.ends_with(".txt") {
                std::fs::copy(&path, work.path().join(file)).unwrap();
            }
        }
        let np = case["np"].as_u64().expect("np") as u32;
        let run = common::mpirun(work.path(), np, &[], Duration::from_secs(20));
        assert!(run.success(), "{name}: exit {:?}\n{}", run.code, run.stderr);
        assert_eq!(run.stdout.lines().count(), 1, "{name}: one summary line on success: {}", run.stdout);
        assert_eq!(run.stderr, "", "{name}: nothing on stderr on success");
        for (produced, expected) in case["compare"].as_object().expect("compare") {
            let diff = Command::new("diff")
                .args(["-q", "-w"])
                .arg(work.path().join(produced))
                .arg(source.join(expected.as_str().unwrap()))
                .output()
                .unwrap();
            assert!(
                diff.status.success(),
                "{name}: {produced} differs from {expected}: {}",
                String::from_utf8_lossy(&diff.stdout)
            );
        }
        eprintln!("{name}: passed in {:.2} s", run.wall.as_secs_f64());
    }
}
