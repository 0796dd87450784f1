//! Two runs set side by side: whether they are of the same scenario (and if not, why not), the
//! options they differ in, and how their figures differ: makespan, ratio to the bound, fairness,
//! wall time, and, for runs of one scenario, when each peer finished.

use crate::analysis::model::{PeerView, SwarmModel};
use crate::scenario::header::RunHeader;
use serde_json::Value;
use std::fmt::Write;

/// Two runs compared.
pub struct Comparison {
    pub names: [String; 2],
    /// Why the runs are not of one scenario, if they are not: then peers are not compared.
    pub unlike: Option<String>,
    /// The options (and capacities, faults) that differ: what, and its value in each run.
    pub options: Vec<(String, String, String)>,
    pub figures: [Figures; 2],
    /// Per peer, how it ended in each run (runs of one scenario only).
    pub finishes: Vec<[Finish; 2]>,
}

/// How a peer's part of a run ended, as far as its log goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// It had everything it wanted, this many microseconds after the start.
    Done(u64),
    /// It gave up on a file.
    GaveUp,
    /// It left before it had everything.
    Left,
    /// Not yet done where the log ends.
    Going,
}

impl Finish {
    fn of(peer: &PeerView) -> Finish {
        match (peer.abandoned.is_empty(), peer.done_at, peer.left) {
            (false, ..) => Finish::GaveUp,
            (true, Some(at), _) => Finish::Done(at),
            (true, None, true) => Finish::Left,
            (true, None, false) => Finish::Going,
        }
    }

    fn text(self) -> String {
        match self {
            Finish::Done(at) => format!("{:.2}", at as f64 / 1e6),
            Finish::GaveUp => "gave up".into(),
            Finish::Left => "left".into(),
            Finish::Going => "-".into(),
        }
    }
}

/// A run's figures, as its report has them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figures {
    pub makespan_rounds: Option<f64>,
    pub bound_rounds: u64,
    pub ratio: Option<f64>,
    pub fairness: Option<f64>,
    pub wall_s: f64,
}

impl Figures {
    fn of(model: &SwarmModel) -> Figures {
        let report = model.report();
        let e = report.efficiency;
        Figures {
            makespan_rounds: e.makespan_rounds,
            bound_rounds: e.lower_bound_rounds,
            ratio: e.makespan_ratio,
            fairness: e.fairness,
            wall_s: report.wall_time_s,
        }
    }
}

pub fn compare(names: [&str; 2], models: [&SwarmModel; 2]) -> Comparison {
    let [a, b] = models.map(|m| &m.header);
    let unlike = unlike(a, b);
    let finishes = match unlike {
        Some(_) => Vec::new(),
        None => models[0].peers.iter().zip(&models[1].peers).map(|(x, y)| [Finish::of(x), Finish::of(y)]).collect(),
    };
    Comparison { names: names.map(String::from), unlike, options: differences(a, b), figures: models.map(Figures::of), finishes }
}

/// Why two runs are not of one scenario: other peers, files, owners or wants.
fn unlike(a: &RunHeader, b: &RunHeader) -> Option<String> {
    if a.peers != b.peers {
        return Some(format!("{} peers against {}", a.peers, b.peers));
    }
    if a.files != b.files {
        let show = |h: &RunHeader| h.files.iter().map(|f| format!("{} ({})", f.name, f.chunks)).collect::<Vec<_>>().join(", ");
        return Some(format!("other files: {} against {}", show(a), show(b)));
    }
    let peer = |lists: [&Vec<Vec<_>>; 2]| (0..a.peers as usize).find(|&p| lists[0][p] != lists[1][p]).map(|p| p + 1);
    if let Some(p) = peer([&a.owned, &b.owned]) {
        return Some(format!("peer {p} owns other files"));
    }
    peer([&a.wanted, &b.wanted]).map(|p| format!("peer {p} wants other files"))
}

/// The options, capacities and faults that differ, each by its name in the log's header.
fn differences(a: &RunHeader, b: &RunHeader) -> Vec<(String, String, String)> {
    let fields = |h: &RunHeader| {
        let mut fields = Vec::new();
        flatten("", &serde_json::to_value(&h.options).expect("settings are JSON"), &mut fields);
        // Capacities as every peer has them: a header lists them only when some peer's differ.
        let capacities: Vec<String> = (0..h.peers as usize)
            .map(|p| {
                let c = h.capacity(p);
                c.download_limit.map_or(c.upload_slots.to_string(), |limit| format!("{}/{limit}", c.upload_slots))
            })
            .collect();
        fields.push(("capacities (slots/limit per peer)".into(), capacities.join(" ")));
        let faults = h.faults.text().lines().collect::<Vec<_>>().join(", ");
        fields.push(("faults".into(), if faults.is_empty() { "none".into() } else { faults }));
        fields
    };
    let (x, y) = (fields(a), fields(b));
    let value = |fields: &[(String, String)], name: &str| {
        fields.iter().find(|(n, _)| n == name).map_or_else(|| "(none)".to_string(), |(_, v)| v.clone())
    };
    let known = |name: &String| x.iter().any(|(n, _)| n == name);
    let names = x.iter().map(|(n, _)| n.clone()).chain(y.iter().map(|(n, _)| n.clone()).filter(|n| !known(n)));
    names
        .map(|n| {
            let (a, b) = (value(&x, &n), value(&y, &n));
            (n, a, b)
        })
        .filter(|(_, a, b)| a != b)
        .collect()
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(&name, value, out);
            }
        }
        Value::String(text) => out.push((prefix.into(), text.clone())),
        other => out.push((prefix.into(), other.to_string())),
    }
}

/// A run's bound, `-` without a chunk time (it has no rounds).
fn bound(figures: &Figures) -> String {
    rounds(figures.makespan_rounds.map(|_| figures.bound_rounds as f64))
}

/// A number of rounds, `-` without a chunk time.
fn rounds(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.0} rnd"))
}

fn optional(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}

impl Comparison {
    /// The lines of the summary: the figures side by side, then, with `options`, the options
    /// that differ, then when each peer finished.
    pub fn lines(&self, options: bool) -> Vec<String> {
        let [a, b] = &self.figures;
        let row = |what: &str, x: String, y: String| format!("{what:<16}{x:>14}{y:>14}");
        let mut lines = vec![
            row("", "A".into(), "B".into()),
            row("makespan", rounds(a.makespan_rounds), rounds(b.makespan_rounds)),
            row("bound", bound(a), bound(b)),
            row("ratio to bound", optional(a.ratio, 2), optional(b.ratio, 2)),
            row("fairness", optional(a.fairness, 2), optional(b.fairness, 2)),
            row("wall time", format!("{:.2} s", a.wall_s), format!("{:.2} s", b.wall_s)),
        ];
        if options {
            lines.extend(self.options.iter().map(|(what, x, y)| format!("{what}: {x} against {y}")));
        }
        match &self.unlike {
            Some(why) => lines.push(format!("other scenarios ({why}): peers are not compared")),
            None => {
                for (i, [x, y]) in self.finishes.iter().enumerate() {
                    let delta = match (x, y) {
                        (Finish::Done(x), Finish::Done(y)) => format!("{:+.2} s", (*y as f64 - *x as f64) / 1e6),
                        _ => String::new(),
                    };
                    lines.push(format!("{:<16}{:>14}{:>14}  {delta}", format!("peer {} done", i + 1), x.text(), y.text()));
                }
            }
        }
        lines
    }

    /// The summary as text: which run is which, then [`Comparison::lines`] with the options.
    pub fn text(&self) -> String {
        let mut text = format!("A: {}\nB: {}\n", self.names[0], self.names[1]);
        for line in self.lines(true) {
            let _ = writeln!(text, "{}", line.trim_end());
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::events::{Event, Stamped};
    use crate::protocol::ids::{FileId, Rank};
    use crate::protocol::strategy::PieceOrder;
    use crate::scenario::header::FileSpec;
    use crate::scenario::settings::Settings;

    fn header(options: Settings) -> RunHeader {
        RunHeader {
            peers: 2,
            files: vec![FileSpec { name: "a".into(), chunks: 1 }],
            owned: vec![vec![FileId(0)], vec![]],
            wanted: vec![vec![], vec![FileId(0)]],
            options,
            capacities: vec![],
            faults: Default::default(),
        }
    }

    /// A run in which peer 2 is done at `done` microseconds.
    fn run(header: RunHeader, done: u64) -> SwarmModel {
        let mut model = SwarmModel::new(header);
        for (at, event) in
            [(done, Event::PeerDone { peer: Rank(1) }), (done, Event::PeerDone { peer: Rank(2) }), (done, Event::Shutdown)]
        {
            model.apply(&Stamped { at, event });
        }
        model
    }

    #[test]
    fn runs_of_one_scenario_differ_in_options_and_finish_times() {
        let mut rarest = Settings { chunk_time_ms: 10, ..Settings::default() };
        rarest.strategy.pieces = PieceOrder::Rarest;
        let a = run(header(Settings { chunk_time_ms: 10, ..Settings::default() }), 2_000_000);
        let b = run(header(rarest), 1_500_000);
        let comparison = compare(["a.log", "b.log"], [&a, &b]);
        assert_eq!(comparison.unlike, None);
        assert_eq!(comparison.options, [("strategy.pieces".to_string(), "sequential".to_string(), "rarest".to_string())]);
        assert_eq!(comparison.finishes[1], [Finish::Done(2_000_000), Finish::Done(1_500_000)]);
        let text = comparison.text();
        assert!(text.contains("strategy.pieces: sequential against rarest"), "{text}");
        assert!(text.contains("peer 2 done") && text.contains("-0.50 s"), "{text}");
        assert!(text.contains("makespan") && text.contains("200 rnd") && text.contains("150 rnd"), "{text}");
    }

    #[test]
    fn capacities_compare_as_every_peer_has_them() {
        use crate::scenario::capacity::Capacity;
        let listed = RunHeader { capacities: vec![Capacity::uniform(1); 2], ..header(Settings::default()) };
        let (a, b) = (run(header(Settings::default()), 1000), run(listed, 1000));
        assert!(compare(["a", "b"], [&a, &b]).options.is_empty(), "one slot each, listed or not");
        let wider = RunHeader {
            capacities: vec![Capacity::uniform(1), Capacity { upload_slots: 2, download_limit: Some(4) }],
            ..header(Settings::default())
        };
        let c = run(wider, 1000);
        assert_eq!(
            compare(["a", "c"], [&a, &c]).options,
            [("capacities (slots/limit per peer)".to_string(), "1 1".to_string(), "1 2/4".to_string())]
        );
    }

    #[test]
    fn faults_compare_as_a_faults_file_says_them_and_peers_that_gave_up_or_left_say_so() {
        use crate::scenario::fault::{Faults, Leave};
        let leaves = Faults { leaves: vec![Leave { peer: Rank(1), at_ms: 300 }], ..Faults::default() };
        let mut a = SwarmModel::new(RunHeader { faults: leaves, ..header(Settings::default()) });
        for (at, event) in [
            (500, Event::PeerLeft { peer: Rank(1) }),
            (900, Event::FileAbandoned { peer: Rank(2), file: FileId(0) }),
            (1000, Event::PeerDone { peer: Rank(2) }),
        ] {
            a.apply(&Stamped { at, event });
        }
        let b = run(header(Settings::default()), 1000);
        let comparison = compare(["a", "b"], [&a, &b]);
        assert_eq!(comparison.options, [("faults".to_string(), "leave 1@300".to_string(), "none".to_string())]);
        assert_eq!(comparison.finishes, [[Finish::Left, Finish::Done(1000)], [Finish::GaveUp, Finish::Done(1000)]]);
        let text = comparison.text();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
        assert!(rows.contains(&vec!["peer", "1", "done", "left", "0.00"]), "{text}");
        assert!(rows.contains(&vec!["peer", "2", "done", "gave", "up", "0.00"]), "{text}");
    }

    #[test]
    fn runs_of_other_scenarios_say_why_and_compare_no_peers() {
        let a = run(header(Settings::default()), 1000);
        let mut other = header(Settings::default());
        other.files[0].chunks = 2;
        let b = run(other, 1000);
        let comparison = compare(["a.log", "b.log"], [&a, &b]);
        assert_eq!(comparison.unlike.as_deref(), Some("other files: a (1) against a (2)"));
        assert!(comparison.finishes.is_empty());
        assert!(comparison.text().contains("other scenarios (other files: a (1) against a (2)): peers are not compared"));
    }
}
