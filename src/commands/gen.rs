//! `gen`: a new scenario written to a folder, with the command that runs it.

use crate::cli::{GenArgs, GenCommon, Shape};
use crate::commands::{Error, Outcome};
use crate::scenario::capacity::capacities_text;
use crate::scenario::generate::{random_capacities, RandomSpec, Scenario, CAPACITY_FILE};
use crate::scenario::input::Invalid;
use crate::scenario::output::WriteError;
use crate::tools::launch::Mpi;
use std::ops::RangeInclusive;
use std::path::PathBuf;

pub fn generate(args: &GenArgs) -> Result<Outcome, Error> {
    let written = write(&args.shape)?;
    let out = written.folder.display();
    let mut run = format!("{} mpitorrent --inputs {out}", Mpi::linked().command_line(written.ranks));
    if let Some(file) = &written.capacities {
        run += &format!(" --capacities {}", file.display());
    }
    println!("wrote in1.txt to in{}.txt in {out}; run them with {run}", written.ranks - 1);
    Ok(Outcome::Done)
}

/// A scenario written to a folder.
pub struct Written {
    pub folder: PathBuf,
    /// The ranks a run of it needs, the tracker's included.
    pub ranks: u32,
    /// The capacity file written beside it, if one was asked for.
    pub capacities: Option<PathBuf>,
}

/// Writes the scenario of `shape` to its `--out` folder, which must be new or empty.
pub fn write(shape: &Shape) -> Result<Written, Error> {
    let refuse = |problem: String| Err(Error::Invalid(Invalid(problem)));
    let (common, scenario) = match shape {
        Shape::FlashCrowd { common, peers, chunks } => {
            if *peers < 2 {
                return refuse("a flash crowd needs a seed and at least one other peer".into());
            }
            if *chunks < 1 {
                return refuse("a file needs at least one chunk".into());
            }
            (common, Scenario::flash_crowd(*peers, *chunks, common.seed))
        }
        Shape::Classic { common } => (common, Scenario::classic(common.seed)),
        Shape::Random(args) => {
            let problem = if args.peers < 1 || args.files < 1 {
                Some("a scenario needs at least one peer and one file".to_string())
            } else if *args.chunks.start() < 1 {
                Some("a file needs at least one chunk".into())
            } else if *args.owners.start() < 1 {
                Some("a file needs at least one owner".into())
            } else if *args.owners.start() > args.peers {
                Some(format!("--owners {} is more than --peers {}", args.owners.start(), args.peers))
            } else {
                None
            };
            if let Some(problem) = problem {
                return refuse(problem);
            }
            let spec = RandomSpec {
                peers: args.peers,
                files: args.files,
                chunks: args.chunks.clone(),
                owners: args.owners.clone(),
                wanted: args.wanted.clone(),
            };
            (&args.common, Scenario::random(&spec, args.common.seed))
        }
    };
    let out = &common.out;
    if std::fs::read_dir(out).map(|d| d.count()).unwrap_or(0) > 0 {
        return refuse(format!("{}: folder is not empty; choose a new one", out.display()));
    }
    let nonzero = |r: &Option<RangeInclusive<usize>>| r.as_ref().is_none_or(|r| *r.start() >= 1);
    if !(nonzero(&common.upload_slots) && nonzero(&common.download_limit)) {
        return refuse("capacities are at least 1".into());
    }
    scenario.write(out).map_err(|source| WriteError { path: out.clone(), source })?;
    let capacities = write_capacities(common, scenario.peers.len())?;
    Ok(Written { folder: out.clone(), ranks: scenario.ranks(), capacities })
}

/// Writes the capacity file that `--upload-slots` and `--download-limit` ask for, if they do
/// (each at least 1, as checked before anything is written); its path.
fn write_capacities(common: &GenCommon, peers: usize) -> Result<Option<PathBuf>, Error> {
    if common.upload_slots.is_none() && common.download_limit.is_none() {
        return Ok(None);
    }
    let to_u32 = |r: &RangeInclusive<usize>| *r.start() as u32..=*r.end() as u32;
    let upload = common.upload_slots.as_ref().map_or(1..=1, to_u32);
    let download = common.download_limit.as_ref().map(to_u32);
    let capacities = random_capacities(peers, upload, download, common.seed);
    let path = common.out.join(CAPACITY_FILE);
    std::fs::write(&path, capacities_text(&capacities)).map_err(|source| WriteError { path: path.clone(), source })?;
    Ok(Some(path))
}
