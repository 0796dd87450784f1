//! The overview, the first view: the peers, the piece map of the file chosen, the run against the
//! best possible, and the latest transfers, in panels sized to the terminal.

use super::caption::Marks;
use super::pieces::{self, Grid};
use super::{chart, peers, table_row, transfers};
use crate::analysis::model::SwarmModel;
use crate::analysis::spread::spread;
use crate::protocol::ids::{ChunkIdx, FileId};
use crate::tui::app::{Target, Ui};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Where the panels go.
struct Panels {
    peers: Rect,
    map: Rect,
    /// One line under the map: the spread of the chosen chunk.
    spread: Rect,
    chart: Rect,
    transfers: Rect,
}

/// The peers and the piece map take the rows they need, up to a little over half; the chart
/// and the transfers the rest.
fn panels(area: Rect, model: &SwarmModel) -> Panels {
    let needed = model.peers.len() as u16 + 4;
    let top_height = needed.max(8).min(area.height * 55 / 100);
    let [top, bottom] = Layout::vertical([Constraint::Length(top_height), Constraint::Fill(1)]).areas(area);
    let peers_share = if area.width >= 120 { 45 } else { 50 };
    let [peers, pieces] = Layout::horizontal([Constraint::Percentage(peers_share), Constraint::Fill(1)]).areas(top);
    let [map, spread] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(pieces);
    let [chart, transfers] = Layout::horizontal([Constraint::Percentage(60), Constraint::Fill(1)]).areas(bottom);
    Panels { peers, map, spread, chart, transfers }
}

pub(super) fn draw(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, marks: &Marks, theme: &Theme) {
    let at = panels(area, model);
    peers::draw(frame, at.peers, model, Some(ui.selected), true, marks, theme);
    let grid = Grid::new(model, ui.file, ui.chunk, at.map.width);
    let row = pieces::mapped_peers(model, grid.file).position(|(peer, _)| peer == ui.selected);
    pieces::draw_map(frame, at.map, model, &grid, row, marks, theme);
    let spread = spread(model, FileId(grid.file as u32), ChunkIdx(grid.chunk as u32));
    let line = format!(
        "◆ {}: {}/{} hold it, depth {}, ⌈log₂ {}⌉ = {} · its tree in Pieces (4)",
        grid.chunk,
        spread.holders.len(),
        spread.peers,
        spread.depth,
        spread.peers,
        spread.bound
    );
    frame.render_widget(Paragraph::new(Span::styled(line, theme.dim())), at.spread);
    chart::draw(frame, at.chart, model, theme);
    transfers::draw(frame, at.transfers, model, None, theme);
}

/// A click on a peer selects it, on the piece map a chunk (and the peer of its row).
pub(super) fn hit(area: Rect, model: &SwarmModel, ui: &Ui, column: u16, row: u16) -> Option<Target> {
    let at = panels(area, model);
    if at.peers.contains((column, row).into()) {
        return table_row(at.peers, ui.selected, model.peers.len(), row).map(Target::Row);
    }
    if !at.map.contains((column, row).into()) {
        return None;
    }
    let grid = Grid::new(model, ui.file, ui.chunk, at.map.width);
    let selected = pieces::mapped_peers(model, grid.file).position(|(peer, _)| peer == ui.selected);
    let (map_row, chunk) = pieces::map_hit(at.map, model, &grid, selected, column, row)?;
    let peer = map_row.and_then(|r| pieces::mapped_peers(model, grid.file).nth(r)).map(|(peer, _)| peer);
    match chunk {
        Some(chunk) => Some(Target::Chunk { chunk, row: peer }),
        None => peer.map(Target::Row),
    }
}
