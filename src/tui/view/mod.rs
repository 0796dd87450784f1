//! The dashboard's drawing: a pure function of the state model, the viewer's state and the mode
//! (live or replay). Tables are built for every row and cut by ratatui to what fits, which keeps
//! a frame cheap (`cargo bench --bench dashboard` measures it).

pub mod caption;
mod cells;
mod chart;
pub mod compare;
mod files;
mod footer;
mod header;
mod help;
mod matrix;
mod overview;
mod peers;
mod pieces;
mod time;
mod transfers;

use crate::analysis::model::SwarmModel;
use crate::protocol::events::Role;
use crate::protocol::ids::FileId;
use crate::tui::app::{Command, Target, Ui, View};
use crate::tui::keys::Key;
use crate::tui::theme::Theme;
use caption::{Caption, Marks, UNMARKED};
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
    /// The log ends before its run did: it has no closing line, and is not followed.
    pub cut: bool,
    /// In a lesson, the caption shown.
    pub caption: Option<Caption>,
}

#[derive(Clone, Copy, Debug)]
pub enum Mode<'a> {
    Live,
    Replay(&'a ReplayStatus),
}

impl Mode<'_> {
    fn caption(&self) -> Option<&Caption> {
        match self {
            Mode::Live => None,
            Mode::Replay(replay) => replay.caption.as_ref(),
        }
    }

    /// What the caption shown marks.
    fn marks(&self) -> &Marks {
        self.caption().map_or(&UNMARKED, |c| &c.marks)
    }
}

/// Rows of the view `ui` shows, for moving the selection.
pub fn rows(model: &SwarmModel, ui: &Ui) -> usize {
    match ui.view {
        View::Overview | View::Peers | View::Time | View::Matrix => model.peers.len(),
        View::Pieces => pieces::mapped_peers(model, ui.file).count(),
        View::Files => model.files.len(),
        View::Transfers => model.transfers.len().min(transfers::LATEST),
    }
}

/// The screen's parts: header, the view, a lesson's caption (if any), footer.
fn areas(area: Rect, model: &SwarmModel, mode: Mode) -> [Rect; 4] {
    let footer_height = if matches!(mode, Mode::Replay(_)) { 3 } else { 1 };
    let faulty = !header::faults(model).is_empty();
    let header_height = 4 + 2 * u16::from(model.finished.is_some()) + u16::from(faulty);
    let caption_height = mode.caption().map_or(0, |c| caption::height(c, area.width).min(area.height / 3));
    Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Min(3),
        Constraint::Length(caption_height),
        Constraint::Length(footer_height),
    ])
    .areas(area)
}

pub fn draw(frame: &mut Frame, model: &SwarmModel, ui: &Ui, mode: Mode, theme: &Theme) {
    let [header, body, caption_area, footer] = areas(frame.area(), model, mode);
    header::draw(frame, header, model, ui, mode, &header::faults(model), theme);
    let marks = mode.marks();
    match ui.view {
        View::Overview => overview::draw(frame, body, model, ui, marks, theme),
        View::Peers => peers::draw(frame, body, model, Some(ui.selected), false, marks, theme),
        View::Files => files::draw(frame, body, model, ui, theme),
        View::Pieces => pieces::draw(frame, body, model, ui, marks, theme),
        View::Time => time::draw(frame, body, model, ui, theme),
        View::Transfers => transfers::draw(frame, body, model, Some(ui.selected), theme),
        View::Matrix => matrix::draw(frame, body, model, ui, theme),
    }
    if let Some(caption) = mode.caption() {
        caption::draw(frame, caption_area, caption, theme);
    }
    footer::draw(frame, footer, ui, mode, theme);
    if ui.help {
        help::draw(frame, mode, peers::chokes(model), theme);
    }
}

/// Applies a key to `ui`, a click where the screen of `area` drawn from `model` shows it.
pub fn press(ui: &mut Ui, key: Key, model: &SwarmModel, mode: Mode, area: Rect) -> Command {
    match key {
        Key::Click { column, row } if !ui.help => {
            if let Some(target) = hit(model, ui, mode, area, column, row) {
                ui.click(target);
            }
            Command::None
        }
        key => ui.key(key, rows(model, ui), model.files.len()),
    }
}

/// What the cell at `column`, `row` shows, if it is something to select.
pub fn hit(model: &SwarmModel, ui: &Ui, mode: Mode, area: Rect, column: u16, row: u16) -> Option<Target> {
    let [_, body, _, footer] = areas(area, model, mode);
    if row == footer.bottom() - 1 {
        return footer::tab_at(footer.x, column).map(Target::View);
    }
    if !body.contains((column, row).into()) {
        return None;
    }
    let rows = rows(model, ui);
    match ui.view {
        View::Overview => overview::hit(body, model, ui, column, row),
        View::Pieces => pieces::hit(body, model, ui, column, row),
        View::Time => time::hit(body, model, ui, row),
        View::Files => table_row(files::table_area(body), ui.selected, rows, row).map(Target::Row),
        View::Matrix => table_row(matrix::table_area(body), ui.selected, rows, row).map(Target::Row),
        View::Peers | View::Transfers => table_row(body, ui.selected, rows, row).map(Target::Row),
    }
}

/// The first row a bordered table with a header line shows, for `selected` to be seen among the
/// `visible` rows: as ratatui scrolls from the top.
fn first_shown(selected: Option<usize>, visible: usize) -> usize {
    selected.map_or(0, |s| s.saturating_sub(visible.saturating_sub(1)))
}

/// Rows a bordered table with a header line shows in `area`.
fn visible_rows(area: Rect) -> usize {
    area.height.saturating_sub(3) as usize
}

/// The row of the table drawn by [`render_table`] in `area` at screen row `y`, if any.
fn table_row(area: Rect, selected: usize, rows: usize, y: u16) -> Option<usize> {
    let top = area.y + 2;
    let shown = y.checked_sub(top).map(usize::from).filter(|&i| i < visible_rows(area))?;
    Some(first_shown(Some(selected), visible_rows(area)) + shown).filter(|&r| r < rows)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn render_table(
    frame: &mut Frame,
    area: Rect,
    rows: Vec<Row>,
    header: Row,
    widths: &[Constraint],
    title: &str,
    selected: Option<usize>,
    theme: &Theme,
) {
    let table = Table::new(rows, widths.iter().copied())
        .header(header)
        .block(Block::bordered().title(title.to_string()))
        .row_highlight_style(theme.selected());
    let mut state = TableState::default().with_offset(first_shown(selected, visible_rows(area))).with_selected(selected);
    frame.render_stateful_widget(table, area, &mut state);
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
