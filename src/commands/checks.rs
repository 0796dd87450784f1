//! The commands that check runs: `verify` one run, `stress` many random ones, `bench` the
//! canonical scenarios against their bound.

use crate::analysis::audit::audit;
use crate::analysis::verify::{table, verify_outputs};
use crate::cli::{BenchArgs, GradeArgs, StressArgs, VerifyArgs};
use crate::commands::logs::warn_of_damage;
use crate::commands::{passed, Error, Outcome};
use crate::record::log::Log;
use crate::scenario::input::Invalid;
use crate::scenario::output::{replace_atomically, WriteError};
use crate::tools::bench::{round_trips, BenchOptions};
use crate::tools::grade::{heading, GradeOptions};
use crate::tools::stress::StressOptions;
use anyhow::Context;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

/// Prints a verdict per output, and with a log the protocol's rules and the load's spread.
pub fn verify(args: &VerifyArgs) -> Result<Outcome, Error> {
    let log = args.log.as_deref().map(Log::read).transpose()?;
    let checks = verify_outputs(&args.inputs, &args.out)?;
    print!("{}", table(&checks));
    let outputs_ok = checks.iter().all(|c| c.verdict.is_ok());
    let Some(log) = log else { return Ok(passed(outputs_ok)) };
    warn_of_damage(&log, "verify");
    let audit = audit(&log);
    print!("\n{}", audit.table());
    Ok(passed(outputs_ok && audit.breaches.is_empty()))
}

pub fn stress(args: &StressArgs) -> Result<Outcome, Error> {
    let options = StressOptions {
        runs: args.runs,
        seed: args.seed,
        max_ranks: args.max_ranks,
        limit: Duration::from_secs(args.limit),
        keep: args.keep.clone(),
        program: this_program()?,
    };
    Ok(passed(crate::tools::stress::run(&options, &mut std::io::stdout().lock())?))
}

pub fn bench(args: &BenchArgs) -> Result<Outcome, Error> {
    if let Some(ms) = args.round_trips_ms {
        let duration = Duration::from_millis(ms);
        let measured = match args.through_transport {
            true => round_trips::measure_through_transport(duration),
            false => round_trips::measure(duration),
        };
        if let Some(measured) = measured {
            println!("{}", serde_json::to_string(&measured).expect("a measure is JSON"));
        }
        return Ok(Outcome::Done);
    }
    if args.peers.iter().any(|&n| n < 2) {
        return Err(Invalid("--peers: a flash crowd needs a seed and at least one other peer".into()).into());
    }
    if args.chunks.contains(&0) {
        return Err(Invalid("--chunks: a file needs at least one chunk".into()).into());
    }
    let options = BenchOptions {
        peers: args.peers.clone(),
        chunks: args.chunks.clone(),
        orders: args.orders.clone(),
        choices: args.peer_choices.clone(),
        swarm_peers: args.swarm_peers,
        chunk_time_ms: args.chunk_time,
        timeout: Duration::from_secs(args.timeout),
        round_trip_time: Duration::from_secs(2),
        program: this_program()?,
    };
    let out = &mut std::io::stdout().lock();
    match (args.incentives, args.waiting) {
        (true, _) => crate::tools::bench::incentives::run(&options, out)?,
        (_, true) => crate::tools::bench::waiting::run(&options, out)?,
        _ => crate::tools::bench::run(&options, out)?,
    }
    Ok(Outcome::Done)
}

/// Grades a program: a line per scenario as it is graded, then the official score and the
/// failures kept; exit code 0 only when every scenario passed.
pub fn grade(args: &GradeArgs) -> Result<Outcome, Error> {
    let program = std::path::absolute(&args.program).map_err(|e| Invalid(format!("{}: {e}", args.program.display())))?;
    let executable = std::fs::metadata(&program).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if !executable {
        return Err(Invalid(format!("{}: no such program, or not executable", args.program.display())).into());
    }
    if let Some(folder) = args.json.as_ref().and_then(|p| p.parent()).filter(|f| !f.as_os_str().is_empty() && !f.is_dir()) {
        return Err(Invalid(format!("--json: {}: no such folder", folder.display())).into());
    }
    let options = GradeOptions {
        program,
        official: args.official.clone(),
        runs: args.runs,
        seed: args.seed,
        limit: Duration::from_secs(args.limit),
        keep: std::path::absolute(&args.keep).unwrap_or_else(|_| args.keep.clone()),
        reference: this_program()?,
    };
    let plan = crate::tools::grade::plan(&options)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", heading()).context("standard output")?;
    let grade = crate::tools::grade::run(&options, &plan, &mut out);
    write!(out, "{}", grade.summary()).context("standard output")?;
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&grade).expect("a grade is JSON") + "\n";
        replace_atomically(path, json.as_bytes()).map_err(|source| WriteError { path: path.clone(), source })?;
    }
    Ok(passed(grade.passed))
}

/// This executable, which the campaigns run under mpirun.
fn this_program() -> Result<std::path::PathBuf, Error> {
    Ok(std::env::current_exe().context("finding this executable")?)
}
