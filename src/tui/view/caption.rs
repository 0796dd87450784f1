//! A lesson's caption, under the view: what to look at now, and the peers and chunks it marks.

use crate::tui::app::View;
use crate::tui::theme::Theme;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

/// What a caption points at: peers (by index, rank 1 first) and chunks of one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    pub peers: Vec<usize>,
    pub file: usize,
    pub chunks: Vec<usize>,
}

/// Nothing marked.
pub static UNMARKED: Marks = Marks { peers: Vec::new(), file: 0, chunks: Vec::new() };

impl Marks {
    /// The file and chunk to show when the caption comes: the first chunk it marks, if any.
    pub fn chunk(&self) -> Option<(usize, usize)> {
        self.chunks.first().map(|&chunk| (self.file, chunk))
    }

    /// Whether the caption marks a chunk of `file` in `chunks`.
    pub(super) fn any_chunk(&self, file: usize, chunks: std::ops::Range<usize>) -> bool {
        self.file == file && self.chunks.iter().any(|c| chunks.contains(c))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caption {
    /// Its place among the lesson's captions, from 1.
    pub number: usize,
    pub count: usize,
    /// The moment it comes at, in words: `round 30`, `peer 3 completes in B`.
    pub when: String,
    pub text: String,
    pub marks: Marks,
    /// The view it asks for, if any.
    pub view: Option<View>,
    /// Playing stopped at it: space goes on.
    pub held: bool,
}

/// Rows a caption takes at most, its border included.
const MOST_ROWS: u16 = 10;

fn paragraph(caption: &Caption) -> Paragraph<'_> {
    Paragraph::new(caption.text.as_str()).wrap(Wrap { trim: true })
}

/// Rows `caption` needs in a screen `width` columns wide, its border included.
pub(super) fn height(caption: &Caption, width: u16) -> u16 {
    let lines = paragraph(caption).line_count(width.saturating_sub(2)) as u16;
    (lines + 2).min(MOST_ROWS)
}

pub(super) fn draw(frame: &mut Frame, area: Rect, caption: &Caption, theme: &Theme) {
    let (keys, border) = match caption.held {
        true => (" space goes on · n p captions ", theme.warning()),
        false => (" n p captions ", theme.dim()),
    };
    let title = format!(" Lesson {}/{} · {} ", caption.number, caption.count, caption.when);
    let block = Block::bordered()
        .border_style(border)
        .title(Span::styled(title, theme.title()))
        .title(Line::from(Span::styled(keys, border)).alignment(Alignment::Right));
    frame.render_widget(paragraph(caption).block(block), area);
}
