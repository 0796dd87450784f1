//! The header: what is shown (live or which replay), the run's figures, faults, and once it is
//! over the summary against the bound.

use super::{clock, Mode, ReplayStatus};
use crate::analysis::efficiency::{lower_bound, Efficiency};
use crate::analysis::model::{PeerView, SwarmModel};
use crate::tui::app::Ui;
use crate::tui::theme::Theme;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, LineGauge, Paragraph};
use ratatui::Frame;

pub(super) fn draw(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, mode: Mode, faults: &str, theme: &Theme) {
    let (what, state) = match mode {
        Mode::Live if model.finished.is_some() => ("live".to_string(), "finished".to_string()),
        Mode::Live if !model.started => ("live".to_string(), "starting".to_string()),
        Mode::Live => ("live".to_string(), if ui.paused { "view paused" } else { "running" }.to_string()),
        Mode::Replay(replay) => (format!("replay of {}", replay.name), replay_state(replay)),
    };
    // Early in the title, where a narrow terminal still shows it.
    let cut = if matches!(mode, Mode::Replay(r) if r.cut) { "(log cut short) " } else { "" };
    let title = Line::from(vec![
        Span::styled(" mpitorrent ", theme.title()),
        Span::raw(format!("· {what} ")),
        Span::styled(cut, theme.warning()),
        Span::raw(format!(
            "· {} peers · {} files · chunk time {} ms · ",
            model.header.peers,
            model.files.len(),
            model.header.options.chunk_time_ms
        )),
        Span::styled(state, if ui.paused { theme.warning() } else { theme.dim() }),
        Span::raw(" "),
    ]);
    let block = Block::bordered().title(title).title(Line::from(format!(" {} ", clock(model.now))).alignment(Alignment::Right));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [gauge, counts, faults_area, summary] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(u16::from(!faults.is_empty())),
        Constraint::Min(0),
    ])
    .areas(inner);
    let (delivered, wanted) = (model.chunks_delivered(), model.chunks_wanted());
    let ratio = if wanted == 0 { 1.0 } else { delivered as f64 / wanted as f64 };
    frame.render_widget(
        LineGauge::default()
            .ratio(ratio.clamp(0.0, 1.0))
            .label(format!("{delivered}/{wanted} chunks {:>3.0}%", ratio * 100.0))
            .filled_style(theme.bar())
            .unfilled_style(theme.dim()),
        gauge,
    );
    let t = &model.tracker;
    let nacks: u64 = model.peers.iter().map(|p| p.nacks + p.bad_hashes).sum();
    let done = model.peers.iter().filter(|p| p.done).count();
    let chunk_time_us = model.header.options.chunk_time_ms * 1000;
    let rounds = match chunk_time_us {
        0 => String::new(),
        _ if model.finished.is_some() => String::new(),
        _ => format!(" · round {} (bound {})", model.now / chunk_time_us, lower_bound(model)),
    };
    let text = format!(
        "peers done {done}/{} · tracker {} requests ({} files, {} reports, {} completions) · NACKs {nacks}{rounds}",
        model.peers.len(),
        t.requests(),
        t.file_requests,
        t.updates,
        t.completions,
    );
    frame.render_widget(Paragraph::new(text).style(theme.dim()), counts);
    frame.render_widget(Paragraph::new(format!("faults: {faults}")).style(theme.warning()), faults_area);
    if model.finished.is_some() {
        let report = model.report();
        let quit = if matches!(mode, Mode::Live) { " · q quits" } else { "" };
        let text = format!(
            "{} chunks in {:.2} s ({:.0}/s) · messages/chunk {:.2} peers, {:.2} tracker{quit}",
            report.chunks_delivered,
            report.wall_time_s,
            report.chunks_delivered as f64 / report.wall_time_s.max(1e-9),
            report.peer_messages_per_chunk(),
            report.tracker.messages_per_chunk
        );
        let lines = vec![Line::from(text), Line::from(efficiency_line(&report.efficiency))];
        frame.render_widget(Paragraph::new(lines).style(theme.done()), summary);
    }
}

/// What faults did so far (peers gone, files given up, requests timed out, lies caught), or "".
pub(super) fn faults(model: &SwarmModel) -> String {
    let count = |f: fn(&PeerView) -> u64| -> u64 { model.peers.iter().map(f).sum() };
    let figures = [
        (count(|p| u64::from(p.left)), "left"),
        (count(|p| p.abandoned.len() as u64), "files given up"),
        (count(|p| p.timeouts), "timeouts"),
        (count(|p| p.bad_hashes), "wrong hashes"),
    ];
    let said: Vec<String> = figures.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect();
    said.join(", ")
}

/// The run against the best any schedule could do, in one line of the final summary.
fn efficiency_line(e: &Efficiency) -> String {
    let rounds = match (e.makespan_rounds, e.makespan_ratio) {
        (Some(rounds), Some(ratio)) => format!("{rounds:.0} rounds, {ratio:.2}x the bound of {}", e.lower_bound_rounds),
        _ => format!("bound {} rounds (no chunk time)", e.lower_bound_rounds),
    };
    let fairness = match (e.fairness, e.upload_max_over_mean) {
        (Some(index), Some(max)) => format!(" · fairness {index:.2} (max/mean {max:.2})"),
        _ => String::new(),
    };
    let cpu = e.cpu_seconds_per_chunk.map_or(String::new(), |s| format!(" · CPU {:.0} µs/chunk", s * 1e6));
    format!("{rounds}{fairness} · requests/chunk {:.2} · duplicates {}{cpu}", e.requests_per_chunk, e.duplicates)
}

fn replay_state(replay: &ReplayStatus) -> String {
    let play = match (replay.playing, replay.position >= replay.end) {
        (true, true) if replay.following => "waiting for more",
        (_, true) => "at the end",
        (true, false) => "playing",
        (false, false) => "paused",
    };
    let follow = if replay.following { ", following" } else { "" };
    let (shown, known) = replay.events;
    format!("{play} at {}x{follow} · event {shown}/{known}", speed(replay.speed))
}

fn speed(speed: f64) -> String {
    if speed < 1.0 {
        format!("{speed:.1}")
    } else {
        format!("{speed:.0}")
    }
}
