//! The files view: each file's swarm and how many peers hold each of its chunks.

use super::cells::{fit, heat};
use super::{render_table, role_letter, role_style};
use crate::analysis::model::SwarmModel;
use crate::protocol::events::Role;
use crate::tui::app::Ui;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Wrap};
use ratatui::Frame;

/// The table of files and, below it, the selected file's swarm.
fn split(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Min(3), Constraint::Length(5)]).areas(area)
}

pub(super) fn table_area(area: Rect) -> Rect {
    split(area)[0]
}

pub(super) fn draw(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, theme: &Theme) {
    let [table_area, detail] = split(area);
    let strip_width = table_area.width.saturating_sub(4 + 12 + 7 + 18 + 8).max(8) as usize;
    let peers = model.peers.len().max(1) as u32;
    let rows = model.files.iter().enumerate().map(|(f, view)| {
        let spec = &model.header.files[f];
        let count = |role| view.members.iter().filter(|m| m.role == role).count();
        let strip: String = fit(&view.holders, strip_width).iter().map(|&h| heat(h, peers)).collect();
        Row::new(vec![
            Line::from(spec.name.clone()),
            Line::from(format!("{:>6}", spec.chunks)),
            Line::from(vec![
                Span::styled(format!("{:>3}S ", count(Role::Seed)), theme.seed()),
                Span::styled(format!("{:>3}P ", count(Role::Peer)), theme.peer()),
                Span::styled(format!("{:>3}L", count(Role::Leecher)), theme.leecher()),
            ]),
            Line::from(format!("{:>3}..{:<3}", view.holders.iter().min().unwrap_or(&0), view.holders.iter().max().unwrap_or(&0))),
            Line::from(Span::styled(strip, theme.bar())),
        ])
    });
    let header = Row::new(["File", "Chunks", "Swarm", "Holders", "Holders per chunk (rarest lightest)"]).style(theme.title());
    let widths =
        [Constraint::Length(12), Constraint::Length(7), Constraint::Length(18), Constraint::Length(8), Constraint::Fill(1)];
    render_table(frame, table_area, rows.collect(), header, &widths, " Files ", Some(ui.selected), theme);

    let members: Vec<Span> = model
        .files
        .get(ui.selected)
        .map(|view| &view.members[..])
        .unwrap_or_default()
        .iter()
        .map(|m| Span::styled(format!("{}{} ({})  ", role_letter(m.role), m.peer.0, m.uploads), role_style(m.role, theme)))
        .collect();
    let name = model.header.files.get(ui.selected).map_or("", |f| f.name.as_str());
    let block = Block::bordered().title(format!(" Swarm of {name}, least busy first: role, peer (uploads) "));
    frame.render_widget(Paragraph::new(Line::from(members)).wrap(Wrap { trim: true }).block(block), detail);
}
