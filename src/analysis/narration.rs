//! When a lesson's captions come in its runs, and the lesson told in text: each caption at its
//! moment with how far each run was then.

use crate::analysis::compare::compare;
use crate::analysis::efficiency::lower_bound;
use crate::analysis::model::SwarmModel;
use crate::protocol::events::{Event, Stamped};
use crate::protocol::ids::Rank;
use crate::record::log::Log;
use crate::scenario::lesson::{Caption, Lesson, Trigger};
use std::fmt::Write;

/// A caption of a lesson and when it comes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cue {
    /// Its index among the lesson's captions.
    pub caption: usize,
    /// Microseconds since the start; or why its moment never came (it is then shown at the end).
    pub at: Result<u64, String>,
}

/// The letter of run `run` on the screen: A, B.
pub fn letter(run: usize) -> char {
    (b'A' + run as u8) as char
}

/// Every caption of `lesson` and when it comes in `logs` (one per run), in the order they come:
/// by time, those that never come last, in the lesson's order among equals.
pub fn cues(lesson: &Lesson, logs: &[Log]) -> Vec<Cue> {
    // Moments of the clock are the runs' shared clock's, which runs to the longer run's end.
    let clock_end = logs.iter().map(end).max().unwrap_or(0);
    let mut cues: Vec<Cue> =
        lesson.captions.iter().enumerate().map(|(i, c)| Cue { caption: i, at: when(c.at, &logs[c.run], clock_end) }).collect();
    cues.sort_by_key(|cue| cue.at.as_ref().map_or(u64::MAX, |&at| at));
    cues
}

/// Each event with its time on the replay's clock: the latest time so far, since batches from
/// different peers are recorded a little out of order.
pub fn clocked(events: &[Stamped]) -> impl Iterator<Item = (u64, &Stamped)> {
    events.iter().scan(0, |latest, event| {
        *latest = event.at.max(*latest);
        Some((*latest, event))
    })
}

/// When the run `log` holds ends, on the replay's clock.
pub fn end(log: &Log) -> u64 {
    clocked(&log.events).last().map_or(0, |(at, _)| at)
}

/// The moment of `caption` in words, and for a lesson of two runs the run whose event it is.
pub fn moment(caption: &Caption, runs: usize) -> String {
    match runs > 1 && caption.at.is_of_a_run() {
        true => format!("{} in {}", caption.at, letter(caption.run)),
        false => caption.at.to_string(),
    }
}

/// When `trigger` happens in the run `log` holds, or why it never does; moments of the clock
/// come if the clock reaches them, by `clock_end`.
fn when(trigger: Trigger, log: &Log, clock_end: u64) -> Result<u64, String> {
    let first = |what: String, found: &dyn Fn(&Event) -> bool| {
        clocked(&log.events).find(|(_, e)| found(&e.event)).map(|(at, _)| at).ok_or(what)
    };
    let by = |at: Option<u64>, end: u64, what: String| match at.filter(|&at| at <= end) {
        Some(at) => Ok(at),
        None => Err(format!("the run ends at {:.2} s, before {what}", end as f64 / 1e6)),
    };
    // The peer named, or any: "peer 3 never left", "no peer left".
    let none = |peer: Option<Rank>, what: &str| peer.map_or(format!("no peer {what}"), |p| format!("peer {} never {what}", p.0));
    let round_us = log.header.options.chunk_time_ms * 1000;
    let header = &log.header;
    match trigger {
        Trigger::Start => Ok(0),
        Trigger::End => Ok(end(log)),
        Trigger::Time(at) => by(Some(at), clock_end, format!("{:.2} s", at as f64 / 1e6)),
        Trigger::Round(n) => by(n.checked_mul(round_us), clock_end, format!("round {n}")),
        Trigger::Bound => {
            let bound = lower_bound(&log.model());
            by(bound.checked_mul(round_us), end(log), format!("the bound (round {bound})"))
        }
        Trigger::FirstChunk => first("no chunk left an owner".into(), &|e| match e {
            Event::ChunkReceived { uploader, file, .. } => {
                header.owned.get(uploader.peer_index()).is_some_and(|o| o.contains(file))
            }
            _ => false,
        }),
        Trigger::Completes(peer) => {
            first_state(log, |model| complete(model, peer.peer_index())).ok_or_else(|| format!("peer {} never completed", peer.0))
        }
        Trigger::Leaves(peer) => {
            first(none(peer, "left"), &|e| matches!(e, Event::PeerLeft { peer: p } if peer.is_none_or(|r| r == *p)))
        }
        Trigger::GivesUp(peer) => {
            first(none(peer, "gave up"), &|e| matches!(e, Event::FileAbandoned { peer: p, .. } if peer.is_none_or(|r| r == *p)))
        }
        Trigger::AllComplete => first_state(log, |model| (0..model.peers.len()).all(|i| complete(model, i)))
            .ok_or_else(|| "not every peer completed".into()),
    }
}

/// The first moment of the run at which `holds` holds of the model.
fn first_state(log: &Log, holds: impl Fn(&SwarmModel) -> bool) -> Option<u64> {
    let mut model = SwarmModel::new(log.header.clone());
    clocked(&log.events)
        .find(|(_, e)| {
            model.apply(e);
            holds(&model)
        })
        .map(|(at, _)| at)
}

/// Whether the peer of `index` has completed: it holds every chunk it wanted and is done (or
/// left since). Both, since a log may hold a peer's last chunks after its completion; a seed
/// that leaves has completed, a downloader that leaves without its chunks has not.
fn complete(model: &SwarmModel, index: usize) -> bool {
    let peer = &model.peers[index];
    let files = &model.header.files;
    let holds_all = model.header.wanted[index].iter().zip(&peer.got).all(|(f, &got)| got == files[f.index()].chunks);
    holds_all && (peer.done || peer.left)
}

/// How far a run was at a moment: chunks delivered of those wanted, peers done of those that
/// want something, peers gone.
pub fn progress(model: &SwarmModel) -> String {
    let (got, wanted) = (model.chunks_delivered(), model.chunks_wanted());
    let wanting: Vec<usize> = (0..model.peers.len()).filter(|&i| !model.header.wanted[i].is_empty()).collect();
    let done = wanting.iter().filter(|&&i| complete(model, i)).count();
    let left = model.peers.iter().filter(|p| p.left).count();
    let gave_up = model.peers.iter().filter(|p| !p.abandoned.is_empty()).count();
    let mut text = format!("{got}/{wanted} chunks ({}%), {done}/{} peers done", got * 100 / wanted.max(1), wanting.len());
    for (count, what) in [(left, "left"), (gave_up, "gave up")] {
        if count > 0 {
            let _ = write!(text, ", {count} {what}");
        }
    }
    text
}

/// `text` in lines of at most `width` columns, each indented by `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(format!("{indent}{word}")),
        }
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The lesson told in text: its title, its runs, each caption in the order they come with its
/// moment and how far each run was then, and at the end how the runs compare (or the run's
/// summary).
pub fn text(lesson: &Lesson, logs: &[Log], cues: &[Cue]) -> String {
    let mut out = format!("{}\n{}", lesson.title, wrap(&lesson.about, 96, ""));
    for (i, run) in lesson.runs.iter().enumerate() {
        let _ = writeln!(out, "{}: {}", letter(i), run.name);
    }
    let mut models: Vec<SwarmModel> = logs.iter().map(|log| SwarmModel::new(log.header.clone())).collect();
    let mut applied = vec![0; logs.len()];
    let clock_end = logs.iter().map(end).max().unwrap_or(0);
    for (number, cue) in cues.iter().enumerate() {
        let caption = &lesson.captions[cue.caption];
        let at = *cue.at.as_ref().unwrap_or(&clock_end);
        for ((model, log), applied) in models.iter_mut().zip(logs).zip(&mut applied) {
            for (_, event) in clocked(&log.events).skip(*applied).take_while(|(t, _)| *t <= at) {
                model.apply(event);
                *applied += 1;
            }
        }
        let moment = match &cue.at {
            Ok(at) => {
                let round_us = logs[caption.run].header.options.chunk_time_ms * 1000;
                let round = at.checked_div(round_us).map_or(String::new(), |round| format!(", round {round}"));
                format!("at {:.2} s{round}: {}", *at as f64 / 1e6, moment(caption, logs.len()))
            }
            Err(why) => format!("never: {} ({why}); shown at the end", moment(caption, logs.len())),
        };
        let _ = writeln!(out, "\n{}/{} {moment}", number + 1, cues.len());
        out += &wrap(&caption.text, 96, "  ");
        let state: Vec<String> = models.iter().enumerate().map(|(i, m)| format!("{}: {}", letter(i), progress(m))).collect();
        let _ = writeln!(out, "  [{}]", state.join(" · "));
    }
    out.push('\n');
    match logs {
        [one] => out += &one.model().report().summary(),
        [a, b] => {
            out += &compare([&lesson.runs[0].name, &lesson.runs[1].name], [&a.model(), &b.model()]).text();
        }
        _ => {}
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model::tests::header;
    use crate::protocol::ids::{ChunkIdx, FileId, Rank};
    use crate::scenario::settings::Settings;

    fn log() -> Log {
        let mut header = header();
        header.options = Settings { chunk_time_ms: 10, ..Settings::default() };
        let received = |at, down, up, chunk| Stamped {
            at,
            event: Event::ChunkReceived { downloader: Rank(down), uploader: Rank(up), file: FileId(0), chunk: ChunkIdx(chunk) },
        };
        let event = |at, event| Stamped { at, event };
        let events = vec![
            event(0, Event::Started),
            received(10_000, 2, 1, 0),
            received(20_000, 3, 2, 0),
            received(15_000, 2, 1, 1), // recorded late: its time on the clock is 20 ms
            received(30_000, 3, 1, 1),
            received(40_000, 2, 3, 2),
            event(40_500, Event::PeerLeft { peer: Rank(1) }),
            event(41_000, Event::FileCompleted { peer: Rank(2), file: FileId(0) }),
            event(41_000, Event::PeerDone { peer: Rank(2) }),
            // Done before its last chunk, as batches from two ranks can be recorded.
            event(49_000, Event::PeerDone { peer: Rank(3) }),
            received(50_000, 3, 2, 2),
        ];
        Log { version: 3, header, events, end: None, damage: None }
    }

    fn lesson(captions: &[(&str, usize)]) -> Lesson {
        let mut text =
            "title = \"t\"\nabout = \"a\"\ngen = \"x\"\n[[run]]\nname = \"r\"\noptions = \"--chunk-time 10\"\n".to_string();
        for (at, _) in captions {
            text += &format!("[[caption]]\nat = \"{at}\"\ntext = \"about {at}\"\n");
        }
        let mut lesson = Lesson::parse("l.toml", &text).unwrap();
        for (caption, &(_, run)) in lesson.captions.iter_mut().zip(captions) {
            caption.run = run;
        }
        lesson
    }

    #[test]
    fn each_trigger_finds_its_moment_or_says_why_not() {
        let log = log();
        let at = |trigger: &str| when(trigger.parse().unwrap(), &log, end(&log));
        assert_eq!(at("start"), Ok(0));
        assert_eq!(at("first chunk"), Ok(10_000));
        assert_eq!(at("peer 2 completes"), Ok(41_000));
        assert_eq!(at("every peer completes"), Ok(50_000), "once its last chunk is in too");
        assert_eq!(at("peer 3 completes"), Ok(50_000));
        assert_eq!(at("peer 1 leaves"), Ok(40_500));
        assert_eq!(at("a peer leaves"), Ok(40_500));
        assert_eq!(at("round 3"), Ok(30_000));
        assert_eq!(at("time 0.02"), Ok(20_000));
        assert_eq!(at("end"), Ok(50_000));
        assert_eq!(at("bound"), Ok(40_000), "3 chunks, 3 peers: 3 - 1 + ⌈log₂ 3⌉ rounds");
        assert_eq!(at("peer 3 leaves"), Err("peer 3 never left".into()));
        assert_eq!(at("a peer gives up"), Err("no peer gave up".into()));
        assert_eq!(at("round 9"), Err("the run ends at 0.05 s, before round 9".into()));
        assert_eq!(at("time 1"), Err("the run ends at 0.05 s, before 1.00 s".into()));
        assert_eq!(at("round 18446744073709551615"), Err("the run ends at 0.05 s, before round 18446744073709551615".into()));
        let clock = |trigger: &str| when(trigger.parse().unwrap(), &log, 80_000);
        assert_eq!((clock("time 0.07"), clock("round 7")), (Ok(70_000), Ok(70_000)), "on the clock of a longer run");
        assert!(clock("bound").is_ok() && clock("end") == Ok(50_000), "events are the run's own");
    }

    #[test]
    fn a_downloader_that_leaves_without_its_chunks_never_completes() {
        let mut log = log();
        let left = log.events.iter().position(|e| matches!(e.event, Event::PeerLeft { .. })).unwrap();
        // The seed is done from the start; peer 3 leaves with two chunks of three, and nothing after.
        log.events[left].event = Event::PeerLeft { peer: Rank(3) };
        log.events.truncate(left + 3);
        log.events.insert(1, Stamped { at: 0, event: Event::PeerDone { peer: Rank(1) } });
        let at = |trigger: &str| when(trigger.parse().unwrap(), &log, end(&log));
        assert_eq!(at("every peer completes"), Err("not every peer completed".into()));
        assert_eq!(at("peer 2 completes"), Ok(41_000));
    }

    #[test]
    fn cues_come_in_time_order_and_the_text_tells_each_with_the_progress_then() {
        let lesson = lesson(&[("end", 0), ("a peer gives up", 0), ("peer 2 completes", 0), ("start", 0)]);
        let logs = [log()];
        let cues = cues(&lesson, &logs);
        let order: Vec<usize> = cues.iter().map(|c| c.caption).collect();
        assert_eq!(order, [3, 2, 0, 1], "by time, the one that never came last");
        let text = text(&lesson, &logs, &cues);
        assert!(
            text.starts_with(
                "t\na\nA: r\n\n1/4 at 0.00 s, round 0: start\n  about start\n  [A: 0/6 chunks (0%), 0/2 peers done]\n"
            ),
            "{text}"
        );
        assert!(text.contains("\n2/4 at 0.04 s, round 4: peer 2 completes\n  about peer 2 completes\n  [A: 5/6 chunks (83%), 1/2 peers done, 1 left]\n"), "{text}");
        assert!(text.contains("\n4/4 never: a peer gives up (no peer gave up); shown at the end\n"), "{text}");
        assert!(text.contains("[A: 6/6 chunks (100%), 2/2 peers done, 1 left]"), "{text}");
    }

    #[test]
    fn long_text_is_wrapped_at_word_boundaries() {
        assert_eq!(wrap("one two three four", 9, "  "), "  one two\n  three\n  four\n");
    }
}
