//! A lesson: a scenario, one run of it or two with other options, and captions that stop the
//! replay at the moments that matter, with peers and chunks to look at. Written in TOML (see
//! `inputs/lessons/`); every mistake is named by the file and line it is on.

use crate::protocol::ids::{ChunkIdx, Rank};
use crate::scenario::input::{check_file_name, InputError, Invalid};
use crate::scenario::settings::Settings;
use clap::Parser;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

/// The lessons shipped with mpitorrent: their names and their text.
pub const SHIPPED: [(&str, &str); 4] = [
    ("rarest-first", include_str!("../../inputs/lessons/rarest-first.toml")),
    ("flash-crowd", include_str!("../../inputs/lessons/flash-crowd.toml")),
    ("seed-leaves", include_str!("../../inputs/lessons/seed-leaves.toml")),
    ("free-riders", include_str!("../../inputs/lessons/free-riders.toml")),
];

/// A lesson plays one run, or two side by side.
pub const MOST_RUNS: usize = 2;

/// The dashboard's views a caption may ask for, by name; two runs side by side show the first
/// three.
pub const VIEWS: [&str; 7] = ["overview", "peers", "pieces", "files", "time", "transfers", "matrix"];

/// Options a lesson sets itself: it chooses the folders of its runs, records them and shows them.
const SET_BY_THE_LESSON: [&str; 6] = ["--inputs", "--out", "--record", "--force", "--report", "--tui"];

/// What a lesson writes in its folder, which a file of its own may not be named.
pub const WRITTEN: [&str; 7] = ["lesson.stamp", "scenario", "scenario.new", "out1", "out2", "run1.log", "run2.log"];

/// The value `words` give the option `flag` (`--flag VALUE` or `--flag=VALUE`), and the index
/// of the word that holds it.
pub fn option_value<'a>(words: &'a [String], flag: &str) -> Option<(usize, &'a str)> {
    words.iter().enumerate().find_map(|(i, word)| match word.strip_prefix(flag) {
        Some("") => words.get(i + 1).map(|value| (i + 1, value.as_str())),
        Some(rest) => rest.strip_prefix('=').map(|value| (i, value)),
        None => None,
    })
}

#[derive(Clone, Debug, PartialEq)]
pub struct Lesson {
    /// The file, as errors name it.
    pub path: String,
    pub title: String,
    /// What the lesson shows, in a few sentences.
    pub about: String,
    pub scenario: Source,
    /// Playing speed, a multiple of real time.
    pub speed: Option<f64>,
    /// Files written beside the scenario before the runs, for options that read one
    /// (`--capacities`, `--faults`): name and text.
    pub files: Vec<(String, String)>,
    pub runs: Vec<Run>,
    pub captions: Vec<Caption>,
}

/// Where a lesson's scenario comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// The arguments of `mpitorrent gen`, without `--out`.
    Gen(Words),
    /// A folder of `in<R>.txt`, relative to the lesson file.
    Inputs { folder: String, line: usize },
}

/// Command-line words, and the line of the lesson that gives them.
#[derive(Clone, Debug, PartialEq)]
pub struct Words {
    pub words: Vec<String>,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub name: String,
    /// The options, as they would be typed after `mpitorrent`.
    pub options: Words,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Caption {
    pub at: Trigger,
    /// The run whose events trigger it: 0 or 1.
    pub run: usize,
    pub text: String,
    pub peers: Vec<Rank>,
    /// The file whose chunks are named: its name, or the first file.
    pub file: Option<String>,
    pub chunks: Vec<ChunkIdx>,
    /// The lines of its `peers`, `file` and `chunks` keys (its own line for those it lacks).
    pub lines: MarkLines,
    /// The view it shows (one of [`VIEWS`]), if it asks for one.
    pub view: Option<String>,
    pub line: usize,
}

/// Where a caption names its marks, for the errors about them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkLines {
    pub peers: usize,
    pub file: usize,
    pub chunks: usize,
}

/// When a caption is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Start,
    /// Microseconds since the start.
    Time(u64),
    Round(u64),
    /// The first chunk leaves an owner.
    FirstChunk,
    /// The peer has every file it wanted.
    Completes(Rank),
    /// Every peer has completed (or left).
    AllComplete,
    /// The run's round reaches its lower bound.
    Bound,
    /// The peer leaves, or any peer.
    Leaves(Option<Rank>),
    /// The peer gives up on a file, or any peer.
    GivesUp(Option<Rank>),
    /// The run's last event.
    End,
}

const TRIGGERS: &str = "start, time SECONDS, round N, first chunk, peer R completes, every peer completes, bound, \
                        peer R leaves, a peer leaves, peer R gives up, a peer gives up, end";

impl std::str::FromStr for Trigger {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Trigger, Invalid> {
        let rank = |r: &str| match r.parse::<u32>() {
            Ok(r) if r >= 1 => Ok(Rank(r)),
            _ => Err(Invalid(format!("'{r}' is not a peer's rank (1 or more)"))),
        };
        let words: Vec<&str> = text.split_whitespace().collect();
        Ok(match words[..] {
            ["start"] => Trigger::Start,
            ["end"] => Trigger::End,
            ["time", at] => Trigger::Time(parse_time(at)?),
            ["round", n] => Trigger::Round(n.parse().map_err(|_| Invalid(format!("'{n}' is not a round number")))?),
            ["first", "chunk"] => Trigger::FirstChunk,
            ["bound"] => Trigger::Bound,
            ["peer", r, "completes"] => Trigger::Completes(rank(r)?),
            ["every", "peer", "completes"] => Trigger::AllComplete,
            ["peer", r, "leaves"] => Trigger::Leaves(Some(rank(r)?)),
            ["a", "peer", "leaves"] => Trigger::Leaves(None),
            ["peer", r, "gives", "up"] => Trigger::GivesUp(Some(rank(r)?)),
            ["a", "peer", "gives", "up"] => Trigger::GivesUp(None),
            _ => return Err(Invalid(format!("'{text}' is not a moment of a run; give one of: {TRIGGERS}"))),
        })
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Start => write!(f, "start"),
            Trigger::Time(us) => write!(f, "time {}", *us as f64 / 1e6),
            Trigger::Round(n) => write!(f, "round {n}"),
            Trigger::FirstChunk => write!(f, "first chunk"),
            Trigger::Completes(r) => write!(f, "peer {} completes", r.0),
            Trigger::AllComplete => write!(f, "every peer completes"),
            Trigger::Bound => write!(f, "bound"),
            Trigger::Leaves(Some(r)) => write!(f, "peer {} leaves", r.0),
            Trigger::Leaves(None) => write!(f, "a peer leaves"),
            Trigger::GivesUp(Some(r)) => write!(f, "peer {} gives up", r.0),
            Trigger::GivesUp(None) => write!(f, "a peer gives up"),
            Trigger::End => write!(f, "end"),
        }
    }
}

impl Trigger {
    /// The peer it names, if any.
    fn peer(self) -> Option<Rank> {
        match self {
            Trigger::Completes(r) | Trigger::Leaves(Some(r)) | Trigger::GivesUp(Some(r)) => Some(r),
            _ => None,
        }
    }

    /// Whether it is something that happens in one run, rather than a moment of the clock.
    pub fn is_of_a_run(self) -> bool {
        !matches!(self, Trigger::Start | Trigger::Time(_) | Trigger::Round(_))
    }

    /// Whether it is counted in rounds, which only a run with a chunk time has.
    fn needs_rounds(self) -> bool {
        matches!(self, Trigger::Round(_) | Trigger::Bound)
    }
}

/// A moment of a run, `5.5` (seconds) or `1:02.5` (minutes and seconds), in microseconds.
pub fn parse_time(text: &str) -> Result<u64, Invalid> {
    let seconds = |t: &str| t.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0);
    let total = match text.split_once(':') {
        Some((minutes, rest)) => {
            minutes.trim().parse::<u32>().ok().zip(seconds(rest).filter(|s| *s < 60.0)).map(|(m, s)| f64::from(m) * 60.0 + s)
        }
        None => seconds(text),
    };
    total
        .map(|s| (s * 1e6).round() as u64)
        .ok_or_else(|| Invalid(format!("'{text}' is not a time: give seconds (5.5) or minutes and seconds (1:02.5)")))
}

/// The lesson file as TOML holds it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LessonFile {
    title: String,
    about: String,
    gen: Option<Spanned<String>>,
    inputs: Option<Spanned<String>>,
    speed: Option<Spanned<f64>>,
    #[serde(default)]
    files: BTreeMap<String, Spanned<String>>,
    #[serde(default, rename = "run")]
    runs: Vec<Spanned<RunFile>>,
    #[serde(default, rename = "caption")]
    captions: Vec<Spanned<CaptionFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunFile {
    name: String,
    #[serde(default)]
    options: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaptionFile {
    at: Spanned<String>,
    text: String,
    run: Option<Spanned<usize>>,
    peers: Option<Spanned<Vec<u32>>>,
    file: Option<Spanned<String>>,
    chunks: Option<Spanned<Vec<u32>>>,
    view: Option<Spanned<String>>,
}

/// The options of a run, read as the command line reads them.
#[derive(Parser)]
#[command(name = "mpitorrent", no_binary_name = true)]
struct Options {
    #[command(flatten)]
    settings: Settings,
}

/// The first line of clap's message, without its `error: ` prefix.
pub fn clap_problem(error: &clap::Error) -> String {
    let text = error.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

impl Lesson {
    /// Reads the lesson `text` of the file shown as `path`.
    pub fn parse(path: &str, text: &str) -> Result<Lesson, InputError> {
        let line = |at: usize| text[..at.min(text.len())].matches('\n').count() + 1;
        let wrong = |at: usize, problem: String| InputError::new(path, Some(line(at)), problem);
        let file: LessonFile = toml::from_str(text).map_err(|e| {
            let problem = e.message().trim_end().to_string();
            InputError::new(path, e.span().map(|s| line(s.start)), problem)
        })?;
        let words = |value: &Spanned<String>| Words {
            words: value.get_ref().split_whitespace().map(String::from).collect(),
            line: line(value.span().start),
        };
        let scenario = match (&file.gen, &file.inputs) {
            (Some(gen), None) => Source::Gen(words(gen)),
            (None, Some(inputs)) => Source::Inputs { folder: inputs.get_ref().clone(), line: line(inputs.span().start) },
            (Some(_), Some(inputs)) => {
                return Err(wrong(inputs.span().start, "a lesson's scenario is either `gen` or `inputs`, not both".into()))
            }
            (None, None) => {
                let problem = "no scenario: give `gen` (the arguments of `mpitorrent gen`) or `inputs` (a folder of in<R>.txt)";
                return Err(InputError::new(path, None, problem));
            }
        };
        if let Some(speed) = &file.speed {
            if !(0.1..=100.0).contains(speed.get_ref()) {
                return Err(wrong(speed.span().start, format!("speed {}: give 0.1 to 100 (times real time)", speed.get_ref())));
            }
        }
        let mut files = Vec::new();
        for (name, content) in &file.files {
            if check_file_name(name).is_err() {
                return Err(wrong(content.span().start, format!("'{name}' is not a plain file name")));
            }
            if WRITTEN.contains(&name.as_str()) {
                return Err(wrong(content.span().start, format!("'{name}' is a name the lesson writes itself")));
            }
            files.push((name.clone(), content.get_ref().clone()));
        }
        if file.runs.is_empty() || file.runs.len() > MOST_RUNS {
            let problem =
                format!("a lesson plays one run, or two side by side, as [[run]] tables; this one has {}", file.runs.len());
            return Err(InputError::new(path, file.runs.get(MOST_RUNS).map(|r| line(r.span().start)), problem));
        }
        let runs: Vec<Run> = file
            .runs
            .iter()
            .map(|run| {
                let at = run.span().start;
                let options = run.get_ref().options.as_ref().map_or(Words { words: Vec::new(), line: line(at) }, words);
                Run { name: run.get_ref().name.clone(), options }
            })
            .collect();
        let mut captions = Vec::new();
        for caption in &file.captions {
            let (c, at) = (caption.get_ref(), caption.span().start);
            let trigger = c.at.get_ref().parse::<Trigger>().map_err(|e| wrong(c.at.span().start, format!("at: {e}")))?;
            let run = match &c.run {
                None => 0,
                Some(run) if (1..=runs.len()).contains(run.get_ref()) => run.get_ref() - 1,
                Some(run) => {
                    let problem = format!("run {}: the lesson has runs 1 to {}", run.get_ref(), runs.len());
                    return Err(wrong(run.span().start, problem));
                }
            };
            if let Some(view) = &c.view {
                let shown = if runs.len() > 1 { &VIEWS[..3] } else { &VIEWS[..] };
                if !shown.contains(&view.get_ref().as_str()) {
                    let problem = format!("view '{}': give one of {}", view.get_ref(), shown.join(", "));
                    return Err(wrong(view.span().start, problem));
                }
            }
            captions.push(Caption {
                at: trigger,
                run,
                text: c.text.trim().to_string(),
                peers: c.peers.as_ref().map_or_else(Vec::new, |p| p.get_ref().iter().map(|&p| Rank(p)).collect()),
                file: c.file.as_ref().map(|f| f.get_ref().clone()),
                chunks: c.chunks.as_ref().map_or_else(Vec::new, |c| c.get_ref().iter().map(|&c| ChunkIdx(c)).collect()),
                lines: MarkLines {
                    peers: c.peers.as_ref().map_or(line(at), |p| line(p.span().start)),
                    file: c.file.as_ref().map_or(line(at), |f| line(f.span().start)),
                    chunks: c.chunks.as_ref().map_or(line(at), |c| line(c.span().start)),
                },
                view: c.view.as_ref().map(|v| v.get_ref().clone()),
                line: line(at),
            });
        }
        let lesson = Lesson {
            path: path.to_string(),
            title: file.title.trim().to_string(),
            about: file.about.trim().to_string(),
            scenario,
            speed: file.speed.map(|s| s.into_inner()),
            files,
            runs,
            captions,
        };
        // Settings are read now, so a wrong option is named before anything runs.
        for run in 0..lesson.runs.len() {
            lesson.settings(run)?;
        }
        Ok(lesson)
    }

    fn error(&self, line: usize, problem: impl Into<String>) -> InputError {
        InputError::new(&self.path, Some(line), problem)
    }

    /// The settings run `run` is given by its options (folders aside: the lesson sets those).
    pub fn settings(&self, run: usize) -> Result<Settings, InputError> {
        let options = &self.runs[run].options;
        if let Some(flag) =
            SET_BY_THE_LESSON.iter().find(|f| options.words.iter().any(|w| w == *f || w.starts_with(&format!("{f}="))))
        {
            return Err(self.error(options.line, format!("options: {flag} is set by the lesson itself")));
        }
        let settings = Options::try_parse_from(&options.words)
            .map_err(|e| self.error(options.line, format!("options: {}", clap_problem(&e))))?
            .settings;
        for caption in self.captions.iter().filter(|c| c.run == run && c.at.needs_rounds()) {
            if settings.chunk_time_ms == 0 {
                let problem = format!("at: {}: run {} has no chunk time (--chunk-time), so no rounds", caption.at, run + 1);
                return Err(self.error(caption.line, problem));
            }
        }
        Ok(settings)
    }

    /// Checks the peers, files and chunks the captions name against the scenario's `peers` and
    /// `files` (names and chunk counts).
    pub fn check(&self, peers: u32, files: &[(String, u32)]) -> Result<(), InputError> {
        for caption in &self.captions {
            let out_of_range = |r: &Rank| r.0 == 0 || r.0 > peers;
            let named = caption.peers.iter().find(|r| out_of_range(r)).map(|r| (*r, caption.lines.peers));
            let triggered = caption.at.peer().filter(out_of_range).map(|r| (r, caption.line));
            if let Some((rank, line)) = named.or(triggered) {
                return Err(self.error(line, format!("peer {}: the scenario has peers 1 to {peers}", rank.0)));
            }
            let (name, chunks) = match &caption.file {
                None if files.len() > 1 && !caption.chunks.is_empty() => {
                    let problem = format!("chunks: name their file (file = \"...\"); the scenario has {} files", files.len());
                    return Err(self.error(caption.lines.chunks, problem));
                }
                None => files.first().map(|(n, c)| (n.as_str(), *c)).unwrap_or(("", 0)),
                Some(name) => match files.iter().find(|(n, _)| n == name) {
                    Some((n, c)) => (n.as_str(), *c),
                    None => {
                        let known: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
                        let problem = format!("file '{name}': the scenario's files are {}", known.join(", "));
                        return Err(self.error(caption.lines.file, problem));
                    }
                },
            };
            if let Some(chunk) = caption.chunks.iter().find(|c| c.0 >= chunks) {
                let problem = format!("chunk {}: {name} has chunks 0 to {}", chunk.0, chunks.saturating_sub(1));
                return Err(self.error(caption.lines.chunks, problem));
            }
        }
        Ok(())
    }

    /// The index of the file whose chunks `caption` names, among `files` (checked already: a
    /// caption that names chunks of a scenario of several files names their file).
    pub fn file_of(caption: &Caption, files: &[impl AsRef<str>]) -> usize {
        caption.file.as_ref().and_then(|name| files.iter().position(|f| f.as_ref() == name)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LESSON: &str = r#"
title = "Two orders"
about = "One seed, two piece orders."
gen = "flash-crowd --peers 4 --chunks 10"
speed = 0.5

[files]
"caps.txt" = "1 2\n"

[[run]]
name = "sequential"
options = "--chunk-time 20 --capacities caps.txt"

[[run]]
name = "rarest"
options = "--chunk-time 20 --piece-order rarest"

[[caption]]
at = "start"
text = "  The seed is peer 1. "
peers = [1]

[[caption]]
at = "peer 3 completes"
run = 2
text = "Done."
chunks = [0, 9]
"#;

    fn parse(text: &str) -> Result<Lesson, InputError> {
        Lesson::parse("l.toml", text)
    }

    /// The problem of a lesson `text` that is wrong, as `file:line: problem`.
    fn problem(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn a_lesson_names_its_scenario_runs_and_captions() {
        let lesson = parse(LESSON).unwrap();
        assert_eq!((lesson.title.as_str(), lesson.speed), ("Two orders", Some(0.5)));
        assert_eq!(
            lesson.scenario,
            Source::Gen(Words {
                words: vec!["flash-crowd".into(), "--peers".into(), "4".into(), "--chunks".into(), "10".into()],
                line: 4
            })
        );
        assert_eq!(lesson.files, vec![("caps.txt".to_string(), "1 2\n".to_string())]);
        assert_eq!(lesson.runs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["sequential", "rarest"]);
        assert_eq!(lesson.runs[1].options.line, 16);
        assert_eq!(lesson.settings(1).unwrap().strategy.pieces, crate::protocol::strategy::PieceOrder::Rarest);
        let [start, done] = &lesson.captions[..] else { panic!("two captions") };
        assert_eq!(
            (start.at, start.run, start.text.as_str(), &start.peers[..], start.line),
            (Trigger::Start, 0, "The seed is peer 1.", &[Rank(1)][..], 18)
        );
        assert_eq!((done.at, done.run, &done.chunks[..]), (Trigger::Completes(Rank(3)), 1, &[ChunkIdx(0), ChunkIdx(9)][..]));
        lesson.check(4, &[("file1".into(), 10)]).unwrap();
    }

    #[test]
    fn every_trigger_reads_back_as_it_is_written() {
        for text in [
            "start",
            "time 1.5",
            "round 30",
            "first chunk",
            "peer 3 completes",
            "every peer completes",
            "bound",
            "peer 1 leaves",
            "a peer leaves",
            "peer 2 gives up",
            "a peer gives up",
            "end",
        ] {
            assert_eq!(text.parse::<Trigger>().unwrap().to_string(), text);
        }
        assert_eq!("time 1:02.5".parse::<Trigger>().unwrap(), Trigger::Time(62_500_000));
        assert!("peer 0 completes".parse::<Trigger>().unwrap_err().0.contains("not a peer's rank"));
        assert!("soon".parse::<Trigger>().unwrap_err().0.contains("give one of: start, time SECONDS"));
    }

    #[test]
    fn mistakes_are_named_with_the_file_and_line() {
        let with = |from: &str, to: &str| {
            assert!(LESSON.contains(from), "{from}");
            problem(&LESSON.replacen(from, to, 1))
        };
        assert_eq!(
            with("at = \"start\"", "at = \"soon\""),
            format!("l.toml:19: at: 'soon' is not a moment of a run; give one of: {TRIGGERS}")
        );
        assert_eq!(with("run = 2", "run = 3"), "l.toml:25: run 3: the lesson has runs 1 to 2");
        assert_eq!(
            with("--piece-order rarest", "--piece-order best"),
            "l.toml:16: options: invalid value 'best' for '--piece-order <PIECE_ORDER>'"
        );
        assert_eq!(with("--chunk-time 20 --piece", "--out x --piece"), "l.toml:16: options: --out is set by the lesson itself");
        assert_eq!(with("chunks = [0, 9]", "view = \"time\""), "l.toml:27: view 'time': give one of overview, peers, pieces");
        assert_eq!(with("speed = 0.5", "speed = 500.0"), "l.toml:5: speed 500: give 0.1 to 100 (times real time)");
        assert_eq!(
            with("text = \"Done.\"", "txt = \"Done.\""),
            "l.toml:26: unknown field `txt`, expected one of `at`, `text`, `run`, `peers`, `file`, `chunks`, `view`"
        );
        assert_eq!(
            with("gen = ", "inputs = \"x\"\ngen = "),
            "l.toml:4: a lesson's scenario is either `gen` or `inputs`, not both"
        );
        assert_eq!(with("\"caps.txt\"", "\"../caps.txt\""), "l.toml:8: '../caps.txt' is not a plain file name");
        assert!(with("title = \"Two orders\"", "title = \"Two orders").starts_with("l.toml:2: "), "a TOML syntax error");
        assert!(parse(&LESSON.replace("--chunk-time 20 --piece", "--piece")).is_ok(), "only rounds need a chunk time");
        let rounds = LESSON.replace("peer 3 completes", "bound").replace("--chunk-time 20 --piece", "--piece");
        assert_eq!(problem(&rounds), "l.toml:23: at: bound: run 2 has no chunk time (--chunk-time), so no rounds");
        let lesson = parse(LESSON).unwrap();
        assert_eq!(
            lesson.check(2, &[("file1".into(), 10)]).unwrap_err().to_string(),
            "l.toml:23: peer 3: the scenario has peers 1 to 2"
        );
        assert_eq!(
            lesson.check(4, &[("file1".into(), 5)]).unwrap_err().to_string(),
            "l.toml:27: chunk 9: file1 has chunks 0 to 4"
        );
        let named = LESSON.replace("chunks = [0, 9]", "file = \"file2\"\nchunks = [0]");
        assert_eq!(
            parse(&named).unwrap().check(4, &[("file1".into(), 10)]).unwrap_err().to_string(),
            "l.toml:27: file 'file2': the scenario's files are file1"
        );
        let two_files = [("file1".to_string(), 10), ("file2".to_string(), 10)];
        assert_eq!(
            lesson.check(4, &two_files).unwrap_err().to_string(),
            "l.toml:27: chunks: name their file (file = \"...\"); the scenario has 2 files"
        );
        let marked = LESSON.replace("peers = [1]", "peers = [1, 9]");
        assert_eq!(
            parse(&marked).unwrap().check(4, &[("file1".into(), 10)]).unwrap_err().to_string(),
            "l.toml:21: peer 9: the scenario has peers 1 to 4"
        );
        assert_eq!(with("\"caps.txt\"", "\"run1.log\""), "l.toml:8: 'run1.log' is a name the lesson writes itself");
        assert_eq!(
            with("--chunk-time 20 --piece", "--record=x.log --piece"),
            "l.toml:16: options: --record is set by the lesson itself"
        );
        assert_eq!(with("--chunk-time 20 --piece", "--tui --piece"), "l.toml:16: options: --tui is set by the lesson itself");
        let three = format!("{LESSON}\n[[run]]\nname = \"third\"\n");
        assert_eq!(problem(&three), "l.toml:29: a lesson plays one run, or two side by side, as [[run]] tables; this one has 3");
        assert_eq!(
            problem("title = \"t\"\nabout = \"a\"\n[[run]]\nname = \"r\"\n"),
            "l.toml: no scenario: give `gen` (the arguments of `mpitorrent gen`) or `inputs` (a folder of in<R>.txt)"
        );
    }

    #[test]
    fn an_option_value_is_found_after_its_flag_or_an_equals_sign() {
        let words: Vec<String> = ["--chunk-time", "20", "--faults=f.txt", "--capacities", "c.txt"].map(String::from).to_vec();
        assert_eq!(option_value(&words, "--capacities"), Some((4, "c.txt")));
        assert_eq!(option_value(&words, "--faults"), Some((2, "f.txt")));
        assert_eq!(option_value(&words, "--leave"), None);
        assert_eq!(option_value(&words[..4], "--capacities"), None, "a flag without its value");
    }

    #[test]
    fn the_shipped_lessons_read() {
        for (name, text) in SHIPPED {
            let lesson = Lesson::parse(name, text).unwrap_or_else(|e| panic!("{e}"));
            assert!(!lesson.captions.is_empty(), "{name}");
        }
    }
}
