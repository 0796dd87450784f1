//! The time-space view: a row per peer, time running right up to the moment shown, each transfer
//! a line from its uploader's row, when it began, to its downloader's, when it arrived.

use super::{clock, first_shown};
use crate::analysis::model::{SwarmModel, Transfer};
use crate::tui::app::{Target, Ui};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Line as Segment, Painter, Shape};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

/// Above this many transfers in sight, only the selected peer's are drawn as lines and the others
/// as their arrivals: a web of thousands of lines reads as noise, and costs the frame.
const LINES: usize = 1500;

/// Where the rank labels and the diagram go, inside the border, and the peers' rows: as many
/// screen lines a peer as fill the height, so that a few peers' transfers slant visibly.
fn split(area: Rect, model: &SwarmModel, ui: &Ui) -> ([Rect; 2], Rows) {
    let [labels, diagram] = Layout::horizontal([Constraint::Length(5), Constraint::Fill(1)]).areas(Block::bordered().inner(area));
    let lines = (diagram.height as usize / model.peers.len().max(1)).max(1);
    let rows = (diagram.height as usize / lines).min(model.peers.len().max(1));
    let height = (rows * lines) as u16;
    let rows = Rows { first: first_shown(Some(ui.selected), rows), rows, lines };
    ([Rect { height, ..labels }, Rect { height, ..diagram }], rows)
}

pub(super) fn draw(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, theme: &Theme) {
    let ([labels, diagram], rows) = split(area, model, ui);
    let shown = rows.first..(rows.first + rows.rows).min(model.peers.len());
    // A column a round (two braille dots, so a transfer of one chunk time slants by two), or up
    // to four when a peer's row is that many lines high, so that transfers slant as much; the
    // latest rounds in sight. Without a chunk time, the whole run so far.
    let width = u64::from(diagram.width.max(1));
    let per_round = rows.lines.min(4) as u64;
    let column = match model.header.options.chunk_time_ms {
        0 => model.now.div_ceil(width).max(1),
        ms => (ms * 1000 / per_round).max(1),
    };
    let end = model.now.max(column * width);
    let start = end - column * width;
    let round = model.header.options.chunk_time_ms * 1000;
    let sight = in_sight(&model.transfers, start.saturating_sub(round), end);
    let all_lines = sight.clone().take(LINES + 1).count() <= LINES;
    let selected = ui.selected;
    let colour = |style: Style| style.fg.unwrap_or(Color::Reset);
    let (plain, chosen, dim) = (colour(theme.bar()), colour(theme.busy()), colour(theme.dim()));
    let touches = |t: &&Transfer| [t.uploader, t.downloader].iter().any(|r| r.peer_index() == selected);
    let line = |t: &Transfer, colour| {
        let (up, down) = (rows.y(t.uploader.peer_index()), rows.y(t.downloader.peer_index()));
        Segment::new(t.at as f64 - round as f64, up, t.at as f64, down, colour)
    };
    let canvas =
        Canvas::default().marker(Marker::Braille).x_bounds([start as f64, end as f64]).y_bounds([0.0, rows.rows as f64]).paint(
            |ctx| {
                let others = sight.clone().filter(|t| !touches(t));
                if all_lines {
                    others.for_each(|t| ctx.draw(&line(t, plain)));
                } else {
                    ctx.draw(&Arrivals { transfers: others, rows, colour: dim });
                }
                ctx.layer();
                sight.clone().filter(touches).for_each(|t| ctx.draw(&line(t, chosen)));
            },
        );
    let unit = match (round, per_round) {
        (0, _) => format!("{} ms", (column / 1000).max(1)),
        (_, 1) => "round".into(),
        (_, n) => format!("1/{n} round"),
    };
    let lines = if all_lines { "" } else { " (others: arrivals as dots)" };
    let title = format!(
        " Time {}–{} · a column per {unit} · a line per transfer, uploader → downloader · the selected peer's bright{lines} ",
        clock(start),
        clock(end)
    );
    frame.render_widget(Block::bordered().title(title), area);
    let names: Vec<Line> = shown
        .clone()
        .flat_map(|peer| {
            let style = if peer == selected { theme.selected() } else { theme.dim() };
            (0..rows.lines).map(move |line| match line == rows.label_line() {
                true => Line::from(Span::styled(format!("{:>4}", peer + 1), style)),
                false => Line::default(),
            })
        })
        .collect();
    frame.render_widget(Paragraph::new(names), labels);
    frame.render_widget(canvas, diagram);
}

/// The transfers that arrived from `start` to `end`. They are kept in the order they were
/// applied, which is their time order but for the few rank 0 heard of late, so the search starts
/// a little early and filters.
fn in_sight(transfers: &[Transfer], start: u64, end: u64) -> impl Iterator<Item = &Transfer> + Clone {
    let from = transfers.partition_point(|t| t.at < start).saturating_sub(256);
    let to = (transfers.partition_point(|t| t.at <= end) + 256).min(transfers.len());
    transfers[from..to].iter().filter(move |t| (start..=end).contains(&t.at))
}

/// The peers' rows in sight: `rows` of them from the peer `first`, the first at the top, each
/// `lines` screen lines high and a unit of the canvas's height.
#[derive(Clone, Copy)]
struct Rows {
    first: usize,
    rows: usize,
    lines: usize,
}

impl Rows {
    fn y(&self, peer: usize) -> f64 {
        self.rows as f64 - (peer as f64 - self.first as f64) - (self.label_line() as f64 + 0.5) / self.lines as f64
    }

    /// The line of a peer's row that holds its label and where its transfers begin and end.
    fn label_line(&self) -> usize {
        (self.lines - 1) / 2
    }

    fn shows(&self, peer: usize) -> bool {
        (self.first..self.first + self.rows).contains(&peer)
    }
}

/// A dot where each transfer arrived, on its downloader's row: painted straight from the
/// transfers, since a run of thousands of chunks holds more than a hundred thousand.
struct Arrivals<'a, I: Iterator<Item = &'a Transfer> + Clone> {
    transfers: I,
    rows: Rows,
    colour: Color,
}

impl<'a, I: Iterator<Item = &'a Transfer> + Clone> Shape for Arrivals<'a, I> {
    fn draw(&self, painter: &mut Painter) {
        for t in self.transfers.clone().filter(|t| self.rows.shows(t.downloader.peer_index())) {
            if let Some((x, y)) = painter.get_point(t.at as f64, self.rows.y(t.downloader.peer_index())) {
                painter.paint(x, y, self.colour);
            }
        }
    }
}

/// A click on a row selects its peer.
pub(super) fn hit(area: Rect, model: &SwarmModel, ui: &Ui, row: u16) -> Option<Target> {
    let ([labels, _], rows) = split(area, model, ui);
    let line = row.checked_sub(labels.y).map(usize::from).filter(|&r| r < labels.height as usize)?;
    let peer = rows.first + line / rows.lines;
    (peer < model.peers.len()).then_some(Target::Row(peer))
}
