//! The transfers view: the latest transfers, newest first.

use super::{clock, file_name, render_table};
use crate::analysis::model::SwarmModel;
use crate::tui::app::Ui;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Row;
use ratatui::Frame;

pub(super) fn draw(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, theme: &Theme) {
    let rows = model.feed.iter().rev().map(|t| {
        Row::new(vec![
            Line::from(clock(t.at)),
            Line::from(Span::styled(format!("{:>4} → {:<4}", t.uploader.0, t.downloader.0), theme.busy())),
            Line::from(format!("{} #{}", file_name(model, t.file), t.chunk.0)),
        ])
    });
    let header = Row::new(["Time", "From → to", "Chunk"]).style(theme.title());
    let widths = [Constraint::Length(10), Constraint::Length(13), Constraint::Fill(1)];
    render_table(frame, area, rows.collect(), header, &widths, " Latest transfers, newest first ", ui.selected, theme);
}
