//! The commands that read a recorded log: `replay`, `stats` and `export`.

use crate::analysis::export::{chrome, shiviz, Format};
use crate::analysis::report::Report;
use crate::cli::{ExportArgs, ReplayArgs, StatsArgs};
use crate::commands::{Error, Outcome};
use crate::record::log::{Log, LogError, LogReader};
use crate::scenario::input::Invalid;
use crate::scenario::output::{replace_atomically, WriteError};
use crate::tui;
use crate::tui::frames;
use crate::tui::replay::Narration;
use crate::tui::terminal::Screen;
use crate::tui::theme::Theme;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

pub fn replay(args: &ReplayArgs) -> Result<Outcome, Error> {
    if let Some(other) = &args.other {
        return compare(args, other);
    }
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
        let file = std::fs::File::open(&args.log).map_err(|source| LogError::Open { path: shown.clone(), source })?;
        let reader = LogReader::new(std::io::BufReader::new(file), shown.clone())?;
        match Screen::open() {
            Ok(screen) => {
                return match tui::replay::run(reader, &shown, args.follow, &Narration::default(), screen, Theme::from_env()) {
                    true => Ok(Outcome::Done),
                    false => Ok(Outcome::Interrupted),
                };
            }
            Err(e) => eprintln!("mpitorrent replay: warning: no terminal to show the replay on ({e}); printing its summary"),
        }
    }
    let report = report_of_log(&args.log, "replay")?;
    println!("{}", report.summary());
    if let Some(path) = &args.report {
        write_report(path, &report)?;
    }
    Ok(Outcome::Done)
}

/// Two runs side by side, or how they differ when headless.
fn compare(args: &ReplayArgs, other: &Path) -> Result<Outcome, Error> {
    let logs = [read_log(&args.log, "replay")?, read_log(other, "replay")?];
    let names = [args.log.display().to_string(), other.display().to_string()];
    if !args.headless {
        match Screen::open() {
            Ok(screen) => {
                return match tui::compare::run(&logs, &names, &Narration::default(), screen, Theme::from_env()) {
                    true => Ok(Outcome::Done),
                    false => Ok(Outcome::Interrupted),
                };
            }
            Err(e) => eprintln!("mpitorrent replay: warning: no terminal to show the runs on ({e}); printing how they differ"),
        }
    }
    let models = [logs[0].model(), logs[1].model()];
    print!("{}", crate::analysis::compare::compare([&names[0], &names[1]], [&models[0], &models[1]]).text());
    Ok(Outcome::Done)
}

pub fn stats(args: &StatsArgs) -> Result<Outcome, Error> {
    let report = report_of_log(&args.log, "stats")?;
    match args.json {
        true => println!("{}", serde_json::to_string_pretty(&report).expect("a report is JSON")),
        false => print!("{}", report.text()),
    }
    Ok(Outcome::Done)
}

pub fn export(args: &ExportArgs) -> Result<Outcome, Error> {
    if args.at.is_some() && args.format != Format::Svg {
        return Err(Invalid("--at gives the moment of an svg frame; the other formats hold the whole run".into()).into());
    }
    let log = read_log(&args.log, "export")?;
    let name = args.log.display().to_string();
    let theme = Theme::from_env();
    let text = match args.format {
        Format::Chrome => chrome::trace(&log),
        Format::Shiviz => shiviz::text(&log),
        Format::Asciicast => frames::cast(&log, &name, args.size, &theme),
        Format::Svg => {
            let end = log.events.iter().map(|e| e.at).max().unwrap_or(0);
            let at = args.at.unwrap_or(end);
            if at > end {
                let shown = |us: u64| format!("{:.1} s", us as f64 / 1e6);
                return Err(Invalid(format!("--at {}: {name} ends at {}", shown(at), shown(end))).into());
            }
            frames::svg(&log, &name, at, args.size, &theme)
        }
    };
    match &args.output {
        Some(path) => replace_atomically(path, text.as_bytes()).map_err(|source| WriteError { path: path.clone(), source })?,
        None => match std::io::stdout().lock().write_all(text.as_bytes()) {
            // Piped into `head`, say: the reader has what it wanted.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            written => written.map_err(|source| WriteError { path: "standard output".into(), source })?,
        },
    }
    Ok(Outcome::Done)
}

/// The log at `path`, with a warning when it is damaged.
fn read_log(path: &Path, command: &str) -> Result<Log, Error> {
    let log = Log::read(path)?;
    warn_of_damage(&log, command);
    Ok(log)
}

/// Says on stderr where and why reading `log` stopped early, if it did.
pub fn warn_of_damage(log: &Log, command: &str) {
    if let Some(damage) = &log.damage {
        eprintln!("mpitorrent {command}: warning: {damage}");
    }
}

/// The report of the run a log holds, with a warning when the log is damaged or unfinished.
fn report_of_log(path: &Path, command: &str) -> Result<Report, Error> {
    let log = read_log(path, command)?;
    if log.damage.is_none() && log.end.is_none() {
        eprintln!(
            "mpitorrent {command}: warning: {} has no closing line: its run did not end cleanly, or is still going",
            path.display()
        );
    }
    Ok(log.model().report())
}

/// Writes the report as JSON, creating its folder if need be; nothing half-written is left.
pub fn write_report(path: &Path, report: &Report) -> Result<(), WriteError> {
    let json = serde_json::to_string_pretty(report).expect("a report is JSON") + "\n";
    let failed = |source| WriteError { path: path.to_owned(), source };
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(failed)?;
    }
    replace_atomically(path, json.as_bytes()).map_err(failed)
}
