//! The upload matrix: chunks served by each uploader to each downloader.

use super::cells::heat;
use super::render_table;
use crate::analysis::model::SwarmModel;
use crate::tui::app::Ui;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Wrap};
use ratatui::Frame;

/// The matrix and, below it, what the selected uploader served.
fn split(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(area)
}

pub(super) fn table_area(area: Rect) -> Rect {
    split(area)[0]
}

pub(super) fn draw(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, theme: &Theme) {
    let [grid, detail] = split(area);
    let peers = model.peers.len();
    let room = grid.width.saturating_sub(9) as usize;
    // Counts when they fit, five columns a peer; one shaded cell a peer otherwise.
    let cell = if peers * 5 <= room { 5 } else { 1 };
    let columns = (room / cell).min(peers);
    let most = model.matrix.iter().flatten().copied().max().unwrap_or(0).max(1);
    let rows = model.matrix.iter().enumerate().map(|(up, row)| {
        let cells: String = match cell {
            1 => row[..columns].iter().map(|&n| heat(n, most)).collect(),
            _ => row[..columns].iter().map(|&n| if n == 0 { "    ·".to_string() } else { format!("{n:>5}") }).collect(),
        };
        Row::new(vec![Line::from(format!("{:>4}", up + 1)), Line::from(Span::styled(cells, theme.busy()))])
    });
    let labels: String = match cell {
        1 => (1..=columns).map(|d| char::from(b'0' + (d % 10) as u8)).collect(),
        _ => (1..=columns).map(|d| format!("{d:>5}")).collect(),
    };
    let header = Row::new(vec![Line::from("from"), Line::from(labels)]).style(theme.title());
    let widths = [Constraint::Length(4), Constraint::Fill(1)];
    let shading = if cell == 1 { "; darker is more, up to the busiest pair" } else { "" };
    let cut = if columns < peers { "; first columns only" } else { "" };
    let title = format!(" Chunks served, uploader (row) to downloader (column){shading}{cut} ");
    render_table(frame, grid, rows.collect(), header, &widths, &title, Some(ui.selected), theme);

    let row = model.matrix.get(ui.selected).map(|r| &r[..]).unwrap_or_default();
    let served: Vec<String> = row.iter().enumerate().filter(|(_, &n)| n > 0).map(|(d, n)| format!("→{}: {n}", d + 1)).collect();
    let block = Block::bordered().title(format!(" Peer {} served ", ui.selected + 1));
    let text = if served.is_empty() { "nothing yet".to_string() } else { served.join("  ") };
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }).block(block), detail);
}
