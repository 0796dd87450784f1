//! Two runs side by side on one clock: each run's peers and piece map, both completion curves on
//! one chart, and how the runs differ.

use super::caption::{self, Caption, Marks, UNMARKED};
use super::pieces::{draw_map, Grid};
use super::{chart, clock, peers};
use crate::analysis::compare::Comparison;
use crate::analysis::model::SwarmModel;
use crate::analysis::narration::progress;
use crate::tui::app::View;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

/// Where the two runs are, and how they are played.
pub struct CompareStatus {
    pub position: u64,
    pub end: u64,
    pub speed: f64,
    pub playing: bool,
    /// The file whose piece maps are shown.
    pub file: usize,
    /// What each run's half shows.
    pub sides: Sides,
    /// In a lesson, the caption shown; the summary of the runs then waits for their end.
    pub caption: Option<Caption>,
}

/// What each run's half of the screen shows: its peers and its piece map, or one of them
/// alone (Tab chooses), for screens too short for both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sides {
    #[default]
    Both,
    Peers,
    Pieces,
}

impl Sides {
    pub fn next(self) -> Sides {
        match self {
            Sides::Both => Sides::Peers,
            Sides::Peers => Sides::Pieces,
            Sides::Pieces => Sides::Both,
        }
    }

    /// What shows the view a caption asks for, if two runs side by side can show it.
    pub fn of(view: View) -> Option<Sides> {
        match view {
            View::Overview => Some(Sides::Both),
            View::Peers => Some(Sides::Peers),
            View::Pieces => Some(Sides::Pieces),
            _ => None,
        }
    }
}

pub fn draw(frame: &mut Frame, models: [&SwarmModel; 2], comparison: &Comparison, status: &CompareStatus, theme: &Theme) {
    let differ: Vec<String> = comparison.options.iter().map(|(what, a, b)| format!("{what}: {a} → {b}")).collect();
    let mut notes = vec![Line::from(match differ.is_empty() {
        true => "the same options".to_string(),
        false => differ.join(" · "),
    })];
    if let Some(why) = &comparison.unlike {
        notes.push(Line::from(Span::styled(
            format!("other scenarios ({why}): shown side by side, peers not compared"),
            theme.warning(),
        )));
    }
    let area = frame.area();
    let caption_height = status.caption.as_ref().map_or(0, |c| caption::height(c, area.width).min(area.height / 3));
    let [header, sides, bottom, caption_area, footer] = Layout::vertical([
        Constraint::Length(notes.len() as u16 + 2),
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Length(caption_height),
        Constraint::Length(1),
    ])
    .areas(area);
    let state = if status.playing { "playing" } else { "paused" };
    let title = format!(
        " mpitorrent · A: {} against B: {} · {state} at {}x · {} / {} ",
        comparison.names[0],
        comparison.names[1],
        status.speed,
        clock(status.position),
        clock(status.end)
    );
    frame.render_widget(Paragraph::new(notes).block(Block::bordered().title(Span::styled(title, theme.title()))), header);
    let halves: [Rect; 2] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(sides);
    let marks = status.caption.as_ref().map_or(&UNMARKED, |c| &c.marks);
    for ((area, model), label) in halves.into_iter().zip(models).zip(["A", "B"]) {
        draw_side(frame, area, model, label, status, marks, theme);
    }
    let [curves, summary] = Layout::horizontal([Constraint::Percentage(60), Constraint::Fill(1)]).areas(bottom);
    let runs = [(models[0], theme.bar(), "A"), (models[1], theme.busy(), "B")];
    chart::draw_runs(frame, curves, &runs, theme);
    // A lesson keeps its ending for the end.
    let (lines, title) = match status.caption.is_some() && status.position < status.end {
        true => {
            (["A", "B"].iter().zip(models).map(|(label, m)| format!("{label}: {}", progress(m))).collect(), " The runs so far ")
        }
        false => (comparison.lines(false), " How the runs differ, at their end "),
    };
    let lines: Vec<Line> = lines.into_iter().map(Line::from).collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(Block::bordered().title(title)), summary);
    if let Some(caption) = &status.caption {
        caption::draw(frame, caption_area, caption, theme);
    }
    let keys = " space play · + - speed · ] [ 5 s · Home End · Tab peers, pieces · f F file · q quit";
    frame.render_widget(Paragraph::new(Span::styled(keys, theme.dim())), footer);
}

/// One run: its progress, its peers and the piece map of the file shown, or one of them.
fn draw_side(
    frame: &mut Frame,
    area: Rect,
    model: &SwarmModel,
    label: &str,
    status: &CompareStatus,
    marks: &Marks,
    theme: &Theme,
) {
    let file = status.file;
    let (got, wanted) = (model.chunks_delivered(), model.chunks_wanted().max(1));
    let title = format!(" {label} · {}% · round {} ", got * 100 / wanted, model.now / model.round_us());
    let [heading, rest] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    frame.render_widget(Paragraph::new(Span::styled(title, theme.title())), heading);
    let (table, map) = match status.sides {
        Sides::Both => {
            let peers_height = (model.peers.len() as u16 + 3).max(rest.height / 2);
            let [table, map] = Layout::vertical([Constraint::Max(peers_height), Constraint::Fill(1)]).areas(rest);
            (Some(table), Some(map))
        }
        Sides::Peers => (Some(rest), None),
        Sides::Pieces => (None, Some(rest)),
    };
    if let Some(table) = table {
        peers::draw(frame, table, model, None, true, marks, theme);
    }
    if let Some(map) = map {
        let chunk = marks.chunk().filter(|&(f, _)| f == file).map_or(0, |(_, chunk)| chunk);
        let grid = Grid::new(model, file, chunk, map.width);
        draw_map(frame, map, model, &grid, None, marks, theme);
    }
}
