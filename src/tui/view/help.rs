//! The help overlay: every key.

use super::Mode;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

pub(super) fn draw(frame: &mut Frame, mode: Mode, theme: &Theme) {
    let mut lines = vec![
        "Tab, Shift-Tab   next, previous view (peers, files, pieces, transfers, upload matrix)",
        "↑ ↓  j k         select a row;  PgUp PgDn  by ten;  g G  first, last",
        "q  Esc  Ctrl-C   quit",
        "?                this help (any key closes it)",
    ];
    match mode {
        Mode::Live => lines.push("space            pause the view (the run goes on)"),
        Mode::Replay(_) => lines.extend([
            "space            play, pause",
            "+ -              faster, slower (0.1x to 100x)",
            "→ ←  l h         one event forward, back",
            "] [              5 seconds forward, back",
            "n p              next, previous marker (a file completed, a peer done)",
            "Home End         start, end",
        ]),
    }
    lines.extend([
        "",
        "Roles, one letter per file in the order of the files view: S seed (holds the whole file),",
        "P peer (holds some), L leecher (none yet), · not in that file's swarm.",
        "Holders per chunk: darker when more peers hold it; light cells are rare chunks.",
        "Pieces: the file selected in the files view, a row per peer that owns or wants it;",
        "< > choose the chunk ◆ whose spread is shown: who got it from whom, hop by hop.",
    ]);
    let area = centered(frame.area(), 90, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    let text: Vec<Line> = lines.into_iter().map(Line::from).collect();
    let help = Paragraph::new(text).wrap(Wrap { trim: false });
    frame.render_widget(help.block(Block::bordered().title(" Keys ").title_style(theme.title())), area);
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let (width, height) = (width.min(area.width), height.min(area.height));
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}
