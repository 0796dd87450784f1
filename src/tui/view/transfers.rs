//! The transfers view: the latest transfers, newest first.

use super::{clock, file_name, render_table};
use crate::analysis::model::SwarmModel;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Row;
use ratatui::Frame;

/// Transfers the list shows, newest first: more would cost every frame and scroll past use.
pub(super) const LATEST: usize = 200;

pub(super) fn draw(frame: &mut Frame, area: Rect, model: &SwarmModel, selected: Option<usize>, theme: &Theme) {
    let rows = model.transfers.iter().rev().take(LATEST).map(|t| {
        Row::new(vec![
            Line::from(clock(t.at)),
            Line::from(Span::styled(format!("{:>4} → {:<4}", t.uploader.0, t.downloader.0), theme.busy())),
            Line::from(format!("{} #{}", file_name(model, t.file), t.chunk.0)),
        ])
    });
    let header = Row::new(["Time", "From → to", "Chunk"]).style(theme.title());
    let widths = [Constraint::Length(10), Constraint::Length(13), Constraint::Fill(1)];
    render_table(frame, area, rows.collect(), header, &widths, " Latest transfers, newest first ", selected, theme);
}
