//! The footer: the views as tabs, the keys, and in replay the timeline.

use super::{clock, Mode, ReplayStatus};
use crate::tui::app::{Ui, View};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub(super) fn draw(frame: &mut Frame, area: Rect, ui: &Ui, mode: Mode, theme: &Theme) {
    let mut tabs = Vec::new();
    for view in View::ALL {
        let style = if view == ui.view { theme.selected() } else { theme.dim() };
        tabs.push(Span::styled(format!(" {} ", view.title()), style));
    }
    let room = (area.width as usize).saturating_sub(tabs.iter().map(|t| t.width()).sum());
    tabs.push(Span::styled(hints(mode, room), theme.dim()));
    match mode {
        Mode::Live => frame.render_widget(Paragraph::new(Line::from(tabs)), area),
        Mode::Replay(replay) => {
            let [timeline, note, keys] = Layout::vertical([Constraint::Length(1); 3]).areas(area);
            frame.render_widget(Paragraph::new(timeline_line(replay, timeline.width as usize, theme)), timeline);
            if let Some(text) = &replay.note {
                frame.render_widget(Paragraph::new(Span::styled(text.clone(), theme.warning())), note);
            }
            frame.render_widget(Paragraph::new(Line::from(tabs)), keys);
        }
    }
}

/// The view whose tab is at `column` of a footer starting at `x`.
pub(super) fn tab_at(x: u16, column: u16) -> Option<View> {
    let mut end = x;
    View::ALL.into_iter().find(|view| {
        end += view.title().len() as u16 + 2;
        column < end
    })
}

/// The keys worth a reminder that fit in `room` columns, in their order, the most needed kept.
fn hints(mode: Mode, room: usize) -> String {
    // Most needed first.
    let hints: &[(usize, &str)] = match mode {
        Mode::Live => &[(2, "Tab next"), (3, "space pause"), (0, "? help"), (1, "q quit")],
        Mode::Replay(_) => {
            &[(2, "space play"), (3, "+ - speed"), (4, "← → step"), (5, "[ ] 5 s"), (6, "n p mark"), (0, "? help"), (1, "q quit")]
        }
    };
    let mut by_need: Vec<&(usize, &str)> = hints.iter().collect();
    by_need.sort_unstable();
    let mut used = 0;
    let kept: Vec<usize> = by_need
        .into_iter()
        .take_while(|(_, hint)| {
            used += hint.chars().count() + 2;
            used <= room
        })
        .map(|&(need, _)| need)
        .collect();
    hints.iter().filter(|(need, _)| kept.contains(need)).map(|(_, hint)| format!("  {hint}")).collect()
}

/// `0:01.2 [====|==*===|=====-------] 0:03.4`: where the replay is, with its markers.
fn timeline_line(replay: &ReplayStatus, width: usize, theme: &Theme) -> Line<'static> {
    let (left, right) = (clock(replay.position), clock(replay.end));
    let cells = width.saturating_sub(left.len() + right.len() + 4).max(1);
    let at = |t: u64| if replay.end == 0 { 0 } else { ((t as f64 / replay.end as f64) * (cells - 1) as f64).round() as usize };
    let here = at(replay.position.min(replay.end));
    let mut bar: Vec<char> = (0..cells).map(|i| if i <= here { '━' } else { '─' }).collect();
    for &m in &replay.markers {
        bar[at(m.min(replay.end))] = '┃';
    }
    bar[here] = '●';
    Line::from(vec![
        Span::raw(format!("{left} ")),
        Span::styled(bar.into_iter().collect::<String>(), theme.bar()),
        Span::raw(format!(" {right}")),
    ])
}
