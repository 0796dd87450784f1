//! The protocol's rules, checked against a recorded run (`verify --log`), each with the first
//! event that breaks it; and how the load was spread over the sources of each download.
//!
//! The log holds every rank's events, each rank's in the order it emitted them. From version 4 on
//! ([`CAUSAL`]) each event also comes after every event it follows from, and one rule checks that
//! in log order; older logs interleave the ranks as their batches arrived. So a rule about one
//! rank (what it held when it served) reads the log in order; a completion (the tracker's event)
//! is compared with the chunks' arrivals (the peer's) by their times, which on one machine come
//! from one clock; and a swarm list is checked against what its peers did anywhere in the log.

use crate::protocol::events::{Arrival, Event, Role, Stamped};
use crate::protocol::ids::{ChunkIdx, FileId, Rank};
use crate::protocol::strategy::PeerChoice;
use crate::record::log::{Log, CAUSAL};
use crate::scenario::header::RunHeader;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// The rules, in the order they are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    KnownNames,
    AfterStart,
    NoSelfService,
    HeldWhenServed,
    ServedUnchoked,
    NoChunkTwice,
    InOrder,
    CompleteAfterChunks,
    SwarmsAgree,
    StopAfterDone,
}

impl Rule {
    pub const ALL: [Rule; 10] = [
        Rule::KnownNames,
        Rule::AfterStart,
        Rule::NoSelfService,
        Rule::HeldWhenServed,
        Rule::ServedUnchoked,
        Rule::NoChunkTwice,
        Rule::InOrder,
        Rule::CompleteAfterChunks,
        Rule::SwarmsAgree,
        Rule::StopAfterDone,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            Rule::KnownNames => "every event names peers, files and chunks of the run",
            Rule::AfterStart => "nobody asks for, serves or receives a chunk before the tracker's start",
            Rule::NoSelfService => "no peer asks itself for a chunk or serves itself",
            Rule::HeldWhenServed => "an uploader holds every chunk it serves",
            Rule::ServedUnchoked => "an uploader serves only peers it unchoked; a free rider serves nobody",
            Rule::NoChunkTwice => "no peer receives a chunk it holds (end-game duplicates aside)",
            Rule::InOrder => "each event comes after what it follows from: every prefix is a state",
            Rule::CompleteAfterChunks => "a file is completed only after all of its chunks arrived",
            Rule::SwarmsAgree => "the tracker's swarms list only what peers reported",
            Rule::StopAfterDone => "the tracker stops the run only after every peer is done or left",
        }
    }

    /// Whether the rule needs the whole log: it compares ranks, and a log cut short may lack a
    /// rank's last events.
    fn needs_whole_log(self) -> bool {
        matches!(self, Rule::CompleteAfterChunks | Rule::SwarmsAgree | Rule::StopAfterDone)
    }
}

/// The first event that breaks a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Breach {
    pub rule: Rule,
    /// The event's line in the log (the header is line 1).
    pub line: usize,
    pub why: String,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.why)
    }
}

/// How one peer's download of one file was spread over its sources.
#[derive(Clone, Debug, PartialEq)]
pub struct Spread {
    pub peer: Rank,
    pub file: String,
    pub chunks: u64,
    pub sources: usize,
    /// The source that sent the most, and its share of the chunks.
    pub top: Rank,
    pub top_share: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Audit {
    /// The first breach of each rule broken, in the order of [`Rule::ALL`].
    pub breaches: Vec<Breach>,
    /// Why the rules that need the whole log were not checked, if they were not.
    pub not_whole: Option<String>,
    /// Why the log's order was not checked, if it was not: its version is older than [`CAUSAL`].
    pub unordered: Option<String>,
    /// End-game duplicates: allowed, and counted.
    pub duplicates: u64,
    pub spread: Vec<Spread>,
}

impl Audit {
    pub fn breach(&self, rule: Rule) -> Option<&Breach> {
        self.breaches.iter().find(|b| b.rule == rule)
    }

    /// A row per rule, then a row per download with its sources.
    pub fn table(&self) -> String {
        let mut text = String::from("rule                                                                      verdict\n");
        for rule in Rule::ALL {
            let verdict = match (self.breach(rule), &self.not_whole, &self.unordered) {
                (Some(b), _, _) => format!("BROKEN at {b}"),
                (None, Some(why), _) if rule.needs_whole_log() => format!("not checked: {why}"),
                (None, _, Some(why)) if rule == Rule::InOrder => format!("not checked: {why}"),
                (None, _, _) => "ok".to_string(),
            };
            text += &format!("{:<72}  {verdict}\n", rule.describe());
        }
        text += &format!("end-game duplicates: {}\n\n", self.duplicates);
        text += "client  file             chunks  sources  most from one source\n";
        for s in &self.spread {
            text += &format!(
                "{:<6}  {:<15}  {:>6}  {:>7}  {:.0}% from peer {}\n",
                s.peer.0,
                s.file,
                s.chunks,
                s.sources,
                s.top_share * 100.0,
                s.top.0
            );
        }
        text
    }
}

/// Checks every rule against the log's events; those comparing ranks only if the log is whole.
pub fn audit(log: &Log) -> Audit {
    let mut check = Checker::new(&log.header);
    check.ordered = log.version >= CAUSAL;
    for (index, stamped) in log.events.iter().enumerate() {
        check.event(index + 2, stamped);
    }
    let not_whole = match (&log.damage, &log.end) {
        (Some(damage), _) => Some(damage.clone()),
        (None, None) => Some("the log has no closing line (the run did not end cleanly)".to_string()),
        (None, Some(_)) => None,
    };
    let mut audit = check.finish(not_whole);
    if log.version < CAUSAL {
        audit.unordered = Some(format!("a version {} log holds the events as they reached rank 0", log.version));
    }
    audit
}

struct Checker<'a> {
    header: &'a RunHeader,
    started: bool,
    /// Chunks each peer received, of files it did not own, and when.
    received: HashMap<(Rank, FileId, ChunkIdx), u64>,
    /// Whether the log's order is checked: it is causal.
    ordered: bool,
    /// Uploads whose chunk has not arrived yet.
    on_the_way: HashMap<Arrival, u32>,
    /// Files each peer gave up, as (peer, file).
    abandoned: HashSet<(Rank, FileId)>,
    /// Whom each uploader unchokes now, as (uploader, downloader): with tit-for-tat, the only
    /// peers it may serve.
    unchoked: HashSet<(Rank, Rank)>,
    /// Chunks received per peer and file, by source.
    sources: BTreeMap<(Rank, FileId), BTreeMap<Rank, u64>>,
    /// Completions, as the tracker recorded them: line, time, peer, file.
    completions: Vec<(usize, u64, Rank, FileId)>,
    done: HashSet<Rank>,
    left: HashSet<Rank>,
    /// Swarm listings to check once the whole log is read: line, file, member, role.
    listed: Vec<(usize, FileId, Rank, Role)>,
    /// Whether the tracker's stop was seen.
    stopped: bool,
    /// The line of the last event read.
    last_line: usize,
    duplicates: u64,
    breaches: Vec<Breach>,
}

impl<'a> Checker<'a> {
    fn new(header: &'a RunHeader) -> Self {
        Checker {
            header,
            started: false,
            received: HashMap::new(),
            ordered: false,
            on_the_way: HashMap::new(),
            abandoned: HashSet::new(),
            unchoked: HashSet::new(),
            sources: BTreeMap::new(),
            completions: Vec::new(),
            done: HashSet::new(),
            left: HashSet::new(),
            listed: Vec::new(),
            stopped: false,
            last_line: 1,
            duplicates: 0,
            breaches: Vec::new(),
        }
    }

    /// Records a breach of `rule` unless an earlier one is known.
    fn breach(&mut self, rule: Rule, line: usize, why: String) {
        if self.breaches.iter().all(|b| b.rule != rule) {
            self.breaches.push(Breach { rule, line, why });
        }
    }

    /// What the event names that the run does not have, if anything.
    fn stranger(&self, event: &Event) -> Option<String> {
        let peers = self.header.peers;
        let (mut ranks, file, chunk) = match *event {
            Event::ChunkRequested { downloader, uploader, file, chunk }
            | Event::ChunkServed { uploader, downloader, file, chunk }
            | Event::ChunkNacked { downloader, uploader, file, chunk }
            | Event::ChunkReceived { downloader, uploader, file, chunk }
            | Event::ChunkRejected { downloader, uploader, file, chunk }
            | Event::ChunkDuplicate { downloader, uploader, file, chunk }
            | Event::ChunkTimedOut { downloader, uploader, file, chunk }
            | Event::ChunkChoked { downloader, uploader, file, chunk } => (vec![downloader, uploader], Some(file), Some(chunk)),
            Event::Unchoked { uploader, downloader, .. } | Event::Choked { uploader, downloader } => {
                (vec![uploader, downloader], None, None)
            }
            Event::FileCompleted { peer, file } | Event::FileAbandoned { peer, file } | Event::Waiting { peer, file, .. } => {
                (vec![peer], Some(file), None)
            }
            Event::PeerDone { peer } | Event::PeerLeft { peer } | Event::InterestsSent { peer, .. } => (vec![peer], None, None),
            Event::SwarmUpdated { file, ref members } => (members.iter().map(|m| m.peer).collect(), Some(file), None),
            _ => (vec![], None, None),
        };
        ranks.retain(|r| r.0 == 0 || r.0 > peers);
        if let Some(rank) = ranks.first() {
            return Some(format!("rank {rank} is not a peer: the run has peers 1 to {peers}"));
        }
        let spec = match file {
            Some(file) => match self.header.files.get(file.index()) {
                Some(spec) => spec,
                None => return Some(format!("file {} is not among the run's {} files", file.0, self.header.files.len())),
            },
            None => return None,
        };
        chunk.filter(|c| c.0 >= spec.chunks).map(|c| format!("chunk {} of {} is past its {} chunks", c.0, spec.name, spec.chunks))
    }

    fn owns(&self, peer: Rank, file: FileId) -> bool {
        peer != Rank::TRACKER && self.header.owned.get(peer.peer_index()).is_some_and(|owned| owned.contains(&file))
    }

    fn wants(&self, peer: Rank, file: FileId) -> bool {
        peer != Rank::TRACKER && self.header.wanted.get(peer.peer_index()).is_some_and(|wanted| wanted.contains(&file))
    }

    fn holds(&self, peer: Rank, file: FileId, chunk: ChunkIdx) -> bool {
        self.owns(peer, file) || self.received.contains_key(&(peer, file, chunk))
    }

    fn name(&self, file: FileId) -> &str {
        self.header.files.get(file.index()).map_or("?", |f| f.name.as_str())
    }

    fn event(&mut self, line: usize, stamped: &Stamped) {
        self.last_line = line;
        if let Some(stranger) = self.stranger(&stamped.event) {
            self.breach(Rule::KnownNames, line, stranger);
            return;
        }
        if self.ordered {
            self.in_order(line, &stamped.event);
        }
        match &stamped.event {
            Event::Started => self.started = true,
            Event::ChunkRequested { downloader, uploader, file, chunk }
            | Event::ChunkServed { uploader, downloader, file, chunk }
            | Event::ChunkReceived { downloader, uploader, file, chunk } => {
                let what = format!("{} of chunk {} of {}", kind(&stamped.event), chunk.0, self.name(*file));
                if !self.started {
                    self.breach(Rule::AfterStart, line, format!("{what}, before the start"));
                }
                if downloader == uploader {
                    self.breach(Rule::NoSelfService, line, format!("{what}, peer {downloader} to itself"));
                }
                match &stamped.event {
                    Event::ChunkServed { .. } => self.served(line, &what, (*uploader, *downloader, *file, *chunk)),
                    Event::ChunkReceived { .. } => {
                        self.received_chunk(line, stamped.at, what, (*uploader, *downloader, *file, *chunk))
                    }
                    _ => {}
                }
            }
            Event::ChunkDuplicate { .. } => self.duplicates += 1,
            Event::Unchoked { uploader, downloader, .. } => {
                self.unchoked.insert((*uploader, *downloader));
            }
            Event::Choked { uploader, downloader } => {
                self.unchoked.remove(&(*uploader, *downloader));
            }
            Event::FileCompleted { peer, file } => self.completions.push((line, stamped.at, *peer, *file)),
            Event::SwarmUpdated { file, members } => {
                for member in members {
                    if self.left.contains(&member.peer) {
                        let why = format!("the swarm of {} lists peer {}, which left", self.name(*file), member.peer);
                        self.breach(Rule::SwarmsAgree, line, why);
                    }
                    self.listed.push((line, *file, member.peer, member.role));
                }
            }
            Event::PeerDone { peer } => {
                self.done.insert(*peer);
            }
            Event::PeerLeft { peer } => {
                self.left.insert(*peer);
            }
            Event::Shutdown => {
                self.stopped = true;
                let missing: Vec<String> = (0..self.header.peers as usize)
                    .map(Rank::from_peer_index)
                    .filter(|p| !self.done.contains(p) && !self.left.contains(p))
                    .map(|p| p.to_string())
                    .collect();
                if !missing.is_empty() {
                    let why = format!("the stop, before peers {} were done", missing.join(", "));
                    self.breach(Rule::StopAfterDone, line, why);
                }
            }
            _ => {}
        }
    }

    /// What the event follows from must have come before it: an arrival's upload, a completion's
    /// chunks, a peer's end's files (each completed or given up).
    fn in_order(&mut self, line: usize, event: &Event) {
        if let Event::ChunkServed { uploader, downloader, file, chunk } = *event {
            *self.on_the_way.entry((uploader, downloader, file, chunk)).or_default() += 1;
        }
        if let Some(arrival @ (uploader, downloader, file, chunk)) = event.arrival() {
            match self.on_the_way.get_mut(&arrival) {
                Some(uploads) if *uploads > 0 => *uploads -= 1,
                _ => {
                    let why = format!(
                        "chunk {} of {} reached peer {downloader} before peer {uploader} sent it",
                        chunk.0,
                        self.name(file)
                    );
                    self.breach(Rule::InOrder, line, why);
                }
            }
        }
        match *event {
            Event::FileAbandoned { peer, file } => {
                self.abandoned.insert((peer, file));
            }
            Event::FileCompleted { peer, file } => {
                let chunks = self.header.files[file.index()].chunks;
                let held = (0..chunks).filter(|&c| self.holds(peer, file, ChunkIdx(c))).count();
                if held < chunks as usize {
                    let why = format!("peer {peer} completed {} holding {held} of its {chunks} chunks so far", self.name(file));
                    self.breach(Rule::InOrder, line, why);
                }
            }
            Event::PeerDone { peer } => {
                let wanted = self.header.wanted.get(peer.peer_index()).map_or(&[][..], Vec::as_slice);
                let completed = |file: FileId| self.completions.iter().any(|&(_, _, p, f)| (p, f) == (peer, file));
                if let Some(&open) = wanted.iter().find(|&&f| !completed(f) && !self.abandoned.contains(&(peer, f))) {
                    let why = format!("peer {peer} done before it completed or gave up {}", self.name(open));
                    self.breach(Rule::InOrder, line, why);
                }
            }
            _ => {}
        }
    }

    /// An upload: its uploader must hold the chunk, serve nobody if it rides free, and with
    /// tit-for-tat serve only a peer it unchoked (it says so before serving, and chokes only after).
    fn served(&mut self, line: usize, what: &str, (uploader, downloader, file, chunk): Arrival) {
        if !self.holds(uploader, file, chunk) {
            self.breach(Rule::HeldWhenServed, line, format!("{what} by peer {uploader}, which did not hold it"));
        }
        let tit_for_tat = self.header.options.strategy.peers == PeerChoice::TitForTat;
        if self.header.faults.freeride.contains(&uploader) {
            self.breach(Rule::ServedUnchoked, line, format!("{what} by peer {uploader}, a free rider"));
        } else if tit_for_tat && !self.unchoked.contains(&(uploader, downloader)) {
            self.breach(Rule::ServedUnchoked, line, format!("{what} by peer {uploader} to peer {downloader}, which it choked"));
        }
    }

    fn received_chunk(&mut self, line: usize, at: u64, what: String, (from, peer, file, chunk): Arrival) {
        if self.holds(peer, file, chunk) {
            self.breach(Rule::NoChunkTwice, line, format!("{what} by peer {peer}, which held it already"));
        }
        if !self.owns(peer, file) {
            self.received.insert((peer, file, chunk), at);
            *self.sources.entry((peer, file)).or_default().entry(from).or_default() += 1;
        }
    }

    /// The checks that need the whole log, unless it is not (`not_whole` says why), then the
    /// audit.
    fn finish(mut self, not_whole: Option<String>) -> Audit {
        if not_whole.is_some() {
            self.breaches.retain(|b| !b.rule.needs_whole_log());
            self.breaches.sort_by_key(|b| b.rule);
            let spread = self.spread();
            return Audit { breaches: self.breaches, not_whole, unordered: None, duplicates: self.duplicates, spread };
        }
        if !self.stopped {
            self.breach(Rule::StopAfterDone, self.last_line + 1, "the log closes without the tracker's stop".into());
        }
        let completed: HashSet<(Rank, FileId)> = self.completions.iter().map(|&(_, _, p, f)| (p, f)).collect();
        for (line, at, peer, file) in std::mem::take(&mut self.completions) {
            let chunks = self.header.files.get(file.index()).map_or(0, |f| f.chunks);
            let before = (0..chunks).filter(|&c| self.received.get(&(peer, file, ChunkIdx(c))).is_some_and(|&t| t <= at)).count();
            if before < chunks as usize {
                let why = format!("peer {peer} completed {} holding {before} of its {chunks} chunks", self.name(file));
                self.breach(Rule::CompleteAfterChunks, line, why);
            }
        }
        let received_any: HashSet<(Rank, FileId)> = self.received.keys().map(|&(p, f, _)| (p, f)).collect();
        for (line, file, peer, role) in std::mem::take(&mut self.listed) {
            let problem = match role {
                _ if !self.owns(peer, file) && !self.wants(peer, file) => Some("neither owns nor wants it"),
                Role::Seed if !self.owns(peer, file) && !completed.contains(&(peer, file)) => {
                    Some("as a seed, but it neither owns nor completed it")
                }
                Role::Peer if !self.owns(peer, file) && !received_any.contains(&(peer, file)) => {
                    Some("as holding chunks, but it never received one")
                }
                _ => None,
            };
            if let Some(problem) = problem {
                let why = format!("the swarm of {} lists peer {peer} {problem}", self.name(file));
                self.breach(Rule::SwarmsAgree, line, why);
            }
        }
        self.breaches.sort_by_key(|b| b.rule);
        let spread = self.spread();
        Audit { breaches: self.breaches, not_whole, unordered: None, duplicates: self.duplicates, spread }
    }

    /// Each download's sources: how many, and the largest share from one.
    fn spread(&self) -> Vec<Spread> {
        self.sources
            .iter()
            .map(|(&(peer, file), by_source)| {
                let chunks: u64 = by_source.values().sum();
                let (&top, &most) = by_source.iter().max_by_key(|(rank, n)| (**n, std::cmp::Reverse(**rank))).expect("a source");
                let file = self.name(file).to_string();
                Spread { peer, file, chunks, sources: by_source.len(), top, top_share: most as f64 / chunks as f64 }
            })
            .collect()
    }
}

fn kind(event: &Event) -> &'static str {
    match event {
        Event::ChunkRequested { .. } => "a request",
        Event::ChunkServed { .. } => "the upload",
        _ => "the receipt",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::events::Member;
    use crate::scenario::header::FileSpec;

    /// Peer 1 owns f (2 chunks); peers 2 and 3 want it.
    fn header() -> RunHeader {
        RunHeader {
            peers: 3,
            files: vec![FileSpec { name: "f".into(), chunks: 2 }],
            owned: vec![vec![FileId(0)], vec![], vec![]],
            wanted: vec![vec![], vec![FileId(0)], vec![FileId(0)]],
            options: Default::default(),
            capacities: vec![],
            faults: Default::default(),
        }
    }

    fn member(peer: u32, role: Role) -> Member {
        Member { peer: Rank(peer), role, uploads: 0 }
    }

    /// One chunk moving from `from` to `to`: the request, the upload, the receipt.
    fn transfer(from: u32, to: u32, chunk: u32) -> [Event; 3] {
        let (uploader, downloader, file, chunk) = (Rank(from), Rank(to), FileId(0), ChunkIdx(chunk));
        [
            Event::ChunkRequested { downloader, uploader, file, chunk },
            Event::ChunkServed { uploader, downloader, file, chunk },
            Event::ChunkReceived { downloader, uploader, file, chunk },
        ]
    }

    /// A run that keeps every rule: peer 2 gets both chunks from 1, then peer 3 one from each.
    fn run() -> Vec<Event> {
        let mut events = vec![
            Event::Started,
            Event::SwarmUpdated { file: FileId(0), members: vec![member(1, Role::Seed), member(2, Role::Leecher)] },
        ];
        events.extend(transfer(1, 2, 0));
        events.extend(transfer(1, 2, 1));
        events.push(Event::FileCompleted { peer: Rank(2), file: FileId(0) });
        events.push(Event::SwarmUpdated { file: FileId(0), members: vec![member(2, Role::Seed), member(3, Role::Leecher)] });
        events.extend(transfer(2, 3, 0));
        events.extend(transfer(1, 3, 1));
        events.push(Event::FileCompleted { peer: Rank(3), file: FileId(0) });
        events.extend((1..=3).map(|p| Event::PeerDone { peer: Rank(p) }));
        events.push(Event::Shutdown);
        events
    }

    /// The audit of a whole log of `events`, ten microseconds apart.
    fn audited(events: Vec<Event>) -> Audit {
        audited_in(header(), events)
    }

    /// [`audited`], of a run with `header`.
    fn audited_in(header: RunHeader, events: Vec<Event>) -> Audit {
        audit(&Log { header, ..log(events) })
    }

    /// A whole log of [`header`]'s run with `events`, ten microseconds apart.
    fn log(events: Vec<Event>) -> Log {
        let end = crate::record::log::End { at: events.len() as u64 * 10, events: events.len() as u64 };
        let events = events.into_iter().enumerate().map(|(i, event)| Stamped { at: i as u64 * 10, event }).collect();
        Log { version: crate::record::log::VERSION, header: header(), events, end: Some(end), damage: None }
    }

    /// The only breach of `events`, as rule, line and reason.
    fn breach(events: Vec<Event>) -> (Rule, usize, String) {
        breach_in(header(), events)
    }

    /// [`breach`], in a run with `header`.
    fn breach_in(header: RunHeader, events: Vec<Event>) -> (Rule, usize, String) {
        let audit = audited_in(header, events);
        let [breach] = &audit.breaches[..] else { panic!("one breach: {:?}", audit.breaches) };
        (breach.rule, breach.line, breach.why.clone())
    }

    /// [`header`] with tit-for-tat.
    fn tit_for_tat() -> RunHeader {
        let mut header = header();
        header.options.strategy.peers = PeerChoice::TitForTat;
        header
    }

    fn unchoked(uploader: u32, downloader: u32, optimistic: bool) -> Event {
        Event::Unchoked { uploader: Rank(uploader), downloader: Rank(downloader), optimistic }
    }

    /// [`run`] with choking: peer 1 unchokes 2, and 3 optimistically, and chokes 2 once it has
    /// both chunks; peer 2 unchokes 3 before serving it.
    fn choking_run() -> Vec<Event> {
        let mut events = run();
        events.insert(10, unchoked(2, 3, false));
        events.insert(8, Event::Choked { uploader: Rank(1), downloader: Rank(2) });
        events.splice(2..2, [unchoked(1, 2, false), unchoked(1, 3, true)]);
        events
    }

    #[test]
    fn a_run_that_keeps_the_rules_passes_and_its_spread_is_measured() {
        let audit = audited(run());
        assert_eq!(audit.breaches, []);
        let spread: Vec<_> = audit.spread.iter().map(|s| (s.peer.0, s.chunks, s.sources, s.top.0, s.top_share)).collect();
        assert_eq!(spread, [(2, 2, 1, 1, 1.0), (3, 2, 2, 1, 0.5)]);
        assert!(audit.table().contains("no peer receives a chunk it holds (end-game duplicates aside)             ok"));
    }

    #[test]
    fn each_broken_rule_names_its_first_event() {
        let mut early = run();
        early.swap(0, 2); // a request (line 2) before the start (now line 4)
        assert_eq!(breach(early), (Rule::AfterStart, 2, "a request of chunk 0 of f, before the start".into()));

        let mut itself = run();
        itself.insert(5, Event::ChunkRequested { downloader: Rank(2), uploader: Rank(2), file: FileId(0), chunk: ChunkIdx(1) });
        assert_eq!(breach(itself), (Rule::NoSelfService, 7, "a request of chunk 1 of f, peer 2 to itself".into()));

        let mut unheld = run();
        unheld.insert(3, Event::ChunkServed { uploader: Rank(3), downloader: Rank(2), file: FileId(0), chunk: ChunkIdx(0) });
        assert_eq!(
            breach(unheld),
            (Rule::HeldWhenServed, 5, "the upload of chunk 0 of f by peer 3, which did not hold it".into())
        );

        let mut twice = run();
        twice.splice(8..8, transfer(1, 2, 0).into_iter().skip(1));
        assert_eq!(
            breach(twice),
            (Rule::NoChunkTwice, 11, "the receipt of chunk 0 of f by peer 2, which held it already".into())
        );

        let mut soon = run();
        let completion = soon.remove(16);
        soon.insert(14, completion); // before its last chunk arrived
        let breaches: Vec<(Rule, usize, String)> = audited(soon).breaches.into_iter().map(|b| (b.rule, b.line, b.why)).collect();
        let (rules, why) = ([Rule::InOrder, Rule::CompleteAfterChunks], "peer 3 completed f holding 1 of its 2 chunks");
        assert_eq!(breaches, rules.map(|rule| (rule, 16, why.to_string() + if rule == Rule::InOrder { " so far" } else { "" })));

        let mut listed = run();
        listed[16] = Event::FileAbandoned { peer: Rank(3), file: FileId(0) }; // yet a swarm calls it a seed
        listed.push(Event::SwarmUpdated { file: FileId(0), members: vec![member(3, Role::Seed)] });
        let (rule, _, why) = breach(listed);
        assert_eq!(
            (rule, why.as_str()),
            (Rule::SwarmsAgree, "the swarm of f lists peer 3 as a seed, but it neither owns nor completed it")
        );

        let mut stopped = run();
        stopped.remove(19); // peer 3 never says it is done
        assert_eq!(breach(stopped), (Rule::StopAfterDone, 21, "the stop, before peers 3 were done".into()));
        let mut unstopped = run();
        unstopped.pop();
        assert_eq!(breach(unstopped), (Rule::StopAfterDone, 22, "the log closes without the tracker's stop".into()));

        let mut strangers = run();
        strangers.insert(3, Event::ChunkReceived { downloader: Rank(4), uploader: Rank(1), file: FileId(0), chunk: ChunkIdx(0) });
        strangers.insert(4, Event::ChunkServed { uploader: Rank(1), downloader: Rank(2), file: FileId(0), chunk: ChunkIdx(2) });
        let rank = (Rule::KnownNames, 5, "rank 4 is not a peer: the run has peers 1 to 3".to_string());
        assert_eq!(breach(strangers.clone()), rank);
        strangers.remove(3);
        assert_eq!(breach(strangers), (Rule::KnownNames, 5, "chunk 2 of f is past its 2 chunks".into()));
    }

    #[test]
    fn uploaders_serve_only_peers_they_unchoked_and_free_riders_nobody() {
        assert_eq!(audited_in(tit_for_tat(), choking_run()).breaches, []);
        assert_eq!(audited(choking_run()).breaches, [], "choke events are no breach in other runs");

        assert_eq!(
            breach_in(tit_for_tat(), run()),
            (Rule::ServedUnchoked, 5, "the upload of chunk 0 of f by peer 1 to peer 2, which it choked".into()),
            "a peer is choked until unchoked"
        );
        let mut after_choke = choking_run();
        after_choke
            .insert(11, Event::ChunkServed { uploader: Rank(1), downloader: Rank(2), file: FileId(0), chunk: ChunkIdx(1) });
        assert_eq!(
            breach_in(tit_for_tat(), after_choke),
            (Rule::ServedUnchoked, 13, "the upload of chunk 1 of f by peer 1 to peer 2, which it choked".into())
        );

        let mut free_rider = header();
        free_rider.faults.freeride = vec![Rank(2)];
        assert_eq!(
            breach_in(free_rider, run()),
            (Rule::ServedUnchoked, 13, "the upload of chunk 0 of f by peer 2, a free rider".into()),
            "whatever the peer choice"
        );

        let mut stranger = choking_run();
        stranger.insert(3, unchoked(1, 4, false));
        assert_eq!(breach(stranger), (Rule::KnownNames, 5, "rank 4 is not a peer: the run has peers 1 to 3".into()));
    }

    #[test]
    fn a_log_cut_short_leaves_the_rules_across_ranks_unchecked() {
        let mut events = run();
        events.truncate(17); // before the peers are done and the stop
        let events = events.into_iter().enumerate().map(|(i, event)| Stamped { at: i as u64 * 10, event }).collect();
        let audit = audit(&Log { version: crate::record::log::VERSION, header: header(), events, end: None, damage: None });
        assert_eq!(audit.breaches, []);
        let table = audit.table();
        assert_eq!(table.matches("not checked: the log has no closing line").count(), 3, "{table}");
        assert!(table.contains("no peer receives a chunk it holds (end-game duplicates aside)             ok"), "{table}");
    }

    #[test]
    fn in_a_causal_log_each_event_comes_after_what_it_follows_from() {
        let mut early = run();
        early.swap(3, 4); // peer 2's first chunk arrives before peer 1 sent it
        assert_eq!(breach(early.clone()), (Rule::InOrder, 5, "chunk 0 of f reached peer 2 before peer 1 sent it".into()));
        let old = Log { version: 3, ..log(early) };
        assert_eq!(audit(&old).breaches, [], "older logs hold the events as they came");
        assert!(audit(&old).table().contains("not checked: a version 3 log holds the events as they reached rank 0"));

        let mut done = run();
        let peer_done = done.remove(19);
        done.insert(15, peer_done);
        assert_eq!(breach(done), (Rule::InOrder, 17, "peer 3 done before it completed or gave up f".into()));

        let mut gave_up = run();
        gave_up.truncate(14); // peer 3 has one chunk, and gives the file up
        gave_up.push(Event::FileAbandoned { peer: Rank(3), file: FileId(0) });
        gave_up.extend((1..=3).map(|p| Event::PeerDone { peer: Rank(p) }));
        gave_up.push(Event::Shutdown);
        assert_eq!(audited(gave_up).breaches, []);
    }

    #[test]
    fn end_game_duplicates_are_counted_not_breaches() {
        let mut events = run();
        let (uploader, downloader, file, chunk) = (Rank(1), Rank(2), FileId(0), ChunkIdx(1));
        events.splice(
            9..9,
            [
                Event::ChunkServed { uploader, downloader, file, chunk },
                Event::ChunkDuplicate { downloader, uploader, file, chunk },
            ],
        );
        let audit = audited(events);
        assert_eq!((audit.breaches.len(), audit.duplicates), (0, 1));
    }
}
