//! `lesson`: a lesson's runs made under mpirun with the options a user would type (or found in
//! its folder from an earlier showing), then played in the dashboard, stopping at each caption,
//! or told in text.

use crate::analysis::narration::{self, Cue};
use crate::cli::{LessonArgs, Shape};
use crate::commands::{gen, passed, Error, Outcome};
use crate::record::log::{Log, LogError, LogReader};
use crate::scenario::capacity::parse_capacities;
use crate::scenario::fault::parse_faults;
use crate::scenario::input::{input_path, read_peer_input, InputError, Invalid};
use crate::scenario::lesson::{clap_problem, option_value, Lesson, Source, SHIPPED, WRITTEN};
use crate::scenario::output::WriteError;
use crate::tools::launch::{launch, Mpi};
use crate::tui;
use crate::tui::app::View;
use crate::tui::replay::Narration;
use crate::tui::terminal::Screen;
use crate::tui::theme::Theme;
use crate::tui::view::caption::{Caption, Marks};
use anyhow::{anyhow, Context};
use clap::Parser;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lesson's text, its scenario's digest and the version that made its runs: the runs in a
/// folder are reused only when all three are the same.
const STAMP: &str = "lesson.stamp";
/// The first line of a stamp, which marks a folder as a lesson's.
const STAMP_HEADING: &str = "mpitorrent lesson";
/// The folder of the scenario, in the lesson's folder.
const SCENARIO: &str = "scenario";
/// How long a lesson's run may take.
const LIMIT: Duration = Duration::from_secs(300);

/// A `gen` recipe, read as `mpitorrent gen` reads its arguments.
#[derive(Parser)]
#[command(name = "mpitorrent gen", no_binary_name = true)]
struct Recipe {
    #[command(subcommand)]
    shape: Shape,
}

pub fn lesson(args: &LessonArgs) -> Result<Outcome, Error> {
    if args.list {
        print!("{}", list());
        return Ok(Outcome::Done);
    }
    let name = args.lesson.as_deref().expect("clap asks for a lesson unless --list");
    let (shown, text, base, folder_name) = find(name)?;
    let lesson = Lesson::parse(&shown, &text)?;
    // The temporary folder may be shared: each user has a folder of lessons of their own.
    // SAFETY: getuid has no preconditions and cannot fail.
    let lessons = std::env::temp_dir().join(format!("mpitorrent-lessons-{}", unsafe { libc::getuid() }));
    let dir = args.dir.clone().unwrap_or_else(|| lessons.join(folder_name));
    let dir = std::path::absolute(&dir).map_err(|source| WriteError { path: dir.clone(), source })?;
    let logs = prepare(&lesson, &text, &base, &dir, args.fresh)?;
    let cues = narration::cues(&lesson, &logs);
    let missed = || {
        for cue in &cues {
            if let Err(why) = &cue.at {
                let caption = &lesson.captions[cue.caption];
                eprintln!("mpitorrent lesson: {}:{}: '{}' never came: {why}", lesson.path, caption.line, caption.at);
            }
        }
        cues.iter().all(|c| c.at.is_ok())
    };
    if !args.headless {
        match Screen::open() {
            Ok(screen) => {
                let finished = play(&lesson, name, &dir, logs, &cues, screen)?;
                missed();
                return Ok(if finished { Outcome::Done } else { Outcome::Interrupted });
            }
            Err(e) => eprintln!("mpitorrent lesson: warning: no terminal to show the lesson on ({e}); telling it in text"),
        }
    }
    print!("{}", narration::text(&lesson, &logs, &cues));
    Ok(passed(missed()))
}

/// The shipped lessons, a line each.
fn list() -> String {
    let mut text = String::new();
    for (name, source) in SHIPPED {
        let lesson = Lesson::parse(name, source).expect("a shipped lesson reads");
        let runs = if lesson.runs.len() == 1 { "1 run".to_string() } else { format!("{} runs", lesson.runs.len()) };
        text += &format!("{name:<14}{} ({runs})\n", lesson.title);
    }
    text + "\nPlay one with `mpitorrent lesson NAME`; a lesson file of your own plays the same way: `mpitorrent lesson FILE.toml`.\n"
}

/// The lesson `name` names: a shipped one, or a file. Its name as errors show it, its text, the
/// folder its paths are relative to, and the name of its folder of runs.
fn find(name: &str) -> Result<(String, String, PathBuf, String), Error> {
    if let Some((_, text)) = SHIPPED.iter().find(|(n, _)| *n == name) {
        return Ok((format!("inputs/lessons/{name}.toml"), text.to_string(), PathBuf::from("."), name.to_string()));
    }
    let path = Path::new(name);
    if !path.is_file() {
        let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
        let problem = format!("'{name}' is neither a shipped lesson ({}) nor a lesson file", names.join(", "));
        return Err(Invalid(problem).into());
    }
    let text = std::fs::read_to_string(path).map_err(|e| InputError::new(name, None, format!("cannot read the lesson: {e}")))?;
    let base = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    // Named by the file and where it is, so that two lessons of one name keep their runs apart.
    let mut place = std::collections::hash_map::DefaultHasher::new();
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).hash(&mut place);
    let stem = path.file_stem().map_or_else(|| "lesson".into(), |s| s.to_string_lossy().into_owned());
    Ok((name.to_string(), text, base, format!("{stem}-{:08x}", place.finish() as u32)))
}

fn log_path(dir: &Path, run: usize) -> PathBuf {
    dir.join(format!("run{}.log", run + 1))
}

/// Removes a file or folder the lesson wrote, if it is there.
fn remove(path: &Path) -> Result<(), WriteError> {
    let removed = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    match removed {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(WriteError { path: path.to_path_buf(), source: e }),
        _ => Ok(()),
    }
}

/// The logs of the lesson's runs: from its folder if they were made there from the same lesson
/// and scenario, else made now under mpirun. Everything is checked before anything of an earlier
/// showing is replaced, and only what the lesson writes is: the scenario is made beside it first.
fn prepare(lesson: &Lesson, text: &str, base: &Path, dir: &Path, fresh: bool) -> Result<Vec<Log>, Error> {
    let failed = |source| WriteError { path: dir.to_path_buf(), source };
    let stamped = std::fs::read_to_string(dir.join(STAMP)).ok();
    let ours = stamped.as_deref().is_some_and(|s| s.starts_with(STAMP_HEADING));
    if !ours && std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        let problem = format!("{}: folder is not empty and holds no lesson; choose another with --dir", dir.display());
        return Err(Invalid(problem).into());
    }
    std::fs::create_dir_all(dir).map_err(failed)?;
    let staging = dir.join("scenario.new");
    remove(&staging)?;
    let checked = check(lesson, base, dir, &staging);
    let (runs, digest) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            remove(&staging)?;
            return Err(e);
        }
    };
    let stamp = format!("{STAMP_HEADING} {}\nscenario {digest:016x}\n{text}", env!("CARGO_PKG_VERSION"));
    let whole = |run| Log::read(&log_path(dir, run)).ok().filter(|log| log.end.is_some() && log.damage.is_none());
    if !fresh && stamped.as_deref() == Some(stamp.as_str()) {
        if let Some(logs) = (0..lesson.runs.len()).map(whole).collect::<Option<Vec<Log>>>() {
            remove(&staging)?;
            eprintln!("mpitorrent lesson: playing the runs made earlier in {} (--fresh makes them again)", dir.display());
            return Ok(logs);
        }
    }
    // Until every run is made, the stamp marks the folder as a lesson's but matches no lesson.
    std::fs::write(dir.join(STAMP), STAMP_HEADING).map_err(failed)?;
    let own_files = lesson.files.iter().map(|(name, _)| name.as_str());
    for name in WRITTEN.into_iter().filter(|n| *n != STAMP && *n != "scenario.new").chain(own_files) {
        remove(&dir.join(name))?;
    }
    if staging.exists() {
        std::fs::rename(&staging, dir.join(SCENARIO)).map_err(failed)?;
    }
    for (name, content) in &lesson.files {
        let path = dir.join(name);
        std::fs::write(&path, content).map_err(|source| WriteError { path, source })?;
    }
    let program = std::env::current_exe().context("the path of this program")?;
    for (i, (run, Launch { ranks, args })) in lesson.runs.iter().zip(runs).enumerate() {
        eprintln!(
            "mpitorrent lesson: run {} of {} ({}), in {}: {} {} {}",
            i + 1,
            lesson.runs.len(),
            run.name,
            dir.display(),
            Mpi::linked().command_line(ranks),
            program.display(),
            args.join(" ")
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let launched = launch(dir, ranks, &program, &args, LIMIT).context("cannot start the run")?;
        match launched.code {
            // A run that ends incomplete (peers gave up) is still a lesson.
            Some(0 | 3) => {}
            _ if launched.timed_out => {
                return Err(anyhow!("run {} ({}) did not end within {} s", i + 1, run.name, LIMIT.as_secs()).into())
            }
            code => {
                let said: Vec<&str> = launched.stderr.lines().filter(|l| l.starts_with("mpitorrent")).take(5).collect();
                let code = code.map_or_else(|| "a signal".to_string(), |c| format!("exit code {c}"));
                return Err(anyhow!("run {} ({}) failed with {code}: {}", i + 1, run.name, said.join("; ")).into());
            }
        }
    }
    std::fs::write(dir.join(STAMP), stamp).map_err(failed)?;
    let logs = (0..lesson.runs.len()).map(|run| Log::read(&log_path(dir, run))).collect::<Result<Vec<Log>, LogError>>()?;
    eprintln!("mpitorrent lesson: the runs' logs are in {} (replay or export them)", dir.display());
    Ok(logs)
}

/// Checks the lesson against its scenario, made in `staging` from a `gen` recipe: every peer,
/// file and chunk it names, and each run's options and the files they name, as the run would
/// read them. Each run's ranks and arguments (in `dir`), and a digest of the scenario's inputs.
fn check(lesson: &Lesson, base: &Path, dir: &Path, staging: &Path) -> Result<(Vec<Launch>, u64), Error> {
    let (inputs, capacities) = scenario(lesson, base, staging)?;
    let Facts { peers, files, digest } = facts(&inputs)?;
    lesson.check(peers, &files)?;
    // Where the runs find the scenario: a generated one is moved into `dir` before they start.
    let (inputs, capacities) = match &lesson.scenario {
        Source::Gen(_) => {
            let name = |path: &Path| PathBuf::from(SCENARIO).join(path.file_name().expect("a file"));
            (PathBuf::from(SCENARIO), capacities.as_deref().map(name))
        }
        Source::Inputs { .. } => (inputs, None),
    };
    let runs = (0..lesson.runs.len())
        .map(|run| {
            Ok(Launch { ranks: peers + 1, args: run_args(lesson, run, base, dir, &inputs, capacities.as_deref(), peers)? })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok((runs, digest))
}

/// A run to start under mpirun: its ranks, the tracker's included, and its arguments.
struct Launch {
    ranks: u32,
    args: Vec<String>,
}

/// What a lesson's scenario holds: its peers, its files with their chunks, and a digest of its
/// inputs, which tells whether runs were made of the same scenario.
struct Facts {
    peers: u32,
    files: Vec<(String, u32)>,
    digest: u64,
}

/// The arguments of run `run`, which mpirun starts in `dir`: the lesson's folders and log, the
/// capacity file `gen` wrote unless the run names one, then the run's options, with the files
/// they name checked as the run would read them: one of the lesson's `[files]`, or a path
/// relative to the lesson file (made absolute).
fn run_args(
    lesson: &Lesson,
    run: usize,
    base: &Path,
    dir: &Path,
    inputs: &Path,
    capacities: Option<&Path>,
    peers: u32,
) -> Result<Vec<String>, Error> {
    let settings = lesson.settings(run)?;
    let line = lesson.runs[run].options.line;
    let wrong = |problem: String| InputError::new(&lesson.path, Some(line), format!("options: {problem}"));
    settings.faults.check(peers + 1).map_err(|Invalid(problem)| wrong(problem))?;
    let mut words = lesson.runs[run].options.words.clone();
    for flag in ["--capacities", "--faults"] {
        let Some((at, value)) = option_value(&words, flag) else { continue };
        let (text, shown) = match lesson.files.iter().find(|(name, _)| name == value) {
            Some((_, content)) => (content.clone(), value.to_string()),
            None => {
                let path = std::path::absolute(base.join(value)).unwrap_or_else(|_| base.join(value));
                let text = std::fs::read_to_string(&path).map_err(|e| wrong(format!("{flag} {value}: {e}")))?;
                words[at] = match words[at].starts_with(flag) {
                    true => format!("{flag}={}", path.display()),
                    false => path.display().to_string(),
                };
                (text, path.display().to_string())
            }
        };
        match flag {
            "--capacities" => drop(parse_capacities(&text, &shown, peers as usize, settings.upload_slots)?),
            _ => parse_faults(&text, &shown)?
                .check(peers + 1)
                .map_err(|Invalid(problem)| InputError::new(&shown, None, problem))?,
        }
    }
    let log = log_path(dir, run);
    let mut args: Vec<String> = vec![
        "--inputs".into(),
        inputs.display().to_string(),
        "--out".into(),
        format!("out{}", run + 1),
        "--record".into(),
        log.file_name().expect("a file").to_string_lossy().into_owned(),
    ];
    if let Some(file) = capacities.filter(|_| option_value(&words, "--capacities").is_none()) {
        args.extend(["--capacities".into(), file.display().to_string()]);
    }
    args.extend(words);
    Ok(args)
}

/// The lesson's scenario: made in `staging` from its `gen` recipe, or its folder of inputs. The
/// folder of the inputs, and the capacity file `gen` wrote beside them, if any.
fn scenario(lesson: &Lesson, base: &Path, staging: &Path) -> Result<(PathBuf, Option<PathBuf>), Error> {
    match &lesson.scenario {
        Source::Gen(recipe) => {
            let wrong = |problem: String| InputError::new(&lesson.path, Some(recipe.line), format!("gen: {problem}"));
            if option_value(&recipe.words, "--out").is_some() || recipe.words.iter().any(|w| w == "--out") {
                return Err(wrong("--out is set by the lesson itself".into()).into());
            }
            let out = staging.display().to_string();
            let words = recipe.words.iter().map(String::as_str).chain(["--out", &out]);
            let recipe = Recipe::try_parse_from(words).map_err(|e| wrong(clap_problem(&e)))?;
            let written = gen::write(&recipe.shape).map_err(|e| match e {
                Error::Invalid(Invalid(problem)) => wrong(problem).into(),
                other => other,
            })?;
            Ok((written.folder, written.capacities))
        }
        Source::Inputs { folder, line } => {
            let path = std::path::absolute(base.join(folder)).unwrap_or_else(|_| base.join(folder));
            if !path.join("in1.txt").is_file() {
                let problem = format!("inputs: {} holds no in1.txt", path.display());
                return Err(InputError::new(&lesson.path, Some(*line), problem).into());
            }
            Ok((path, None))
        }
    }
}

/// The facts of the scenario in `inputs`: a peer per `in<R>.txt`, from 1 on.
fn facts(inputs: &Path) -> Result<Facts, Error> {
    let mut files: Vec<(String, u32)> = Vec::new();
    let mut digest = std::collections::hash_map::DefaultHasher::new();
    let mut peers = 0;
    while input_path(inputs, peers + 1).is_file() {
        peers += 1;
        let path = input_path(inputs, peers);
        std::fs::read(&path).map_err(|source| WriteError { path: path.clone(), source })?.hash(&mut digest);
        for owned in read_peer_input(&path)?.owned {
            if !files.iter().any(|(name, _)| *name == owned.name) {
                files.push((owned.name, owned.hashes.len() as u32));
            }
        }
    }
    Ok(Facts { peers, files, digest: digest.finish() })
}

/// The lesson's captions as the dashboard shows them, each with the moment it comes at; those
/// that never came at the end of the runs.
fn story(lesson: &Lesson, logs: &[Log], cues: &[Cue]) -> Vec<(u64, Caption)> {
    let end = logs.iter().map(narration::end).max().unwrap_or(0);
    let names: Vec<&str> = logs[0].header.files.iter().map(|f| f.name.as_str()).collect();
    cues.iter()
        .enumerate()
        .map(|(number, cue)| {
            let caption = &lesson.captions[cue.caption];
            let when = match &cue.at {
                Ok(_) => narration::moment(caption, logs.len()),
                Err(why) => format!("{}: never came ({why})", narration::moment(caption, logs.len())),
            };
            let marks = Marks {
                peers: caption.peers.iter().map(|r| r.peer_index()).collect(),
                file: Lesson::file_of(caption, &names),
                chunks: caption.chunks.iter().map(|c| c.index()).collect(),
            };
            let view = caption.view.as_ref().and_then(|name| View::ALL.into_iter().find(|v| v.title().to_lowercase() == *name));
            let text = caption.text.clone();
            let shown = Caption { number: number + 1, count: cues.len(), when, text, marks, view, held: false };
            (*cue.at.as_ref().unwrap_or(&end), shown)
        })
        .collect()
}

/// Plays the lesson in the dashboard: one run as a replay, two side by side. `false` if a signal
/// ended it.
fn play(lesson: &Lesson, name: &str, dir: &Path, logs: Vec<Log>, cues: &[Cue], screen: Screen) -> Result<bool, Error> {
    let narration = Narration { story: story(lesson, &logs, cues), speed: lesson.speed };
    let theme = Theme::from_env();
    match <[Log; 2]>::try_from(logs) {
        Ok(two) => {
            let names = [lesson.runs[0].name.clone(), lesson.runs[1].name.clone()];
            Ok(tui::compare::run(&two, &names, &narration, screen, theme))
        }
        Err(_) => {
            let path = log_path(dir, 0);
            let shown = path.display().to_string();
            let file = std::fs::File::open(&path).map_err(|source| LogError::Open { path: shown.clone(), source })?;
            let reader = LogReader::new(std::io::BufReader::new(file), shown)?;
            Ok(tui::replay::run(reader, &format!("lesson {name}"), false, &narration, screen, theme))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::lesson::VIEWS;
    use crate::tui::view::compare::Sides;

    #[test]
    fn every_view_a_caption_may_name_is_a_view_of_the_dashboard() {
        let titles: Vec<String> = View::ALL.iter().map(|v| v.title().to_lowercase()).collect();
        let mut names: Vec<String> = VIEWS.iter().map(|v| v.to_string()).collect();
        names.sort();
        let mut sorted = titles.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(VIEWS[..3].iter().all(|v| Sides::of(View::ALL[titles.iter().position(|t| t == v).unwrap()]).is_some()));
    }
}
