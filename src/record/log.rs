//! The event log: what `--record` writes and `replay` reads. JSON lines: a header line with the
//! format's name and version and the run's header, one line per event, and a closing line when
//! the run ended cleanly.

use crate::protocol::events::Stamped;
use crate::scenario::header::RunHeader;
use crate::scenario::input::Invalid;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const FORMAT: &str = "mpitorrent-log";
/// The version written. Version 2 added the `Waiting` event, version 3 choking (`Unchoked`,
/// `Choked`, `ChunkChoked`, the `Choked` reason to wait, `--unchoke` and free riders); an older
/// log is the same format without them, and reads as ever. Version 4 writes the events in causal
/// order ([`CAUSAL`]).
pub const VERSION: u32 = 4;
/// The first version whose every prefix is a state the run could be in: an event comes after
/// every event it follows from (`protocol::tracker::holdback`). Older logs hold the events as
/// they reached rank 0.
pub const CAUSAL: u32 = 4;
/// The oldest version read.
pub const OLDEST: u32 = 1;

/// The first line: the format's name (`mpitorrent-log`) and version, and the run's header.
#[derive(Serialize, Deserialize, JsonSchema)]
struct HeaderLine {
    format: String,
    version: u32,
    header: RunHeader,
}

/// The closing line of a log whose run ended cleanly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct End {
    /// When the tracker stopped the peers, in microseconds since the start.
    pub at: u64,
    pub events: u64,
}

/// Every later line: an event and when it happened (microseconds since the start), or the
/// closing line.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
enum BodyLine {
    Event(Stamped),
    End { end: End },
}

/// The JSON Schema of every line of a log (`assets/log-schema.json`): the header on line 1,
/// then body lines; so another implementation can write logs that `replay`, `stats` and
/// `verify --log` read.
pub fn schema() -> String {
    let mut generator = schemars::SchemaGenerator::default();
    let (header, body) = (generator.subschema_for::<HeaderLine>(), generator.subschema_for::<BodyLine>());
    let schema = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "mpitorrent log line",
        "description": "A log is JSON lines: line 1 is the header, every later line an event or the closing line.",
        "oneOf": [header, body],
        "$defs": generator.take_definitions(true),
    });
    serde_json::to_string_pretty(&schema).expect("a schema serializes") + "\n"
}

/// A log that cannot be written or read; `path` is as the user named it.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{}: the log exists already; choose another name, or --force to overwrite it", .path.display())]
    Exists { path: PathBuf },
    #[error("{}: cannot create the log: {source}", .path.display())]
    Create { path: PathBuf, source: std::io::Error },
    #[error("{}: cannot write the log: {source}", .path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path}: cannot open the log: {source}")]
    Open { path: String, source: std::io::Error },
    #[error("{path}: cannot read the log: {source}")]
    Read { path: String, source: std::io::Error },
    /// Its first line is no header this program can read, or there is none.
    #[error("{path}{}: {problem}", .line.map_or(String::new(), |l| format!(":{l}")))]
    Header { path: String, line: Option<usize>, problem: String },
    #[error("{path}:1: damaged log header: {source}")]
    Damaged { path: String, source: serde_json::Error },
    #[error("{path}:1: damaged log header: {source}")]
    Inconsistent { path: String, source: Invalid },
}

/// Writes a log as the run goes: what came is flushed when the feed pauses, at most every
/// [`FLUSH_EVERY`], so another program can follow the log without a write per event.
pub struct Recorder {
    path: PathBuf,
    out: BufWriter<File>,
    events: u64,
    flushed: Instant,
    /// The file was there before (`--force`): it is emptied only when the run starts, and kept
    /// as it was if the run never does.
    existed: bool,
}

pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

impl Recorder {
    /// Creates the log; an existing file is refused unless `force`.
    pub fn create(path: &Path, force: bool) -> Result<Recorder, LogError> {
        let existed = force && path.exists();
        let mut options = std::fs::OpenOptions::new();
        options.write(true);
        if force {
            options.create(true);
        } else {
            options.create_new(true);
        }
        let path = path.to_owned();
        let file = match options.open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(LogError::Exists { path }),
            Err(source) => return Err(LogError::Create { path, source }),
        };
        let out = BufWriter::with_capacity(1 << 16, file);
        Ok(Recorder { path, out, events: 0, flushed: Instant::now(), existed })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the log of a run that never started, so nothing half-written is left (a file
    /// that was there before stays as it was).
    pub fn discard(self) {
        drop(self.out);
        if !self.existed {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    pub fn begin(&mut self, header: &RunHeader) -> std::io::Result<()> {
        self.out.get_ref().set_len(0)?;
        let line = HeaderLine { format: FORMAT.into(), version: VERSION, header: header.clone() };
        self.line(&line)?;
        self.out.flush()
    }

    pub fn event(&mut self, event: &Stamped) -> std::io::Result<()> {
        self.events += 1;
        self.line(event)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.flushed = Instant::now();
        self.out.flush()
    }

    /// Flushes if the last flush was long enough ago.
    pub fn flush_if_due(&mut self) -> std::io::Result<()> {
        if self.flushed.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the closing line of a run that ended cleanly at `at`.
    pub fn end(&mut self, at: u64) -> std::io::Result<()> {
        self.line(&BodyLine::End { end: End { at, events: self.events } })?;
        self.out.flush()
    }

    fn line(&mut self, value: &impl Serialize) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")
    }
}

/// A log read back.
#[derive(Debug)]
pub struct Log {
    /// The format version it was written in.
    pub version: u32,
    pub header: RunHeader,
    pub events: Vec<Stamped>,
    /// The closing line, if the run ended cleanly and the log is whole.
    pub end: Option<End>,
    /// Why reading stopped early, if it did: the events before it are still good.
    pub damage: Option<String>,
}

impl Log {
    pub fn read(path: &Path) -> Result<Log, LogError> {
        let shown = path.display();
        let file = File::open(path).map_err(|source| LogError::Open { path: shown.to_string(), source })?;
        let mut reader = LogReader::new(BufReader::new(file), shown.to_string())?;
        let mut events = Vec::new();
        reader.read_available(&mut events);
        let damage = reader.problem().or_else(|| {
            let expected = reader.end?.events;
            (expected != events.len() as u64)
                .then(|| format!("{shown}: its closing line counts {expected} events, but {} were read", events.len()))
        });
        Ok(Log { version: reader.version, header: reader.header, events, end: reader.end, damage })
    }
}

/// Reads a log line by line, also while it is still being written: an incomplete last line is
/// kept until the rest of it arrives.
pub struct LogReader<R> {
    source: R,
    shown: String,
    pub version: u32,
    pub header: RunHeader,
    /// Lines read so far.
    pub line: usize,
    pending: String,
    pub end: Option<End>,
    pub damage: Option<String>,
    events_read: usize,
}

impl<R: BufRead> LogReader<R> {
    /// Reads and checks the header line.
    pub fn new(mut source: R, shown: String) -> Result<LogReader<R>, LogError> {
        let mut first = String::new();
        if let Err(source) = source.read_line(&mut first) {
            return Err(LogError::Read { path: shown, source });
        }
        let refuse = |line, problem: String| LogError::Header { path: shown.clone(), line, problem };
        if first.trim().is_empty() {
            return Err(refuse(None, "empty; not an mpitorrent log".into()));
        }
        if !first.ends_with('\n') && first.starts_with('{') {
            return Err(refuse(Some(1), "the log ends in its header line (was the run cut short at its start?)".into()));
        }
        #[derive(Deserialize)]
        struct Version {
            format: String,
            version: u32,
        }
        let version: Version = serde_json::from_str(&first)
            .map_err(|_| refuse(Some(1), "not an mpitorrent log (its first line is not a log header)".into()))?;
        if version.format != FORMAT {
            return Err(refuse(Some(1), format!("a '{}' file, not an mpitorrent log", version.format)));
        }
        if !(OLDEST..=VERSION).contains(&version.version) {
            let problem = format!(
                "log format version {}, but this mpitorrent reads versions {OLDEST} to {VERSION}; use a matching mpitorrent",
                version.version
            );
            return Err(refuse(Some(1), problem));
        }
        let header: HeaderLine =
            serde_json::from_str(&first).map_err(|source| LogError::Damaged { path: shown.clone(), source })?;
        header.header.validate().map_err(|source| LogError::Inconsistent { path: shown.clone(), source })?;
        Ok(LogReader {
            source,
            shown,
            version: version.version,
            header: header.header,
            line: 1,
            pending: String::new(),
            end: None,
            damage: None,
            events_read: 0,
        })
    }

    /// Appends every complete event line available now to `events`; stops for good at a damaged
    /// line or after the closing line.
    pub fn read_available(&mut self, events: &mut Vec<Stamped>) {
        while self.damage.is_none() && self.end.is_none() {
            match self.source.read_line(&mut self.pending) {
                Ok(0) => return,
                Ok(_) if !self.pending.ends_with('\n') => return,
                Ok(_) => {}
                Err(e) => {
                    self.damage = Some(format!("{}:{}: cannot read: {e}", self.shown, self.line + 1));
                    return;
                }
            }
            self.line += 1;
            let text = std::mem::take(&mut self.pending);
            match serde_json::from_str::<BodyLine>(&text) {
                Ok(BodyLine::Event(event)) => {
                    self.events_read += 1;
                    events.push(event)
                }
                Ok(BodyLine::End { end }) => self.end = Some(end),
                Err(_) => {
                    self.damage = Some(format!(
                        "{}:{}: damaged line; replaying the {} events before it",
                        self.shown, self.line, self.events_read
                    ))
                }
            }
        }
    }

    /// What is wrong with a log read to its end: [`Self::problem`], or it lacks its closing line.
    pub fn unfinished(&self) -> Option<String> {
        self.problem().or_else(|| {
            self.end
                .is_none()
                .then(|| format!("{}: no closing line: its run did not end cleanly, or the log was cut short", self.shown))
        })
    }

    /// Whether an incomplete line is waiting for the rest of it.
    pub fn partial_line(&self) -> bool {
        !self.pending.is_empty()
    }

    /// What is wrong with the log as read so far, taking an incomplete last line as cut short:
    /// a damaged line, or the end in the middle of one.
    pub fn problem(&self) -> Option<String> {
        self.damage.clone().or_else(|| {
            self.partial_line().then(|| {
                format!("{}:{}: the log ends in the middle of this line (was the run cut short?)", self.shown, self.line + 1)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::events::Event;
    use crate::scenario::header::FileSpec;
    use crate::scenario::settings::Settings;

    fn header() -> RunHeader {
        RunHeader {
            peers: 1,
            files: vec![FileSpec { name: "f".into(), chunks: 2 }],
            owned: vec![vec![]],
            wanted: vec![vec![]],
            options: Settings::default().as_recorded(),
            capacities: vec![],
            faults: Default::default(),
        }
    }

    fn written(events: &[Stamped], end: Option<u64>) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.log");
        let mut recorder = Recorder::create(&path, false).unwrap();
        recorder.begin(&header()).unwrap();
        events.iter().for_each(|e| recorder.event(e).unwrap());
        if let Some(at) = end {
            recorder.end(at).unwrap();
        }
        recorder.flush().unwrap();
        std::fs::read_to_string(path).unwrap()
    }

    fn read(text: &str) -> Result<Log, LogError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        std::fs::write(&path, text).unwrap();
        let shown = path.display().to_string();
        Log::read(&path).map(|log| Log { damage: log.damage.map(|d| d.replace(&shown, "x.log")), ..log }).map_err(|e| match e {
            LogError::Header { line, problem, .. } => LogError::Header { path: "x.log".into(), line, problem },
            LogError::Damaged { source, .. } => LogError::Damaged { path: "x.log".into(), source },
            LogError::Inconsistent { source, .. } => LogError::Inconsistent { path: "x.log".into(), source },
            other => other,
        })
    }

    fn events() -> Vec<Stamped> {
        vec![Stamped { at: 0, event: Event::Started }, Stamped { at: 9, event: Event::Shutdown }]
    }

    #[test]
    fn the_shipped_sample_log_still_replays_whole() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.log");
        let log = Log::read(&path).unwrap();
        assert_eq!((log.damage.as_deref(), log.end.is_some()), (None, true));
        let model = log.model();
        assert_eq!(model.chunks_delivered(), model.chunks_wanted());
        assert!(model.peers.iter().all(|p| p.done));
    }

    /// `MPITORRENT_WRITE_SCHEMA=1 cargo test` rewrites the file after a deliberate change.
    #[test]
    fn the_schema_file_describes_the_logs_this_code_writes_and_reads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/log-schema.json");
        if std::env::var_os("MPITORRENT_WRITE_SCHEMA").is_some() {
            std::fs::write(&path, schema()).unwrap();
        }
        let file = std::fs::read_to_string(&path).unwrap();
        assert!(file == schema(), "{} is out of date: MPITORRENT_WRITE_SCHEMA=1 cargo test rewrites it", path.display());

        let validator = jsonschema::validator_for(&serde_json::from_str(&file).unwrap()).unwrap();
        let sample = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.log")).unwrap();
        let fresh = written(&events(), Some(9));
        let mut faulty = header();
        faulty.capacities = vec![crate::scenario::capacity::Capacity { upload_slots: 2, download_limit: Some(3) }];
        faulty.faults.leaves.push(crate::scenario::fault::Leave { peer: crate::protocol::ids::Rank(1), at_ms: 5 });
        faulty.faults.corrupt.push(crate::scenario::fault::Corrupt { peer: crate::protocol::ids::Rank(1), probability: 0.5 });
        let faulty = serde_json::to_string(&HeaderLine { format: FORMAT.into(), version: VERSION, header: faulty }).unwrap();
        for (name, log) in [("demo.log", sample.as_str()), ("a fresh log", fresh.as_str()), ("a header with faults", &faulty)] {
            for (at, line) in log.lines().enumerate() {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "{name}:{}: {errors:?}", at + 1);
            }
        }
        let wrong = serde_json::json!({"at": 5, "event": {"ChunkServed": {"uploader": 1}}});
        assert!(!validator.is_valid(&wrong), "an event missing its fields is refused");
    }

    #[test]
    fn a_log_reads_back_what_was_written() {
        let log = read(&written(&events(), Some(9))).unwrap();
        assert_eq!(log.header, header());
        assert_eq!(log.events, events());
        assert_eq!(log.end, Some(End { at: 9, events: 2 }));
        assert_eq!(log.damage, None);
    }

    #[test]
    fn an_existing_log_is_kept_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.log");
        std::fs::write(&path, "precious").unwrap();
        let refused = Recorder::create(&path, false).err().unwrap();
        assert!(
            refused.to_string().ends_with("the log exists already; choose another name, or --force to overwrite it"),
            "{refused}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
        Recorder::create(&path, true).unwrap().discard();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious", "a run that never started keeps it");
        Recorder::create(&path, true).unwrap().begin(&header()).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().starts_with("{\"format\""));
    }

    #[test]
    fn a_cut_or_damaged_log_gives_its_good_events_and_says_why() {
        let whole = written(&events(), None);
        let cut = &whole[..whole.len() - 5];
        let log = read(cut).unwrap();
        assert_eq!(log.events.len(), 1);
        assert_eq!(log.damage.as_deref(), Some("x.log:3: the log ends in the middle of this line (was the run cut short?)"));

        let damaged = whole.replacen("\"Shutdown\"", "\"Shut", 1);
        let log = read(&damaged).unwrap();
        assert_eq!(log.events.len(), 1);
        assert_eq!(log.damage.as_deref(), Some("x.log:3: damaged line; replaying the 1 events before it"));
    }

    #[test]
    fn a_log_missing_lines_says_so() {
        let whole = written(&events(), Some(9));
        let second = whole.lines().nth(1).unwrap();
        let log = read(&whole.replacen(&format!("{second}\n"), "", 1)).unwrap();
        assert_eq!(log.damage.as_deref(), Some("x.log: its closing line counts 2 events, but 1 were read"));
    }

    #[test]
    fn other_files_and_other_versions_are_refused() {
        assert_eq!(read("").unwrap_err().to_string(), "x.log: empty; not an mpitorrent log");
        assert_eq!(
            read("hello\n").unwrap_err().to_string(),
            "x.log:1: not an mpitorrent log (its first line is not a log header)"
        );
        let whole = written(&[], None);
        assert_eq!(
            read(&whole[..20]).unwrap_err().to_string(),
            "x.log:1: the log ends in its header line (was the run cut short at its start?)"
        );
        assert_eq!(
            read("{\"format\":\"other\",\"version\":1}\n").unwrap_err().to_string(),
            "x.log:1: a 'other' file, not an mpitorrent log"
        );
        let inconsistent = written(&[], None).replacen("\"peers\":1", "\"peers\":2", 1);
        assert_eq!(
            read(&inconsistent).unwrap_err().to_string(),
            "x.log:1: damaged log header: 2 peers, but owned files for 1 and wanted files for 1"
        );
        let future = written(&[], None).replacen("\"version\":4", "\"version\":99", 1);
        assert_eq!(
            read(&future).unwrap_err().to_string(),
            "x.log:1: log format version 99, but this mpitorrent reads versions 1 to 4; use a matching mpitorrent"
        );
        for version in ["1", "2", "3"] {
            let old = written(&events(), Some(9)).replacen("\"version\":4", &format!("\"version\":{version}"), 1);
            assert_eq!(read(&old).unwrap().events.len(), events().len(), "a version {version} log, without the newer events");
        }
    }

    #[test]
    fn a_log_being_written_is_read_as_its_lines_complete() {
        let whole = written(&events(), Some(9));
        let (first, rest) = whole.split_at(whole.find('\n').unwrap() + 1);
        let half = rest.find('\n').unwrap() / 2;
        // A source that grows: the reader sees the text only up to `visible`.
        let shared = std::rc::Rc::new(std::cell::RefCell::new(first.to_string()));
        struct Growing(std::rc::Rc<std::cell::RefCell<String>>, usize);
        impl std::io::Read for Growing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let text = self.0.borrow();
                let n = (text.len() - self.1).min(buf.len());
                buf[..n].copy_from_slice(&text.as_bytes()[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let mut reader = LogReader::new(BufReader::new(Growing(shared.clone(), 0)), "x".into()).unwrap();
        let mut got = Vec::new();
        reader.read_available(&mut got);
        assert!(got.is_empty() && !reader.partial_line());
        shared.borrow_mut().push_str(&rest[..half]);
        reader.read_available(&mut got);
        assert!(got.is_empty() && reader.partial_line(), "half a line waits");
        shared.borrow_mut().push_str(&rest[half..]);
        reader.read_available(&mut got);
        assert_eq!(got, events());
        assert_eq!(reader.end, Some(End { at: 9, events: 2 }));
    }
}
