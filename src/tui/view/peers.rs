//! The peers view: each peer's progress, roles, uploads, whom it unchokes and what it does now.

use super::caption::Marks;
use super::cells::{bar, spark};
use super::{file_name, render_table, role_letter, role_style};
use crate::analysis::model::{PeerView, SwarmModel, HISTORY_BUCKET_US};
use crate::protocol::events::Wait;
use crate::protocol::ids::Rank;
use crate::protocol::strategy::PeerChoice;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Row;
use ratatui::Frame;

/// The peers' table; `compact` keeps peer, progress, roles, uploads and now, for the overview.
/// Whom each peer unchokes is shown only in the full table of a run that chokes.
pub(super) fn draw(
    frame: &mut Frame,
    area: Rect,
    model: &SwarmModel,
    selected: Option<usize>,
    compact: bool,
    marks: &Marks,
    theme: &Theme,
) {
    // The upload history gives way first on a narrow screen.
    let history_width = if area.width >= 110 { 16 } else { 0 };
    let mut columns: Vec<usize> = match (compact, history_width) {
        (true, _) if area.width < 56 => vec![0, 1, 6],
        (true, _) => vec![0, 1, 3, 4, 6],
        (false, 0) => vec![0, 1, 2, 3, 4, 6],
        (false, _) => vec![0, 1, 2, 3, 4, 5, 6],
    };
    let unchoked: Vec<String> = model.peers.iter().map(unchoked_label).collect();
    if !compact && chokes(model) {
        columns.insert(columns.len() - 1, 7);
    }
    let pick = |cells: Vec<Line<'static>>| -> Vec<Line<'static>> { columns.iter().map(|&c| cells[c].clone()).collect() };
    let rows = model.peers.iter().enumerate().map(|(i, peer)| {
        let rank = Rank::from_peer_index(i);
        let wanted = &model.header.wanted[i];
        let (got, total): (u64, u64) = wanted
            .iter()
            .zip(&peer.got)
            .map(|(f, &g)| (u64::from(g), u64::from(model.header.files[f.index()].chunks)))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let fraction = if total == 0 { 1.0 } else { got as f64 / total as f64 };
        let files: Vec<Span> = wanted
            .iter()
            .zip(&peer.got)
            .flat_map(|(f, &g)| {
                let spec = &model.header.files[f.index()];
                let pct = 100 * u64::from(g) / u64::from(spec.chunks.max(1));
                let (text, style) = match (pct, peer.abandoned.contains(f)) {
                    (_, true) => ("gave up ".to_string(), theme.warning()),
                    (100, _) => (format!("{pct:>3}% "), theme.done()),
                    _ => (format!("{pct:>3}% "), theme.bar()),
                };
                [Span::raw(format!("{} ", spec.name)), Span::styled(text, style)]
            })
            .collect();
        // One letter per file, in catalog order: its role in that file's swarm, or · if none.
        let roles: Vec<Span> = model
            .files
            .iter()
            .map(|view| match view.members.iter().find(|m| m.peer == rank) {
                Some(m) => Span::styled(role_letter(m.role).to_string(), role_style(m.role, theme)),
                None => Span::styled("·", theme.dim()),
            })
            .collect();
        let history = peer.upload_history.recent(model.now / HISTORY_BUCKET_US, history_width);
        let doing = doing(model, i, theme);
        let progress_style = if peer.done { theme.done() } else { theme.bar() };
        Row::new(pick(vec![
            rank_cell(model, rank, marks.peers.contains(&i), theme),
            Line::from(vec![Span::styled(bar(fraction, 10), progress_style), Span::raw(format!(" {:>3.0}%", fraction * 100.0))]),
            Line::from(files),
            Line::from(roles),
            Line::from(format!("{:>7}", peer.uploads)),
            Line::from(Span::styled(spark(&history), theme.busy())),
            doing,
            Line::from(unchoked[i].clone()),
        ]))
    });
    let titles = ["Peer", "Progress", "Wanted files", "Roles", "Uploads", "Uploads/0.1 s", "Now", "Unchokes"];
    let header = Row::new(columns.iter().map(|&c| titles[c])).style(theme.title());
    let widths = [
        Constraint::Length(4),
        Constraint::Length(15),
        Constraint::Fill(1),
        Constraint::Length((model.files.len() as u16).max(5)),
        Constraint::Length(7),
        Constraint::Length(history_width as u16),
        Constraint::Length(20),
        Constraint::Length(unchoked.iter().map(|u| u.chars().count()).max().unwrap_or(0).clamp(8, 20) as u16),
    ];
    let widths: Vec<Constraint> = columns.iter().map(|&c| widths[c]).collect();
    render_table(frame, area, rows.collect(), header, &widths, " Peers ", selected, theme);
}

/// A peer's rank, pointed at when a caption marks it, else crossed out if it rides free.
pub(super) fn rank_cell(model: &SwarmModel, rank: Rank, marked: bool, theme: &Theme) -> Line<'static> {
    match (marked, model.header.faults.freeride.contains(&rank)) {
        (true, _) => Line::from(Span::styled(format!("▶{:>3}", rank.0), theme.marked())),
        (false, true) => Line::from(Span::styled(format!("✗{:>3}", rank.0), theme.free_rider())),
        (false, false) => Line::from(format!("{:>4}", rank.0)),
    }
}

/// Whether peers of the run choke others (tit-for-tat, or free riders, which choke everyone).
pub(super) fn chokes(model: &SwarmModel) -> bool {
    model.header.options.strategy.peers == PeerChoice::TitForTat || !model.header.faults.freeride.is_empty()
}

/// The ranks a peer unchokes now, in order, the optimistic unchoke last and marked `~`.
fn unchoked_label(peer: &PeerView) -> String {
    let mut unchoked: Vec<(bool, Rank)> = peer.unchoked.iter().map(|&(rank, optimistic)| (optimistic, rank)).collect();
    unchoked.sort();
    let ranks: Vec<String> =
        unchoked.iter().map(|&(optimistic, rank)| if optimistic { format!("~{rank}") } else { rank.to_string() }).collect();
    ranks.join(" ")
}

fn doing(model: &SwarmModel, index: usize, theme: &Theme) -> Line<'static> {
    let peer = &model.peers[index];
    if peer.left {
        return Line::from(Span::styled("left", theme.warning()));
    }
    let serving_lately = peer.serving.is_some_and(|s| model.now.saturating_sub(s.3) <= 500_000);
    if model.finished.is_some() || (peer.done && !serving_lately) {
        return Line::from(Span::styled("done", theme.done()));
    }
    let mut spans = Vec::new();
    if let Some(why) = peer.waiting {
        spans.push(Span::styled(format!("{} ", wait_label(why)), theme.warning()));
    }
    if let (false, true, Some((file, chunk, from))) = (peer.done, peer.in_flight > 0, peer.fetching) {
        spans.push(Span::raw(format!("←{} {}#{} ", from.0, file_name(model, file), chunk.0)));
    }
    // Serving counts as now for half a second after the last chunk served.
    if let Some((to, ..)) = peer.serving.filter(|s| model.now.saturating_sub(s.3) <= 500_000) {
        spans.push(Span::styled(format!("→{}", to.0), theme.busy()));
    }
    if spans.is_empty() {
        spans.push(Span::styled(if peer.done { "done" } else { "waiting" }, theme.dim()));
    }
    Line::from(spans)
}

/// A word for why a peer asks for no more chunks; the help explains each.
pub(super) fn wait_label(why: Wait) -> &'static str {
    match why {
        Wait::Tracker => "tracker",
        Wait::NoHolder => "no holder",
        Wait::HoldersBusy => "busy",
        Wait::Limit => "limit",
        Wait::Interest => "interest",
        Wait::Choked => "choked",
    }
}
