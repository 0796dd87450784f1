//! Two runs side by side on one clock: each run's peers and piece map, both completion curves on
//! one chart, and how the runs differ.

use super::pieces::{draw_map, Grid};
use super::{chart, clock, peers};
use crate::analysis::compare::Comparison;
use crate::analysis::model::SwarmModel;
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
    let [header, sides, bottom, footer] = Layout::vertical([
        Constraint::Length(notes.len() as u16 + 2),
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Length(1),
    ])
    .areas(frame.area());
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
    for ((area, model), label) in halves.into_iter().zip(models).zip(["A", "B"]) {
        draw_side(frame, area, model, label, status.file, theme);
    }
    let [curves, summary] = Layout::horizontal([Constraint::Percentage(60), Constraint::Fill(1)]).areas(bottom);
    let runs = [(models[0], theme.bar(), "A"), (models[1], theme.busy(), "B")];
    chart::draw_runs(frame, curves, &runs, theme);
    let lines: Vec<Line> = comparison.lines(false).into_iter().map(Line::from).collect();
    let summary_block = Block::bordered().title(" How the runs differ, at their end ");
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(summary_block), summary);
    let keys = " space play · + - speed · ] [ 5 s · Home End · f F file · q quit";
    frame.render_widget(Paragraph::new(Span::styled(keys, theme.dim())), footer);
}

/// One run: its progress, its peers and the piece map of the file shown.
fn draw_side(frame: &mut Frame, area: Rect, model: &SwarmModel, label: &str, file: usize, theme: &Theme) {
    let (got, wanted) = (model.chunks_delivered(), model.chunks_wanted().max(1));
    let title = format!(" {label} · {}% · round {} ", got * 100 / wanted, model.now / model.round_us());
    let peers_height = (model.peers.len() as u16 + 3).max(area.height / 2);
    let [heading, table, map] =
        Layout::vertical([Constraint::Length(1), Constraint::Max(peers_height), Constraint::Fill(1)]).areas(area);
    frame.render_widget(Paragraph::new(Span::styled(title, theme.title())), heading);
    peers::draw(frame, table, model, None, true, theme);
    let grid = Grid::new(model, file, 0, map.width);
    draw_map(frame, map, model, &grid, None, theme);
}
