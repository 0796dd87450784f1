use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use mpi::topology::SimpleCommunicator;
use mpi::traits::Communicator;
use mpi::Threading;
use mpitorrent::analysis::collector::collect;
use mpitorrent::protocol::error::RunError;
use mpitorrent::protocol::strategy::{PeerChoice, PieceOrder, Strategy};
use mpitorrent::record::log::{Log, LogReader, Recorder};
use mpitorrent::scenario::capacity::capacities_text;
use mpitorrent::scenario::fault::{Corrupt, Faults, Leave};
use mpitorrent::scenario::generate::{random_capacities, RandomSpec, Scenario, CAPACITY_FILE};
use mpitorrent::scenario::output::{check_writable, replace_atomically};
use mpitorrent::scenario::settings::RunConfig;
use mpitorrent::tools::run::run_rank;
use mpitorrent::transport::mpi::pauses;
use mpitorrent::transport::mpi::MpiTransport;
use mpitorrent::tui;
use mpitorrent::tui::live::Ending;
use mpitorrent::tui::terminal::Screen;
use mpitorrent::tui::theme::Theme;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The BitTorrent protocol simulated on MPI: rank 0 is the tracker, every other rank a peer.
///
/// Run it under mpirun: `mpirun -np N mpitorrent`. Peer R reads in<R>.txt and writes
/// client<R>_<file> for every file it wants.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
struct RunArgs {
    /// Folder holding in<R>.txt
    #[arg(long, default_value = ".")]
    inputs: PathBuf,
    /// Folder where client<R>_<file> are written (created if missing)
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Write a JSON summary of the run here
    #[arg(long)]
    report: Option<PathBuf>,
    /// Milliseconds an upload thread takes to serve one chunk
    #[arg(long, default_value_t = 0, value_name = "MS")]
    chunk_time: u64,
    /// Record the run's events to this file (JSON lines), for `mpitorrent replay`
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Overwrite the --record file if it exists
    #[arg(long, requires = "record")]
    force: bool,
    /// Show the swarm live in a dashboard on rank 0's terminal (headless if there is none)
    #[arg(long)]
    tui: bool,
    /// Order in which peers ask for the chunks of a file
    #[arg(long, value_enum, default_value_t = PieceOrder::Sequential)]
    piece_order: PieceOrder,
    /// Which holder of a chunk a peer asks for it
    #[arg(long, value_enum, default_value_t = PeerChoice::Busyness)]
    peer_choice: PeerChoice,
    /// Ask a second holder for the last chunks still on their way (duplicates are counted)
    #[arg(long)]
    end_game: bool,
    /// Chunks a peer downloads between two reports to the tracker
    #[arg(long, default_value_t = mpitorrent::scenario::settings::UPDATE_EVERY as u32, value_parser = clap::value_parser!(u32).range(1..))]
    update_every: u32,
    /// Chunks an upload thread serves at once
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    upload_slots: u32,
    /// Per-peer upload slots and download limits: lines of '<rank> <upload slots> [<download limit>]'
    #[arg(long, value_name = "FILE")]
    capacities: Option<PathBuf>,
    /// Seed of every random choice (random orders and random peer choice), for repeatable runs
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Peer R leaves T ms after the start: it stops answering and the tracker drops it (repeatable)
    #[arg(long, value_name = "R@T", value_parser = mpitorrent::scenario::fault::parse_leave)]
    leave: Vec<Leave>,
    /// Peer R sends a wrong hash with probability P (repeatable)
    #[arg(long, value_name = "R:P", value_parser = mpitorrent::scenario::fault::parse_corrupt)]
    corrupt: Vec<Corrupt>,
    /// More faults, from a file: lines of 'leave R@T' and 'corrupt R:P'
    #[arg(long, value_name = "FILE")]
    faults: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Write a random scenario (in1.txt ... in<N>.txt) into a folder
    Gen(GenArgs),
    /// Replay a log written with --record in the dashboard, or print its summary
    Replay(ReplayArgs),
    /// Run the canonical scenarios under mpirun and print how close each comes to the lower
    /// bound, its fairness, overhead and speed, and the raw MPI request and reply rate
    Bench(BenchArgs),
    /// Check a run's outputs against its inputs: every wanted file of every peer, hash by hash
    Verify(VerifyArgs),
    /// The report's figures, computed from a log alone
    Stats(StatsArgs),
    /// Write a recorded run as a trace for Perfetto or chrome://tracing, or a log for ShiViz
    Export(ExportArgs),
    /// Run many random scenarios under mpirun, with random strategies, chunk times, capacities,
    /// leaves and corruption, and check that none hangs and every output is right
    Stress(StressArgs),
}

#[derive(Args)]
struct ExportArgs {
    /// The log, written with --record
    log: PathBuf,
    #[arg(long, value_enum)]
    format: mpitorrent::analysis::export::Format,
    /// Write here instead of to standard output
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct StressArgs {
    /// Runs to make
    #[arg(long, default_value_t = 500)]
    runs: u64,
    /// Seed of the first run; run i draws everything from seed + i
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Ranks of the largest run, the tracker included
    #[arg(long, default_value_t = 33, value_parser = clap::value_parser!(u32).range(3..))]
    max_ranks: u32,
    /// Seconds after which a run is stopped and counted as a hang
    #[arg(long, default_value_t = 60, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    limit: u64,
    /// Folder where failing runs are kept, each with its inputs, command and output
    #[arg(long, default_value = "stress-failures")]
    keep: PathBuf,
}

#[derive(Args)]
struct StatsArgs {
    /// The log, written with --record
    log: PathBuf,
    /// Print the report as JSON, as --report writes it
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct VerifyArgs {
    /// Folder holding in<R>.txt
    #[arg(long, default_value = ".")]
    inputs: PathBuf,
    /// Folder holding the run's client<R>_<file>
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// The run's log (--record): also check the protocol's rules and how the load was spread
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

#[derive(Args)]
struct BenchArgs {
    /// Flash crowd sizes: peers, the seed included
    #[arg(long, value_delimiter = ',', default_values_t = [8, 16, 32, 64])]
    peers: Vec<usize>,
    /// Flash crowd file sizes, in chunks
    #[arg(long, value_delimiter = ',', default_values_t = [100, 1000])]
    chunks: Vec<usize>,
    /// Piece orders to run each scenario with
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [PieceOrder::Sequential, PieceOrder::Random, PieceOrder::Rarest])]
    orders: Vec<PieceOrder>,
    /// Peer choices to run each scenario and piece order with
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [PeerChoice::Busyness, PeerChoice::FirstFree])]
    peer_choices: Vec<PeerChoice>,
    /// Peers of the random multi-file swarm (0: none)
    #[arg(long, default_value_t = 32)]
    swarm_peers: usize,
    /// Chunk time of the runs measured in rounds
    #[arg(long, default_value_t = 10, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    chunk_time: u64,
    /// Seconds after which a run is stopped and shown as timed out
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    timeout: u64,
    /// Measure the raw MPI request and reply rate for this long, as one rank of an mpirun
    #[arg(long, hide = true, value_name = "MS")]
    round_trips_ms: Option<u64>,
    /// With --round-trips-ms: through this project's transport and a peer's two threads
    #[arg(long, hide = true, requires = "round_trips_ms")]
    through_transport: bool,
}

#[derive(Args)]
struct ReplayArgs {
    /// The log
    log: PathBuf,
    /// Print the replayed run's summary instead of showing it
    #[arg(long)]
    headless: bool,
    /// Keep reading the log as it grows (a run still being recorded)
    #[arg(long, conflicts_with = "headless")]
    follow: bool,
    /// Write the JSON summary of the replayed run here (with --headless)
    #[arg(long, requires = "headless")]
    report: Option<PathBuf>,
}

#[derive(Args)]
struct GenArgs {
    #[command(subcommand)]
    shape: Shape,
}

/// The shapes of scenario `gen` writes.
#[derive(Subcommand)]
enum Shape {
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
struct GenCommon {
    /// Folder to write into (must be new or empty)
    #[arg(long)]
    out: PathBuf,
    /// Seed of the random choices: the same arguments give the same scenario
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write capacities.txt, each peer's upload slots drawn from N or MIN..MAX
    #[arg(long, value_parser = parse_range, value_name = "RANGE")]
    upload_slots: Option<RangeInclusive<usize>>,
    /// Also write capacities.txt, each peer's download limit drawn from N or MIN..MAX
    #[arg(long, value_parser = parse_range, value_name = "RANGE")]
    download_limit: Option<RangeInclusive<usize>>,
}

#[derive(Args)]
struct RandomArgs {
    #[command(flatten)]
    common: GenCommon,
    /// Peers (the run needs one more rank, for the tracker)
    #[arg(long)]
    peers: usize,
    /// Files in the scenario, named file1, file2, ...
    #[arg(long)]
    files: usize,
    /// Chunks per file: N or MIN..MAX
    #[arg(long, value_parser = parse_range, default_value = "100")]
    chunks: RangeInclusive<usize>,
    /// Owners per file: N or MIN..MAX
    #[arg(long, value_parser = parse_range, default_value = "1")]
    owners: RangeInclusive<usize>,
    /// Files each peer wants: N or MIN..MAX
    #[arg(long, value_parser = parse_range, default_value = "1")]
    wanted: RangeInclusive<usize>,
}

fn parse_range(text: &str) -> Result<RangeInclusive<usize>, String> {
    let number = |t: &str| t.trim().parse::<usize>().map_err(|_| format!("'{t}' is not a whole number"));
    let (low, high) = match text.split_once("..") {
        Some((low, high)) => (number(low)?, number(high)?),
        None => (number(text)?, number(text)?),
    };
    if low > high {
        return Err(format!("{low} is more than {high}"));
    }
    Ok(low..=high)
}

fn main() -> ExitCode {
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        // Under mpirun (every rank given the same arguments) only the first rank says what is
        // wrong, or prints the help: Open MPI 4.1's mpirun hangs when 33 or more ranks exit
        // with an error before MPI starts.
        let rank = ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"].iter().find_map(|v| std::env::var(v).ok());
        if rank.is_some_and(|r| r != "0") {
            std::process::exit(0);
        }
        e.exit()
    });
    match cli.command {
        Some(Command::Gen(args)) => match generate(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mpitorrent gen: error: {e:#}");
                ExitCode::from(2)
            }
        },
        Some(Command::Replay(args)) => match replay(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mpitorrent replay: error: {e:#}");
                ExitCode::from(2)
            }
        },
        Some(Command::Bench(args)) => match bench(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mpitorrent bench: error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Verify(args)) => match verify(&args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("mpitorrent verify: error: {e:#}");
                ExitCode::from(INPUT_ERROR)
            }
        },
        Some(Command::Stats(args)) => match stats(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mpitorrent stats: error: {e:#}");
                ExitCode::from(INPUT_ERROR)
            }
        },
        Some(Command::Export(args)) => match export(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mpitorrent export: error: {e:#}");
                ExitCode::from(INPUT_ERROR)
            }
        },
        Some(Command::Stress(args)) => match stress(&args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("mpitorrent stress: error: {e:#}");
                ExitCode::from(2)
            }
        },
        None => run_under_mpi(&cli.run),
    }
}

fn replay(args: &ReplayArgs) -> anyhow::Result<()> {
    if !args.headless {
        let shown = args.log.display().to_string();
        // Started before the run it is to follow: wait for the log and its header line, which
        // comes once every peer has registered.
        let has_header = || std::fs::read(&args.log).is_ok_and(|bytes| bytes.contains(&b'\n'));
        if args.follow && !has_header() {
            eprintln!("mpitorrent replay: waiting for {shown} to begin (Ctrl-C to stop)");
            while !has_header() {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        let file = std::fs::File::open(&args.log).with_context(|| format!("{shown}: cannot open the log"))?;
        let reader = LogReader::new(std::io::BufReader::new(file), shown.clone()).map_err(anyhow::Error::msg)?;
        match Screen::open() {
            Ok(screen) => {
                anyhow::ensure!(tui::replay::run(reader, &shown, args.follow, screen, Theme::from_env()), "interrupted");
                return Ok(());
            }
            Err(e) => eprintln!("mpitorrent replay: warning: no terminal to show the replay on ({e}); printing its summary"),
        }
    }
    let report = report_of_log(&args.log, "replay")?;
    println!("{}", report.summary());
    match &args.report {
        Some(path) => write_report(path, &report),
        None => Ok(()),
    }
}

/// Prints a verdict per output, and with a log the protocol's rules and the load's spread;
/// whether all is well.
fn verify(args: &VerifyArgs) -> anyhow::Result<bool> {
    let log = args.log.as_ref().map(|path| Log::read(path).map_err(anyhow::Error::msg)).transpose()?;
    let checks = mpitorrent::analysis::verify::verify_outputs(&args.inputs, &args.out).map_err(anyhow::Error::msg)?;
    print!("{}", mpitorrent::analysis::verify::table(&checks));
    let outputs_ok = checks.iter().all(|c| c.verdict.is_ok());
    let Some(log) = log else { return Ok(outputs_ok) };
    if let Some(damage) = &log.damage {
        eprintln!("mpitorrent verify: warning: {damage}");
    }
    let audit = mpitorrent::analysis::audit::audit(&log);
    print!("\n{}", audit.table());
    Ok(outputs_ok && audit.breaches.is_empty())
}

fn stats(args: &StatsArgs) -> anyhow::Result<()> {
    let report = report_of_log(&args.log, "stats")?;
    match args.json {
        true => println!("{}", serde_json::to_string_pretty(&report)?),
        false => print!("{}", report.text()),
    }
    Ok(())
}

/// The report of the run a log holds, with a warning when the log is damaged or unfinished.
fn report_of_log(path: &Path, command: &str) -> anyhow::Result<mpitorrent::analysis::report::Report> {
    let log = Log::read(path).map_err(anyhow::Error::msg)?;
    if let Some(damage) = &log.damage {
        eprintln!("mpitorrent {command}: warning: {damage}");
    } else if log.end.is_none() {
        eprintln!(
            "mpitorrent {command}: warning: {} has no closing line: its run did not end cleanly, or is still going",
            path.display()
        );
    }
    Ok(log.model().report())
}

fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    if let Some(ms) = args.round_trips_ms {
        let duration = Duration::from_millis(ms);
        let measured = match args.through_transport {
            true => mpitorrent::tools::bench::round_trips::measure_through_transport(duration),
            false => mpitorrent::tools::bench::round_trips::measure(duration),
        };
        if let Some(measured) = measured {
            println!("{}", serde_json::to_string(&measured)?);
        }
        return Ok(());
    }
    anyhow::ensure!(args.peers.iter().all(|&n| n >= 2), "--peers: a flash crowd needs a seed and at least one other peer");
    anyhow::ensure!(args.chunks.iter().all(|&k| k >= 1), "--chunks: a file needs at least one chunk");
    let options = mpitorrent::tools::bench::BenchOptions {
        peers: args.peers.clone(),
        chunks: args.chunks.clone(),
        orders: args.orders.clone(),
        choices: args.peer_choices.clone(),
        swarm_peers: args.swarm_peers,
        chunk_time_ms: args.chunk_time,
        timeout: Duration::from_secs(args.timeout),
        round_trip_time: Duration::from_secs(2),
        program: std::env::current_exe().context("finding this executable")?,
    };
    mpitorrent::tools::bench::run(&options, &mut std::io::stdout().lock())
}

fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let log = Log::read(&args.log).map_err(anyhow::Error::msg)?;
    if let Some(damage) = &log.damage {
        eprintln!("mpitorrent export: warning: {damage}");
    }
    let text = match args.format {
        mpitorrent::analysis::export::Format::Chrome => mpitorrent::analysis::export::chrome::trace(&log),
        mpitorrent::analysis::export::Format::Shiviz => mpitorrent::analysis::export::shiviz::text(&log),
    };
    match &args.output {
        Some(path) => replace_atomically(path, text.as_bytes()).with_context(|| format!("writing {}", path.display())),
        None => {
            use std::io::Write;
            match std::io::stdout().lock().write_all(text.as_bytes()) {
                // Piped into `head`, say: the reader has what it wanted.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                written => written.context("writing to standard output"),
            }
        }
    }
}

fn stress(args: &StressArgs) -> anyhow::Result<bool> {
    let options = mpitorrent::tools::stress::StressOptions {
        runs: args.runs,
        seed: args.seed,
        max_ranks: args.max_ranks,
        limit: Duration::from_secs(args.limit),
        keep: args.keep.clone(),
        program: std::env::current_exe().context("finding this executable")?,
    };
    mpitorrent::tools::stress::run(&options, &mut std::io::stdout().lock())
}

fn generate(args: &GenArgs) -> anyhow::Result<()> {
    let (common, scenario) = match &args.shape {
        Shape::FlashCrowd { common, peers, chunks } => {
            anyhow::ensure!(*peers >= 2, "a flash crowd needs a seed and at least one other peer");
            anyhow::ensure!(*chunks >= 1, "a file needs at least one chunk");
            (common, Scenario::flash_crowd(*peers, *chunks, common.seed))
        }
        Shape::Classic { common } => (common, Scenario::classic(common.seed)),
        Shape::Random(args) => {
            anyhow::ensure!(args.peers >= 1 && args.files >= 1, "a scenario needs at least one peer and one file");
            anyhow::ensure!(*args.chunks.start() >= 1, "a file needs at least one chunk");
            anyhow::ensure!(*args.owners.start() >= 1, "a file needs at least one owner");
            anyhow::ensure!(
                *args.owners.start() <= args.peers,
                "--owners {} is more than --peers {}",
                args.owners.start(),
                args.peers
            );
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
    let existing = std::fs::read_dir(out).map(|d| d.count()).unwrap_or(0);
    anyhow::ensure!(existing == 0, "{}: folder is not empty; choose a new one", out.display());
    scenario.write(out).with_context(|| format!("writing {}", out.display()))?;
    let mut run = format!("mpirun -np {} mpitorrent --inputs {}", scenario.ranks(), out.display());
    if common.upload_slots.is_some() || common.download_limit.is_some() {
        let nonzero = |r: &Option<RangeInclusive<usize>>| r.as_ref().is_none_or(|r| *r.start() >= 1);
        anyhow::ensure!(nonzero(&common.upload_slots) && nonzero(&common.download_limit), "capacities are at least 1");
        let to_u32 = |r: &RangeInclusive<usize>| *r.start() as u32..=*r.end() as u32;
        let upload = common.upload_slots.as_ref().map_or(1..=1, to_u32);
        let download = common.download_limit.as_ref().map(to_u32);
        let capacities = random_capacities(scenario.peers.len(), upload, download, common.seed);
        let path = out.join(CAPACITY_FILE);
        std::fs::write(&path, capacities_text(&capacities)).with_context(|| format!("writing {}", path.display()))?;
        run += &format!(" --capacities {}", path.display());
    }
    println!("wrote in1.txt to in{}.txt in {}; run them with {run}", scenario.peers.len(), out.display());
    Ok(())
}

/// Exit code when the inputs are wrong (every rank uses it).
const INPUT_ERROR: u8 = 2;
/// Exit code (on rank 0) when a peer that stayed gave up on a file that had no holder left.
const INCOMPLETE: u8 = 3;

fn run_under_mpi(args: &RunArgs) -> ExitCode {
    let Some((universe, threading)) = mpi::initialize_with_threading(Threading::Multiple) else {
        eprintln!("mpitorrent: error: MPI could not be initialized");
        return ExitCode::FAILURE;
    };
    let world = universe.world();
    let (rank, size) = (world.rank(), world.size());
    let code = if threading != Threading::Multiple {
        if rank == 0 {
            eprintln!(
                "mpitorrent: error: the MPI library offers thread level {threading:?}, but every peer runs a \
                 download and an upload thread that both use MPI, which needs MPI_THREAD_MULTIPLE"
            );
        }
        1
    } else if size < 2 {
        mpitorrent::protocol::say(
            "mpitorrent: error: needs at least 2 ranks, a tracker and a peer: mpirun -np N mpitorrent, with N >= 2",
        );
        INPUT_ERROR
    } else {
        let (recorder, setup_error) = if rank == 0 { prepare_rank0(args) } else { (None, None) };
        let screen = if rank == 0 && args.tui { open_screen() } else { None };
        let config = RunConfig {
            inputs: args.inputs.clone(),
            out: args.out.clone(),
            chunk_time: Duration::from_millis(args.chunk_time),
            update_every: args.update_every as usize,
            upload_slots: args.upload_slots as usize,
            capacities: args.capacities.clone(),
            strategy: Strategy { pieces: args.piece_order, peers: args.peer_choice, end_game: args.end_game, seed: args.seed },
            measure_cpu: true,
            faults: Faults { leaves: args.leave.clone(), corrupt: args.corrupt.clone() },
            faults_file: args.faults.clone(),
            setup_error,
        };
        let transport = Arc::new(MpiTransport::start(pauses(config.chunk_time)));
        let result = run_rank(transport.clone(), &config, |feed| match screen {
            None => collect(&feed, recorder),
            Some(screen) => {
                let outcome = tui::live::run(feed, recorder, screen, Theme::from_env());
                match outcome.ending {
                    Ending::Finished => (outcome.model, outcome.log_failure),
                    Ending::Quit => {
                        eprintln!("mpitorrent: the dashboard was closed before the end; stopping every rank");
                        SimpleCommunicator::world().abort(130)
                    }
                    // mpirun is ending the job; the terminal is restored, so just go.
                    Ending::Interrupted => std::process::exit(1),
                }
            }
        });
        if matches!(result, Ok(_) | Err(RunError::Input(_) | RunError::Aborted)) {
            transport.close(); // before MPI_Finalize; on other errors the whole job is aborted below
        }
        match result {
            Ok(Some((model, log_failure))) => {
                let report = model.expect("a tracker that succeeded started the run").report();
                println!("{}", report.summary());
                let written = args.report.as_ref().map_or(Ok(()), |path| write_report(path, &report));
                let problems: Vec<String> = log_failure.into_iter().chain(written.err().map(|e| format!("{e:#}"))).collect();
                problems.iter().for_each(|p| eprintln!("mpitorrent: error: {p}"));
                match (problems.is_empty(), report.incomplete()) {
                    (false, _) => 1,
                    (true, true) => INCOMPLETE,
                    (true, false) => 0,
                }
            }
            Ok(None) => 0,
            Err(RunError::Input(problem)) => {
                eprintln!("mpitorrent: error: {problem}");
                INPUT_ERROR
            }
            Err(RunError::Aborted) => INPUT_ERROR,
            Err(other) => {
                // Other ranks may be waiting on this one: end them all rather than hang.
                mpitorrent::protocol::say(&format!("mpitorrent: rank {rank}: error: {other}"));
                world.abort(1)
            }
        }
    };
    drop(universe); // MPI_Finalize, before the process exits
    ExitCode::from(code)
}

/// The dashboard's screen, or `None` with a warning when there is no terminal to draw on.
fn open_screen() -> Option<Screen> {
    match Screen::open() {
        Ok(screen) => Some(screen),
        Err(e) => {
            eprintln!("mpitorrent: warning: --tui needs a terminal ({e}); running headless");
            None
        }
    }
}

/// Rank 0's own preparations, before the run: the log to record to, and any problem with it or
/// with the report's place, which the tracker reports like an input error.
fn prepare_rank0(args: &RunArgs) -> (Option<Recorder>, Option<String>) {
    let report_problem = args.report.as_ref().and_then(|report| {
        let folder = report.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        check_writable(folder).err().map(|problem| format!("{}: {problem}", report.display()))
    });
    match args.record.as_ref().map(|path| Recorder::create(path, args.force)) {
        Some(Ok(recorder)) if report_problem.is_some() => {
            recorder.discard();
            (None, report_problem)
        }
        Some(Ok(recorder)) => (Some(recorder), None),
        Some(Err(problem)) => (None, report_problem.or(Some(problem))),
        None => (None, report_problem),
    }
}

fn write_report(path: &std::path::Path, report: &mpitorrent::analysis::report::Report) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(report)? + "\n";
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    }
    replace_atomically(path, json.as_bytes()).with_context(|| format!("writing the report {}", path.display()))
}
