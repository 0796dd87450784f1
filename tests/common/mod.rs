//! Running the real binary under the MPI launcher of the library the tests are built against
//! (`Mpi::linked`), for the integration tests.
#![allow(dead_code)] // each test file uses a different part

pub mod models;

use mpitorrent::protocol::hash::ChunkHash;
use mpitorrent::scenario::generate::RandomSpec;
use std::path::Path;
use std::time::Duration;

pub const BINARY: &str = env!("CARGO_BIN_EXE_mpitorrent");

pub use mpitorrent::tools::launch::Launched as Run;

/// `<launcher> <options for np ranks> <binary> <args>` in `dir`, killed after `limit`.
pub fn mpirun(dir: &Path, np: u32, args: &[&str], limit: Duration) -> Run {
    launch(dir, np, Path::new(BINARY), args, limit)
}

/// `<launcher> <options for np ranks> <program> <args>` in `dir`, killed after `limit`.
pub fn launch(dir: &Path, np: u32, program: &Path, args: &[&str], limit: Duration) -> Run {
    mpitorrent::tools::launch::launch(dir, np, program, args, limit).unwrap_or_else(|e| panic!("{e}"))
}

/// Every output a correct run of the `in<R>.txt` files in `dir` writes, worked out from the
/// inputs alone.
pub fn expected_from_inputs(dir: &Path) -> Vec<(String, Vec<ChunkHash>)> {
    let expected = mpitorrent::analysis::verify::expected_outputs(dir).unwrap_or_else(|e| panic!("{e}"));
    expected.into_iter().map(|e| (e.name(), e.hashes)).collect()
}

/// Checks every output hash by hash, and that `out` holds nothing else (no temporary file).
pub fn check_outputs<H: AsRef<[ChunkHash]>>(expected: &[(String, H)], out: &Path) {
    if let Err(problem) = mpitorrent::analysis::verify::check_expected(expected, out) {
        panic!("{problem}");
    }
}

/// A random scenario shape: up to `peers` peers and `files` files of up to `chunks` chunks, one
/// to three owners each, and peers wanting from `least_wanted` files to all of them.
pub fn random_spec(rng: &mut impl rand::Rng, peers: usize, files: usize, chunks: usize, least_wanted: usize) -> RandomSpec {
    let files = rng.gen_range(1..=files);
    RandomSpec {
        peers: rng.gen_range(1..=peers),
        files,
        chunks: 1..=rng.gen_range(1..=chunks),
        owners: 1..=rng.gen_range(1..=3),
        wanted: least_wanted.min(files)..=files,
    }
}
