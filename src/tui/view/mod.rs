//! The dashboard's drawing: a pure function of the state model, the viewer's state and the mode
//! (live or replay). Tables are built for every row and cut by ratatui to what fits, which keeps
//! a frame cheap (`cargo bench --bench dashboard` measures it).

mod cells;
mod files;
mod footer;
mod header;
mod help;
mod matrix;
mod peers;
mod pieces;
mod transfers;

use crate::analysis::model::SwarmModel;
use crate::protocol::events::Role;
use crate::protocol::ids::FileId;
use crate::tui::app::{Ui, View};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Row, Table, TableState};
use ratatui::Frame;

/// What a replay adds to the screen: where it is, how fast it goes.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayStatus {
    pub name: String,
    /// The time shown, in microseconds since the start.
    pub position: u64,
    /// The time of the last event known.
    pub end: u64,
    pub speed: f64,
    pub playing: bool,
    /// Times of markers (files completed, peers done) for the timeline.
    pub markers: Vec<u64>,
    pub following: bool,
    /// Events shown, and events known.
    pub events: (usize, usize),
    /// What is wrong with the log, if anything.
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug)]
pub enum Mode<'a> {
    Live,
    Replay(&'a ReplayStatus),
}

/// Rows of the view `ui` shows, for moving the selection.
pub fn rows(model: &SwarmModel, ui: &Ui) -> usize {
    match ui.view {
        View::Peers | View::Matrix => model.peers.len(),
        View::Pieces => pieces::mapped_peers(model, ui.file).count(),
        View::Files => model.files.len(),
        View::Transfers => model.feed.len(),
    }
}

pub fn draw(frame: &mut Frame, model: &SwarmModel, ui: &Ui, mode: Mode, theme: &Theme) {
    let footer_height = if matches!(mode, Mode::Replay(_)) { 3 } else { 1 };
    let faults = header::faults(model);
    let header_height = 4 + 2 * u16::from(model.finished.is_some()) + u16::from(!faults.is_empty());
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(header_height), Constraint::Min(3), Constraint::Length(footer_height)])
            .areas(frame.area());
    header::draw(frame, header, model, ui, mode, &faults, theme);
    match ui.view {
        View::Peers => peers::draw(frame, body, model, ui, theme),
        View::Files => files::draw(frame, body, model, ui, theme),
        View::Pieces => pieces::draw(frame, body, model, ui, theme),
        View::Transfers => transfers::draw(frame, body, model, ui, theme),
        View::Matrix => matrix::draw(frame, body, model, ui, theme),
    }
    footer::draw(frame, footer, ui, mode, theme);
    if ui.help {
        help::draw(frame, mode, theme);
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn render_table(
    frame: &mut Frame,
    area: Rect,
    rows: Vec<Row>,
    header: Row,
    widths: &[Constraint],
    title: &str,
    selected: usize,
    theme: &Theme,
) {
    let table = Table::new(rows, widths.iter().copied())
        .header(header)
        .block(Block::bordered().title(title.to_string()))
        .row_highlight_style(theme.selected());
    frame.render_stateful_widget(table, area, &mut TableState::default().with_selected(Some(selected)));
}

pub(super) fn role_letter(role: Role) -> char {
    match role {
        Role::Seed => 'S',
        Role::Peer => 'P',
        Role::Leecher => 'L',
    }
}

pub(super) fn role_style(role: Role, theme: &Theme) -> ratatui::style::Style {
    match role {
        Role::Seed => theme.seed(),
        Role::Peer => theme.peer(),
        Role::Leecher => theme.leecher(),
    }
}

pub(super) fn file_name(model: &SwarmModel, file: FileId) -> &str {
    model.header.files.get(file.index()).map_or("?", |f| f.name.as_str())
}

/// `m:ss.s` for a time in microseconds.
pub fn clock(us: u64) -> String {
    let tenths = us / 100_000;
    format!("{}:{:02}.{}", tenths / 600, tenths / 10 % 60, tenths % 10)
}

#[cfg(test)]
mod tests {
    #[test]
    fn clock_shows_minutes_seconds_and_tenths() {
        assert_eq!(super::clock(61_234_567), "1:01.2");
    }
}
