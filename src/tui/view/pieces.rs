//! The pieces view: which peer holds which chunk of one file, and how the chosen chunk spread.

use super::caption::Marks;
use super::peers::rank_cell;
use super::{clock, render_table, table_row};
use crate::analysis::model::{Piece, SwarmModel};
use crate::analysis::spread::spread;
use crate::protocol::ids::{ChunkIdx, FileId, Rank};
use crate::tui::app::{Target, Ui};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Wrap};
use ratatui::Frame;

/// The peers that own or want `file`, with their pieces of it.
pub(super) fn mapped_peers(model: &SwarmModel, file: usize) -> impl Iterator<Item = (usize, &[Piece])> {
    let pieces = model.files.get(file).map(|f| &f.pieces[..]).unwrap_or_default();
    pieces.iter().enumerate().filter(|(_, p)| !p.is_empty()).map(|(peer, p)| (peer, &p[..]))
}

/// The pieces view: the piece map above, the spread of the chosen chunk below.
fn split(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Min(3), Constraint::Length(5)]).areas(area)
}

pub(super) fn draw(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, marks: &Marks, theme: &Theme) {
    let [map, detail] = split(area);
    let grid = Grid::new(model, ui.file, ui.chunk, map.width);
    draw_map(frame, map, model, &grid, Some(ui.selected), marks, theme);
    draw_spread(frame, detail, model, FileId(grid.file as u32), ChunkIdx(grid.chunk as u32));
}

pub(super) fn hit(area: Rect, model: &SwarmModel, ui: &Ui, column: u16, row: u16) -> Option<Target> {
    let map = split(area)[0];
    let grid = Grid::new(model, ui.file, ui.chunk, map.width);
    match map_hit(map, model, &grid, Some(ui.selected), column, row)? {
        (row, Some(chunk)) => Some(Target::Chunk { chunk, row }),
        (row, None) => row.map(Target::Row),
    }
}

/// How a file's chunks fall into the columns of a piece map of some width.
pub(super) struct Grid {
    /// The file mapped and its chosen chunk, within bounds.
    pub(super) file: usize,
    pub(super) chunk: usize,
    chunks: usize,
    /// Chunks a column.
    per: usize,
    columns: usize,
}

/// Columns before the cells: the border, the peer, a gap, the share held, a gap.
const LABELS: u16 = 1 + 4 + 1 + 5 + 1;

impl Grid {
    pub(super) fn new(model: &SwarmModel, file: usize, chunk: usize, width: u16) -> Grid {
        let file = file.min(model.files.len().saturating_sub(1));
        let chunks = model.files.get(file).map_or(0, |f| f.holders.len());
        let room = (width.saturating_sub(LABELS + 1) as usize).max(1);
        let per = chunks.div_ceil(room).max(1);
        Grid { file, chunk: chunk.min(chunks.saturating_sub(1)), chunks, per, columns: chunks.div_ceil(per).max(1) }
    }

    fn bin(&self, column: usize) -> std::ops::Range<usize> {
        column * self.per..((column + 1) * self.per).min(self.chunks)
    }
}

/// The piece map: a row per peer that owns or wants the file (greyed once it left), a column per
/// chunk, or per run of chunks when they do not fit; the rarest, the chosen chunk and those a
/// caption marks shown above. `selected` is a row.
pub(super) fn draw_map(
    frame: &mut Frame,
    area: Rect,
    model: &SwarmModel,
    grid: &Grid,
    selected: Option<usize>,
    marks: &Marks,
    theme: &Theme,
) {
    let rows = mapped_peers(model, grid.file).map(|(peer, pieces)| {
        let held = pieces.iter().filter(|p| p.is_held()).count();
        let left = model.peers[peer].left;
        let mut cells: Vec<Span> = Vec::new();
        for column in 0..grid.columns {
            let run = pieces.get(grid.bin(column)).unwrap_or_default();
            let style = if left { theme.dim() } else { piece_style(run, model.now, theme) };
            push_cell(&mut cells, piece_cell(run), style);
        }
        let share = match left {
            true => Line::from(Span::styled(" left", theme.dim())),
            false => Line::from(format!("{:>4}%", held * 100 / pieces.len().max(1))),
        };
        Row::new(vec![
            rank_cell(model, Rank::from_peer_index(peer), marks.peers.contains(&peer), theme),
            share,
            Line::from(cells),
        ])
    });
    let holders = model.files.get(grid.file).map(|f| &f.holders[..]).unwrap_or_default();
    // Marked only where some chunks are rarer than others.
    let rarest = holders.iter().min().copied().filter(|&least| holders.iter().any(|&h| h > least));
    let mark = |c: usize| match holders.get(grid.bin(c)).unwrap_or_default() {
        _ if grid.bin(c).contains(&grid.chunk) => ('◆', theme.title()),
        _ if marks.any_chunk(grid.file, grid.bin(c)) => ('★', theme.marked()),
        run if run.iter().any(|&h| Some(h) == rarest) => ('▼', theme.title()),
        _ => (' ', theme.title()),
    };
    let mut above: Vec<Span> = Vec::new();
    for (cell, style) in (0..grid.columns).map(mark) {
        push_cell(&mut above, cell, style);
    }
    let header = Row::new(vec![Line::from("Peer"), Line::from(" Held"), Line::from(above)]).style(theme.title());
    let widths = [Constraint::Length(4), Constraint::Length(5), Constraint::Fill(1)];
    let name = model.header.files.get(grid.file).map_or("", |f| f.name.as_str());
    let per = if grid.per > 1 { format!("{} chunks", grid.per) } else { "chunk".into() };
    let title = format!(" Pieces of {name}: a column per {per}; █ held ▓ ▒ partly ░ arriving · missing; ▼ rarest ");
    render_table(frame, area, rows.collect(), header, &widths, &title, selected, theme);
}

/// Adds a cell to a row of cells: neighbours alike share a span, so a row of 2000 chunks is a few
/// dozen spans, not 2000.
fn push_cell(cells: &mut Vec<Span<'static>>, cell: char, style: Style) {
    match cells.last_mut() {
        Some(last) if last.style == style => last.content.to_mut().push(cell),
        _ => cells.push(Span::styled(cell.to_string(), style)),
    }
}

/// The row (of the mapped peers) and the chunk of a piece map at a cell: the row of the marks
/// gives a chunk only, the labels a row only.
pub(super) fn map_hit(
    area: Rect,
    model: &SwarmModel,
    grid: &Grid,
    selected: Option<usize>,
    column: u16,
    row: u16,
) -> Option<(Option<usize>, Option<usize>)> {
    let cell = column.checked_sub(area.x + LABELS).map(usize::from).filter(|&c| c < grid.columns);
    let chunk = cell.map(|c| grid.bin(c).start).filter(|&c| c < grid.chunks);
    let rows = mapped_peers(model, grid.file).count();
    let peer_row = table_row(area, selected.unwrap_or(0), rows, row);
    match (row == area.y + 1, peer_row) {
        (true, _) => chunk.map(|c| (None, Some(c))),
        (false, Some(r)) => Some((Some(r), chunk)),
        (false, None) => None,
    }
}

/// The dissemination tree of the chunk marked `◆`: each hop from an owner, who got it from whom.
fn draw_spread(frame: &mut Frame, area: Rect, model: &SwarmModel, file: FileId, chunk: ChunkIdx) {
    let spread = spread(model, file, chunk);
    let levels: Vec<String> = (0..=spread.depth)
        .map(|depth| {
            let hop = spread.holders.iter().filter(|h| h.depth == depth);
            let named: Vec<String> = hop
                .map(|h| match h.from {
                    None => h.peer.0.to_string(),
                    Some(from) => format!("{}←{} {}", h.peer.0, from.0, clock(h.at)),
                })
                .collect();
            match depth {
                0 => format!("owners {}", named.join(" ")),
                _ => format!("hop {depth}: {}", named.join("  ")),
            }
        })
        .collect();
    let title = format!(
        " Chunk {} ◆ (< >): {} of {} peers hold it; depth {} against ⌈log₂ {}⌉ = {} ",
        chunk.0,
        spread.holders.len(),
        spread.peers,
        spread.depth,
        spread.peers,
        spread.bound
    );
    let text = if spread.holders.is_empty() { "nobody holds it".to_string() } else { levels.join("   ") };
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }).block(Block::bordered().title(title)), area);
}

/// The colour of a cell of the piece map: green where the chunks were owned from the start, else
/// by when the latest of them arrived, dark early and bright lately.
fn piece_style(pieces: &[Piece], now: u64, theme: &Theme) -> Style {
    let arrived = pieces.iter().filter_map(|p| match p {
        Piece::Held { at, from: Some(_) } => Some(*at),
        _ => None,
    });
    match arrived.max() {
        Some(at) => theme.age(at as f64 / now.max(1) as f64),
        None if pieces.iter().any(Piece::is_held) => theme.seed(),
        None => theme.bar(),
    }
}

/// One cell of the piece map, for the pieces of one chunk or a run of them.
fn piece_cell(pieces: &[Piece]) -> char {
    let held = pieces.iter().filter(|p| p.is_held()).count();
    match held {
        _ if pieces.is_empty() => ' ',
        h if h == pieces.len() => '█',
        h if h * 2 >= pieces.len() => '▓',
        h if h > 0 => '▒',
        _ if pieces.iter().any(|p| matches!(p, Piece::Arriving { .. })) => '░',
        _ => '·',
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ids::Rank;
    use ratatui::style::Color;

    #[test]
    fn held_chunks_are_green_when_owned_and_brighter_the_later_they_arrived() {
        let theme = Theme::coloured();
        let arrived = |at| Piece::Held { at, from: Some(Rank(1)) };
        let owned = Piece::Held { at: 0, from: None };
        let colour = |pieces: &[Piece]| piece_style(pieces, 1000, &theme).fg;
        assert_eq!(colour(&[owned]), theme.seed().fg);
        assert_eq!(colour(&[arrived(0)]), Some(Color::Indexed(23)), "at the start: the darkest");
        assert_eq!(colour(&[arrived(1000)]), Some(Color::Indexed(51)), "just now: the brightest");
        assert_eq!(colour(&[owned, arrived(500), arrived(100)]), Some(Color::Indexed(37)), "a run: by its latest");
        assert_eq!(colour(&[Piece::Missing]), theme.bar().fg);
        assert_eq!(piece_style(&[arrived(0)], 1000, &Theme::plain()), Style::new(), "no colour with NO_COLOR");
    }
}
