//! Frames of a recorded run for slides, drawn by the dashboard's own [`draw`]: the whole replay
//! as an asciinema cast (asciicast v2: a header line, then a line per frame of what the terminal
//! is sent), and the dashboard at one moment as SVG.

mod svg;

use crate::record::log::Log;
use crate::tui::app::Ui;
use crate::tui::replay::Player;
use crate::tui::theme::Theme;
use crate::tui::view::{draw, Mode};
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use serde_json::json;
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// Run time between two frames of a cast: ten frames a second at the run's own pace.
const FRAME_US: u64 = 100_000;

/// The size of the terminal the frames are drawn for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub width: u16,
    pub height: u16,
}

impl Size {
    fn area(self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }
}

/// The replay of `log` (shown as `name`) as an asciicast v2: a frame every [`FRAME_US`] of run
/// time, each only what changed since the one before, as the live dashboard sends it.
pub fn cast(log: &Log, name: &str, size: Size, theme: &Theme) -> String {
    let mut player = Player::of(log);
    let header = json!({
        "version": 2,
        "width": size.width,
        "height": size.height,
        "title": format!("mpitorrent replay of {name}"),
        "env": { "TERM": "xterm-256color" },
    });
    let mut lines = vec![header.to_string()];
    let sent = Sent::default();
    let backend = CrosstermBackend::new(sent.clone());
    let options = TerminalOptions { viewport: Viewport::Fixed(size.area()) };
    let mut terminal = Terminal::with_options(backend, options).expect("a terminal in memory");
    // A clear screen first, whatever the player's terminal showed before.
    sent.clone().write_all(b"\x1b[H\x1b[2J").expect("written in memory");
    let ui = Ui::default();
    let end = player.end();
    for at in (0..end).step_by(FRAME_US as usize).chain([end]) {
        player.seek(at);
        let status = player.status(name, false, log.end.is_none(), log.damage.clone());
        terminal.draw(|frame| draw(frame, player.model(), &ui, Mode::Replay(&status), theme)).expect("drawn in memory");
        let bytes = sent.take();
        if !bytes.is_empty() {
            lines.push(json!([at as f64 / 1e6, "o", String::from_utf8_lossy(&bytes)]).to_string());
        }
    }
    // The cursor, hidden while drawing, comes back at the end.
    lines.push(json!([end as f64 / 1e6, "o", "\u{1b}[?25h"]).to_string());
    lines.join("\n") + "\n"
}

/// The dashboard's overview of `log` (shown as `name`) as it was `at` microseconds into the run,
/// as an SVG image of the terminal's cells.
pub fn svg(log: &Log, name: &str, at: u64, size: Size, theme: &Theme) -> String {
    let mut player = Player::of(log);
    player.pause();
    player.seek(at);
    let status = player.status(name, false, log.end.is_none(), log.damage.clone());
    let mut terminal = Terminal::new(TestBackend::new(size.width, size.height)).expect("a test terminal");
    terminal.draw(|frame| draw(frame, player.model(), &Ui::default(), Mode::Replay(&status), theme)).expect("drawn");
    svg::image(terminal.backend().buffer())
}

/// What the terminal was sent since it was last taken.
#[derive(Clone, Default)]
struct Sent(Rc<RefCell<Vec<u8>>>);

impl Sent {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

impl Write for Sent {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
