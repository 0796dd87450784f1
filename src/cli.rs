//! The command line: every subcommand's arguments, as clap reads them.

use crate::protocol::strategy::{PeerChoice, PieceOrder};
use crate::scenario::input::Invalid;
use crate::scenario::lesson::parse_time;
use crate::scenario::settings::Settings;
use clap::{Args, Parser, Subcommand};
use std::ops::RangeInclusive;
use std::path::PathBuf;

/// The BitTorrent protocol simulated on MPI: rank 0 is the tracker, every other rank a peer.
///
/// Run it under mpirun: `mpirun -np N mpitorrent`. Peer R reads in<R>.txt and writes
/// client<R>_<file> for every file it wants.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// A run under mpirun: its settings, and what rank 0 does with it.
#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub settings: Settings,
    /// Write a JSON summary of the run here
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Record the run's events to this file (JSON lines), for `mpitorrent replay`
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Overwrite the --record file if it exists
    #[arg(long, requires = "record")]
    pub force: bool,
    /// Show the swarm live in a dashboard on rank 0's terminal (headless if there is none)
    #[arg(long)]
    pub tui: bool,
}

#[derive(Subcommand)]
pub enum Command {
    /// Write a random scenario (in1.txt ... in<N>.txt) into a folder
    Gen(GenArgs),
    /// Replay a log written with --record in the dashboard, or print its summary; or compare two
    Replay(ReplayArgs),
    /// Run the canonical scenarios under mpirun and print how close each comes to the lower
    /// bound, its fairness, overhead and speed, and the raw MPI request and reply rate
    Bench(BenchArgs),
    /// Check a run's outputs against its inputs: every wanted file of every peer, hash by hash
    Verify(VerifyArgs),
    /// The report's figures, computed from a log alone
    Stats(StatsArgs),
    /// Write a recorded run as a trace for Perfetto or chrome://tracing, a log for ShiViz, an
    /// asciinema cast of its replay, or one frame of the dashboard as SVG
    Export(ExportArgs),
    /// Run many random scenarios under mpirun, with random strategies, chunk times, capacities,
    /// leaves and corruption, and check that none hangs and every output is right
    Stress(StressArgs),
    /// Run a lesson's scenario under mpirun and play it in the dashboard, stopping at each of
    /// its captions
    Lesson(LessonArgs),
    /// Grade any program of the classic assignment under mpirun: the official tests out of 40,
    /// and hold-out shapes beyond the classic limits, each checked hash by hash, several times
    Grade(GradeArgs),
}

#[derive(Args)]
pub struct GradeArgs {
    /// The program: reads in<R>.txt from its working folder, writes client<R>_<file> there
    pub program: PathBuf,
    /// A folder laid out like the checker's tests/ (test1 ... with in*.txt and out*.txt; a
    /// cases.json beside them, if any, says each test's -np and comparisons)
    #[arg(long, value_name = "DIR")]
    pub official: Option<PathBuf>,
    /// Runs of each hold-out shape, to catch failures that show in some runs only
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Seed of the hold-out shapes
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds after which a hold-out run is stopped and counted as a hang
    #[arg(long, default_value_t = 20, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    /// Write the grade as JSON here too
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Folder where failing runs are kept, each with the command that reproduces it
    #[arg(long, default_value = "grade-failures")]
    pub keep: PathBuf,
}

#[derive(Args)]
pub struct LessonArgs {
    /// A shipped lesson's name (see --list), or a lesson file (TOML)
    #[arg(required_unless_present = "list")]
    pub lesson: Option<String>,
    /// List the shipped lessons
    #[arg(long, conflicts_with_all = ["lesson", "headless", "dir", "fresh"])]
    pub list: bool,
    /// Print the captions, when each came and how far each run was then, instead of showing them
    #[arg(long)]
    pub headless: bool,
    /// Folder for the lesson's scenario, outputs and logs [default: mpitorrent-lessons/NAME in
    /// the temporary folder]
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Run the lesson's runs again even if the folder holds them from the same lesson
    #[arg(long)]
    pub fresh: bool,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The log, written with --record
    pub log: PathBuf,
    #[arg(long, value_enum)]
    pub format: crate::analysis::export::Format,
    /// Write here instead of to standard output
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// With svg, the moment of the run shown: seconds (5.5) or minutes and seconds (1:02.5);
    /// the end of the run when not given
    #[arg(long, value_parser = parse_time)]
    pub at: Option<u64>,
    /// With asciicast and svg, the terminal the dashboard is drawn for: COLUMNSxROWS
    #[arg(long, value_parser = parse_size, default_value = "120x36")]
    pub size: crate::tui::frames::Size,
}

#[derive(Args)]
pub struct StressArgs {
    /// Runs to make
    #[arg(long, default_value_t = 500)]
    pub runs: u64,
    /// Seed of the first run; run i draws everything from seed + i
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Ranks of the largest run, the tracker included
    #[arg(long, default_value_t = 33, value_parser = clap::value_parser!(u32).range(3..))]
    pub max_ranks: u32,
    /// Seconds after which a run is stopped and counted as a hang
    #[arg(long, default_value_t = 60, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    /// Folder where failing runs are kept, each with its inputs, command and output
    #[arg(long, default_value = "stress-failures")]
    pub keep: PathBuf,
}

#[derive(Args)]
pub struct StatsArgs {
    /// The log, written with --record
    pub log: PathBuf,
    /// Print the report as JSON, as --report writes it
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Folder holding in<R>.txt
    #[arg(long, default_value = ".")]
    pub inputs: PathBuf,
    /// Folder holding the run's client<R>_<file>
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// The run's log (--record): also check the protocol's rules and how the load was spread
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Flash crowd sizes: peers, the seed included
    #[arg(long, value_delimiter = ',', default_values_t = [8, 16, 32, 64])]
    pub peers: Vec<usize>,
    /// Flash crowd file sizes, in chunks
    #[arg(long, value_delimiter = ',', default_values_t = [100, 1000])]
    pub chunks: Vec<usize>,
    /// Piece orders to run each scenario with
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [PieceOrder::Sequential, PieceOrder::Random, PieceOrder::Rarest])]
    pub orders: Vec<PieceOrder>,
    /// Peer choices to run each scenario and piece order with
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [PeerChoice::Busyness, PeerChoice::FirstFree])]
    pub peer_choices: Vec<PeerChoice>,
    /// Peers of the random multi-file swarm (0: none)
    #[arg(long, default_value_t = 32)]
    pub swarm_peers: usize,
    /// Chunk time of the runs measured in rounds
    #[arg(long, default_value_t = 10, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_time: u64,
    /// Seconds after which a run is stopped and shown as timed out
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// Only the free riders' table: a crowd of 32 with 4 free riders, with and without
    /// tit-for-tat, behind one seed and a generous one
    #[arg(long, conflicts_with = "waiting")]
    pub incentives: bool,
    /// Only what waiting costs: the cores a crowd of 32 keeps busy at 20 ms a chunk, beside a job
    /// that only starts and stops, and a crowd of 128 at 10 ms a chunk against the bound
    #[arg(long)]
    pub waiting: bool,
    /// Measure the raw MPI request and reply rate for this long, as one rank of an mpirun
    #[arg(long, hide = true, value_name = "MS")]
    pub round_trips_ms: Option<u64>,
    /// With --round-trips-ms: through this project's transport and a peer's two threads
    #[arg(long, hide = true, requires = "round_trips_ms")]
    pub through_transport: bool,
}

#[derive(Args)]
pub struct ReplayArgs {
    /// The log
    pub log: PathBuf,
    /// A second log: the two runs side by side on one clock, and how they differ
    pub other: Option<PathBuf>,
    /// Print the replayed run's summary (of two runs: how they differ) instead of showing it
    #[arg(long)]
    pub headless: bool,
    /// Keep reading the log as it grows (a run still being recorded)
    #[arg(long, conflicts_with_all = ["headless", "other"])]
    pub follow: bool,
    /// Write the JSON summary of the replayed run here (with --headless)
    #[arg(long, requires = "headless", conflicts_with = "other")]
    pub report: Option<PathBuf>,
}

#[derive(Args)]
pub struct GenArgs {
    #[command(subcommand)]
    pub shape: Shape,
}

/// The shapes of scenario `gen` writes.
#[derive(Subcommand)]
pub enum Shape {
    /// One seed owns one file; every other peer wants it
    FlashCrowd {
        #[command(flatten)]
        common: GenCommon,
        /// Peers, the seed included (the run needs one more rank, for the tracker)
        #[arg(long)]
        peers: usize,
        /// Chunks of the file
        #[arg(long, default_value_t = 100)]
        chunks: usize,
    },
    /// Files, owners and wanters drawn at random within the given ranges
    Random(RandomArgs),
    /// The size and shape of the classic assignment's tests: 3 to 6 peers, up to 7 files of 30
    /// to 100 chunks, one or two owners each, one to three files wanted per peer
    Classic {
        #[command(flatten)]
        common: GenCommon,
    },
}

#[derive(Args)]
pub struct GenCommon {
    /// Folder to write into (must be new or empty)
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the random choices: the same arguments give the same scenario
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write capacities.txt, each peer's upload slots drawn from N or MIN..MAX
    #[arg(long, value_parser = parse_range, value_name = "RANGE")]
    pub upload_slots: Option<RangeInclusive<usize>>,
    /// Also write capacities.txt, each peer's download limit drawn from N or MIN..MAX
    #[arg(long, value_parser = parse_range, value_name = "RANGE")]
    pub download_limit: Option<RangeInclusive<usize>>,
}

#[derive(Args)]
pub struct RandomArgs {
    #[command(flatten)]
    pub common: GenCommon,
    /// Peers (the run needs one more rank, for the tracker)
    #[arg(long)]
    pub peers: usize,
    /// Files in the scenario, named file1, file2, ...
    #[arg(long)]
    pub files: usize,
    /// Chunks per file: N or MIN..MAX
    #[arg(long, value_parser = parse_range, default_value = "100")]
    pub chunks: RangeInclusive<usize>,
    /// Owners per file: N or MIN..MAX
    #[arg(long, value_parser = parse_range, default_value = "1")]
    pub owners: RangeInclusive<usize>,
    /// Files each peer wants: N or MIN..MAX
    #[arg(long, value_parser = parse_range, default_value = "1")]
    pub wanted: RangeInclusive<usize>,
}

/// A terminal's size, `COLUMNSxROWS`, within what the dashboard draws in.
pub fn parse_size(text: &str) -> Result<crate::tui::frames::Size, Invalid> {
    let wrong = || Invalid(format!("'{text}' is not a size: give COLUMNSxROWS, from 20x5 to 500x200, as in 120x36"));
    let (width, height) = text.split_once('x').ok_or_else(wrong)?;
    let (width, height) = (width.trim().parse::<u16>().map_err(|_| wrong())?, height.trim().parse::<u16>().map_err(|_| wrong())?);
    if !(20..=500).contains(&width) || !(5..=200).contains(&height) {
        return Err(wrong());
    }
    Ok(crate::tui::frames::Size { width, height })
}

pub fn parse_range(text: &str) -> Result<RangeInclusive<usize>, Invalid> {
    let number = |t: &str| t.trim().parse::<usize>().map_err(|_| Invalid(format!("'{t}' is not a whole number")));
    let (low, high) = match text.split_once("..") {
        Some((low, high)) => (number(low)?, number(high)?),
        None => (number(text)?, number(text)?),
    };
    if low > high {
        return Err(Invalid(format!("{low} is more than {high}")));
    }
    Ok(low..=high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_seconds_or_minutes_and_seconds_and_sizes_columns_by_rows() {
        assert_eq!(parse_time("5.5").unwrap(), 5_500_000);
        assert_eq!(parse_time("1:02.5").unwrap(), 62_500_000);
        assert_eq!(parse_time("0").unwrap(), 0);
        for wrong in ["", "-1", "1:60", "a:05", "inf", "5s"] {
            assert!(parse_time(wrong).unwrap_err().to_string().contains("is not a time"), "{wrong}");
        }
        assert_eq!(parse_size("160x48").unwrap(), crate::tui::frames::Size { width: 160, height: 48 });
        for wrong in ["160", "10x10", "160x", "x48", "600x48"] {
            assert!(parse_size(wrong).unwrap_err().to_string().contains("is not a size"), "{wrong}");
        }
    }
}
