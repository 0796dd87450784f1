//! The pieces view: which peer holds which chunk of one file, and how the chosen chunk spread.

use super::{clock, render_table};
use crate::analysis::model::{Piece, SwarmModel};
use crate::analysis::spread::spread;
use crate::protocol::ids::{ChunkIdx, FileId};
use crate::tui::app::Ui;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Wrap};
use ratatui::Frame;

/// The peers that own or want `file`, with their pieces of it.
pub(super) fn mapped_peers(model: &SwarmModel, file: usize) -> impl Iterator<Item = (usize, &[Piece])> {
    let pieces = model.files.get(file).map(|f| &f.pieces[..]).unwrap_or_default();
    pieces.iter().enumerate().filter(|(_, p)| !p.is_empty()).map(|(peer, p)| (peer, &p[..]))
}

/// The piece map of the file last selected in the files view: a row per peer that owns or wants
/// it, a column per chunk, or per run of chunks when they do not fit; the rarest marked.
pub(super) fn draw(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, theme: &Theme) {
    let [area, detail] = Layout::vertical([Constraint::Min(3), Constraint::Length(5)]).areas(area);
    let file = ui.file.min(model.files.len().saturating_sub(1));
    let chunks = model.files.get(file).map_or(0, |f| f.holders.len());
    let chunk = ui.chunk.min(chunks.saturating_sub(1));
    // Borders, the two label columns and the gaps between the three.
    let room = (area.width.saturating_sub(2 + 4 + 5 + 2) as usize).max(1);
    let per = chunks.div_ceil(room).max(1);
    let columns = chunks.div_ceil(per).max(1);
    let bin = |c: usize| c * per..((c + 1) * per).min(chunks);
    let rows = mapped_peers(model, file).map(|(peer, pieces)| {
        let held = pieces.iter().filter(|p| p.is_held()).count();
        let cells: String = (0..columns).map(|c| piece_cell(pieces.get(bin(c)).unwrap_or_default())).collect();
        Row::new(vec![
            Line::from(format!("{:>4}", peer + 1)),
            Line::from(format!("{:>4}%", held * 100 / pieces.len().max(1))),
            Line::from(Span::styled(cells, theme.bar())),
        ])
    });
    let holders = model.files.get(file).map(|f| &f.holders[..]).unwrap_or_default();
    // Marked only where some chunks are rarer than others.
    let rarest = holders.iter().min().copied().filter(|&least| holders.iter().any(|&h| h > least));
    let mark = |c: usize| match holders.get(bin(c)).unwrap_or_default() {
        _ if bin(c).contains(&chunk) => '◆',
        run if run.iter().any(|&h| Some(h) == rarest) => '▼',
        _ => ' ',
    };
    let marks: String = (0..columns).map(mark).collect();
    let header = Row::new(vec![Line::from("Peer"), Line::from(" Held"), Line::from(marks)]).style(theme.title());
    let widths = [Constraint::Length(4), Constraint::Length(5), Constraint::Fill(1)];
    let name = model.header.files.get(file).map_or("", |f| f.name.as_str());
    let per = if per > 1 { format!("{per} chunks") } else { "chunk".into() };
    let title = format!(" Pieces of {name}: a column per {per}; █ held ▓ ▒ partly ░ arriving · missing; ▼ rarest ");
    render_table(frame, area, rows.collect(), header, &widths, &title, ui.selected, theme);
    draw_spread(frame, detail, model, FileId(file as u32), ChunkIdx(chunk as u32));
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
