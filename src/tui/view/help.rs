//! The help overlay: every key, and what the marks say.

use super::Mode;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// `chokes`: the run chokes, so the marks of choking are explained too.
pub(super) fn draw(frame: &mut Frame, mode: Mode, chokes: bool, theme: &Theme) {
    let mut lines = vec![
        heading("Every view", theme),
        Line::from("Tab Shift-Tab  1-7   next, previous view; a view by its number"),
        Line::from("↑ ↓ j k PgUp PgDn g G  select a row (a peer, a file...); by ten; first, last"),
        Line::from("a click             select the tab, peer, file or chunk; the wheel scrolls"),
        Line::from("?  q Esc Ctrl-C     this help (any key closes it); quit"),
    ];
    lines.push(match mode {
        Mode::Live => Line::from("space               pause the view (the run goes on)"),
        Mode::Replay(_) => Line::from("space play · + - speed · → ← l h an event · ] [ 5 s · n p marker · Home End"),
    });
    lines.extend([
        heading("Overview, Pieces", theme),
        Line::from("< >  f F            the chunk ◆ whose spread is shown; next, previous file"),
        heading("Files", theme),
        Line::from("Enter, a 2nd click  the pieces of the file selected"),
        heading("Time", theme),
        Line::from("↑ ↓                 the peer whose transfers are bright; time ends at now"),
        heading("What the marks say", theme),
        Line::from("Roles   a letter a file: S seed (all), P peer (some), L leecher (none), · out"),
        Line::from("Now     ←R file#chunk: downloading from R; →R: serving R; why it asks no more:"),
        Line::from("        tracker: awaits its answer · no holder: none holds what it lacks"),
        Line::from("        busy: each holder has as many of its requests as it serves at once"),
        Line::from("        limit: at its download limit · interest: awaits a holder's free slot"),
    ]);
    if chokes {
        // One line: the help of a choking run still fits at 80x24.
        lines.push(Line::from("Unchokes ~R: optimistic · ✗ free rider · Now choked: every holder chokes it"));
    }
    lines.extend([
        Line::from("Pieces  █ held ▓ ▒ partly ░ arriving · missing; ▼ rarest ◆ chosen ★ lesson's"),
        Line::from("        green: owned; teal to cyan: arrived early to lately; grey: gone"),
        Line::from("Chart   ⣿ delivered; • best possible (doubling, then all slots busy); │ bound"),
    ]);
    let area = centered(frame.area(), 80, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    let help = Paragraph::new(lines).wrap(Wrap { trim: false });
    frame.render_widget(help.block(Block::bordered().title(" Keys ").title_style(theme.title())), area);
}

fn heading(text: &'static str, theme: &Theme) -> Line<'static> {
    Line::from(text).style(theme.title())
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let (width, height) = (width.min(area.width), height.min(area.height));
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}
