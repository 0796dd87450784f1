//! The mpitorrent binary: reads the command line and runs the command it names.

use clap::Parser;
use mpitorrent::cli::{Cli, Command};
use mpitorrent::commands::{checks, exit, gen, lesson, logs, run};
use std::process::ExitCode;

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
    match &cli.command {
        None => run::run(&cli.run),
        Some(Command::Gen(args)) => exit("gen", gen::generate(args)),
        Some(Command::Replay(args)) => exit("replay", logs::replay(args)),
        Some(Command::Stats(args)) => exit("stats", logs::stats(args)),
        Some(Command::Export(args)) => exit("export", logs::export(args)),
        Some(Command::Verify(args)) => exit("verify", checks::verify(args)),
        Some(Command::Stress(args)) => exit("stress", checks::stress(args)),
        Some(Command::Bench(args)) => exit("bench", checks::bench(args)),
        Some(Command::Lesson(args)) => exit("lesson", lesson::lesson(args)),
        Some(Command::Grade(args)) => exit("grade", checks::grade(args)),
    }
}
