//! The dashboard's drawing: a pure function of the state model, the viewer's state and the mode
//! (live or replay). Tables are built for every row and cut by ratatui to what fits, which keeps
//! a frame cheap (`cargo bench --bench dashboard` measures it).

use crate::analysis::efficiency::{lower_bound, Efficiency};
use crate::analysis::model::{Piece, SwarmModel, HISTORY_BUCKET_US};
use crate::analysis::spread::spread;
use crate::protocol::events::Role;
use crate::protocol::ids::{ChunkIdx, FileId, Rank};
use crate::tui::app::{Ui, View};
use crate::tui::theme::Theme;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, LineGauge, Paragraph, Row, Table, TableState};
use ratatui::Frame;

/// What a replay adds to the screen: where it is, how fast it goes.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayStatus {
    pub name: String,
    /// The time shown, in microseconds since the start.
    pub position: u64,
    /// The time of the last event known.
    pub end: u64,
    pub speed: f64,
    pub playing: bool,
    /// Times of markers (files completed, peers done) for the timeline.
    pub markers: Vec<u64>,
    pub following: bool,
    /// Events shown, and events known.
    pub events: (usize, usize),
    /// What is wrong with the log, if anything.
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug)]
pub enum Mode<'a> {
    Live,
    Replay(&'a ReplayStatus),
}

/// Rows of the view `ui` shows, for moving the selection.
pub fn rows(model: &SwarmModel, ui: &Ui) -> usize {
    match ui.view {
        View::Peers | View::Matrix => model.peers.len(),
        View::Pieces => mapped_peers(model, ui.file).count(),
        View::Files => model.files.len(),
        View::Transfers => model.feed.len(),
    }
}

pub fn draw(frame: &mut Frame, model: &SwarmModel, ui: &Ui, mode: Mode, theme: &Theme) {
    let footer_height = if matches!(mode, Mode::Replay(_)) { 3 } else { 1 };
    let faults = faults(model);
    let header_height = 4 + 2 * u16::from(model.finished.is_some()) + u16::from(!faults.is_empty());
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(header_height), Constraint::Min(3), Constraint::Length(footer_height)])
            .areas(frame.area());
    draw_header(frame, header, model, ui, mode, &faults, theme);
    match ui.view {
        View::Peers => draw_peers(frame, body, model, ui, theme),
        View::Files => draw_files(frame, body, model, ui, theme),
        View::Pieces => draw_pieces(frame, body, model, ui, theme),
        View::Transfers => draw_transfers(frame, body, model, ui, theme),
        View::Matrix => draw_matrix(frame, body, model, ui, theme),
    }
    draw_footer(frame, footer, ui, mode, theme);
    if ui.help {
        draw_help(frame, mode, theme);
    }
}

fn draw_header(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, mode: Mode, faults: &str, theme: &Theme) {
    let (what, state) = match mode {
        Mode::Live if model.finished.is_some() => ("live".to_string(), "finished".to_string()),
        Mode::Live if !model.started => ("live".to_string(), "starting".to_string()),
        Mode::Live => ("live".to_string(), if ui.paused { "view paused" } else { "running" }.to_string()),
        Mode::Replay(replay) => (format!("replay of {}", replay.name), replay_state(replay)),
    };
    let title = Line::from(vec![
        Span::styled(" mpitorrent ", theme.title()),
        Span::raw(format!(
            "· {what} · {} peers · {} files · chunk time {} ms · ",
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
fn faults(model: &SwarmModel) -> String {
    let count = |f: fn(&crate::analysis::model::PeerView) -> u64| -> u64 { model.peers.iter().map(f).sum() };
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

fn draw_peers(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, theme: &Theme) {
    // The upload history gives way first on a narrow screen.
    let history_width = if area.width >= 110 { 16 } else { 0 };
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
        Row::new(vec![
            Line::from(format!("{:>4}", rank.0)),
            Line::from(vec![Span::styled(bar(fraction, 10), progress_style), Span::raw(format!(" {:>3.0}%", fraction * 100.0))]),
            Line::from(files),
            Line::from(roles),
            Line::from(format!("{:>7}", peer.uploads)),
            Line::from(Span::styled(spark(&history), theme.busy())),
            doing,
        ])
    });
    let header = Row::new(["Peer", "Progress", "Wanted files", "Roles", "Uploads", "Uploads/0.1 s", "Now"]).style(theme.title());
    let widths = [
        Constraint::Length(4),
        Constraint::Length(15),
        Constraint::Fill(1),
        Constraint::Length((model.files.len() as u16).max(5)),
        Constraint::Length(7),
        Constraint::Length(history_width as u16),
        Constraint::Length(16),
    ];
    render_table(frame, area, rows.collect(), header, &widths, " Peers ", ui.selected, theme);
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
    if let (false, Some((file, chunk, from))) = (peer.done, peer.fetching) {
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

fn draw_files(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, theme: &Theme) {
    let [table_area, detail] = Layout::vertical([Constraint::Min(3), Constraint::Length(5)]).areas(area);
    let strip_width = table_area.width.saturating_sub(4 + 12 + 7 + 18 + 8).max(8) as usize;
    let peers = model.peers.len().max(1) as u32;
    let rows = model.files.iter().enumerate().map(|(f, view)| {
        let spec = &model.header.files[f];
        let count = |role| view.members.iter().filter(|m| m.role == role).count();
        let strip: String = fit(&view.holders, strip_width).iter().map(|&h| heat(h, peers)).collect();
        Row::new(vec![
            Line::from(spec.name.clone()),
            Line::from(format!("{:>6}", spec.chunks)),
            Line::from(vec![
                Span::styled(format!("{:>3}S ", count(Role::Seed)), theme.seed()),
                Span::styled(format!("{:>3}P ", count(Role::Peer)), theme.peer()),
                Span::styled(format!("{:>3}L", count(Role::Leecher)), theme.leecher()),
            ]),
            Line::from(format!("{:>3}..{:<3}", view.holders.iter().min().unwrap_or(&0), view.holders.iter().max().unwrap_or(&0))),
            Line::from(Span::styled(strip, theme.bar())),
        ])
    });
    let header = Row::new(["File", "Chunks", "Swarm", "Holders", "Holders per chunk (rarest lightest)"]).style(theme.title());
    let widths =
        [Constraint::Length(12), Constraint::Length(7), Constraint::Length(18), Constraint::Length(8), Constraint::Fill(1)];
    render_table(frame, table_area, rows.collect(), header, &widths, " Files ", ui.selected, theme);

    let members: Vec<Span> = model
        .files
        .get(ui.selected)
        .map(|view| &view.members[..])
        .unwrap_or_default()
        .iter()
        .map(|m| Span::styled(format!("{}{} ({})  ", role_letter(m.role), m.peer.0, m.uploads), role_style(m.role, theme)))
        .collect();
    let name = model.header.files.get(ui.selected).map_or("", |f| f.name.as_str());
    let block = Block::bordered().title(format!(" Swarm of {name}, least busy first: role, peer (uploads) "));
    frame.render_widget(Paragraph::new(Line::from(members)).wrap(ratatui::widgets::Wrap { trim: true }).block(block), detail);
}

/// The peers that own or want `file`, with their pieces of it.
fn mapped_peers(model: &SwarmModel, file: usize) -> impl Iterator<Item = (usize, &[Piece])> {
    let pieces = model.files.get(file).map(|f| &f.pieces[..]).unwrap_or_default();
    pieces.iter().enumerate().filter(|(_, p)| !p.is_empty()).map(|(peer, p)| (peer, &p[..]))
}

/// The piece map of the file last selected in the files view: a row per peer that owns or wants
/// it, a column per chunk, or per run of chunks when they do not fit; the rarest marked.
fn draw_pieces(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, theme: &Theme) {
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
    frame.render_widget(
        Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }).block(Block::bordered().title(title)),
        area,
    );
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

fn draw_transfers(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, theme: &Theme) {
    let rows = model.feed.iter().rev().map(|t| {
        Row::new(vec![
            Line::from(clock(t.at)),
            Line::from(Span::styled(format!("{:>4} → {:<4}", t.uploader.0, t.downloader.0), theme.busy())),
            Line::from(format!("{} #{}", file_name(model, t.file), t.chunk.0)),
        ])
    });
    let header = Row::new(["Time", "From → to", "Chunk"]).style(theme.title());
    let widths = [Constraint::Length(10), Constraint::Length(13), Constraint::Fill(1)];
    render_table(frame, area, rows.collect(), header, &widths, " Latest transfers, newest first ", ui.selected, theme);
}

fn draw_matrix(frame: &mut Frame, area: Rect, model: &SwarmModel, ui: &Ui, theme: &Theme) {
    let [grid, detail] = Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(area);
    let peers = model.peers.len();
    let room = grid.width.saturating_sub(9) as usize;
    // Counts when they fit, five columns a peer; one shaded cell a peer otherwise.
    let cell = if peers * 5 <= room { 5 } else { 1 };
    let columns = (room / cell).min(peers);
    let most = model.matrix.iter().flatten().copied().max().unwrap_or(0).max(1);
    let rows = model.matrix.iter().enumerate().map(|(up, row)| {
        let cells: String = match cell {
            1 => row[..columns].iter().map(|&n| heat(n, most)).collect(),
            _ => row[..columns].iter().map(|&n| if n == 0 { "    ·".to_string() } else { format!("{n:>5}") }).collect(),
        };
        Row::new(vec![Line::from(format!("{:>4}", up + 1)), Line::from(Span::styled(cells, theme.busy()))])
    });
    let labels: String = match cell {
        1 => (1..=columns).map(|d| char::from(b'0' + (d % 10) as u8)).collect(),
        _ => (1..=columns).map(|d| format!("{d:>5}")).collect(),
    };
    let header = Row::new(vec![Line::from("from"), Line::from(labels)]).style(theme.title());
    let widths = [Constraint::Length(4), Constraint::Fill(1)];
    let shading = if cell == 1 { "; darker is more, up to the busiest pair" } else { "" };
    let cut = if columns < peers { "; first columns only" } else { "" };
    let title = format!(" Chunks served, uploader (row) to downloader (column){shading}{cut} ");
    render_table(frame, grid, rows.collect(), header, &widths, &title, ui.selected, theme);

    let row = model.matrix.get(ui.selected).map(|r| &r[..]).unwrap_or_default();
    let served: Vec<String> = row.iter().enumerate().filter(|(_, &n)| n > 0).map(|(d, n)| format!("→{}: {n}", d + 1)).collect();
    let block = Block::bordered().title(format!(" Peer {} served ", ui.selected + 1));
    let text = if served.is_empty() { "nothing yet".to_string() } else { served.join("  ") };
    frame.render_widget(Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }).block(block), detail);
}

#[allow(clippy::too_many_arguments)]
fn render_table(
    frame: &mut Frame,
    area: Rect,
    rows: Vec<Row>,
    header: Row,
    widths: &[Constraint],
    title: &str,
    selected: usize,
    theme: &Theme,
) {
    let table = Table::new(rows, widths.iter().copied())
        .header(header)
        .block(Block::bordered().title(title.to_string()))
        .row_highlight_style(theme.selected());
    frame.render_stateful_widget(table, area, &mut TableState::default().with_selected(Some(selected)));
}

fn draw_footer(frame: &mut Frame, area: Rect, ui: &Ui, mode: Mode, theme: &Theme) {
    let mut tabs = Vec::new();
    for view in View::ALL {
        let style = if view == ui.view { theme.selected() } else { theme.dim() };
        tabs.push(Span::styled(format!(" {} ", view.title()), style));
    }
    // Short enough for 80 columns live and 110 in replay, beside the tabs.
    let hints = match mode {
        Mode::Live => "  Tab next  space pause  ? help  q quit",
        Mode::Replay(_) => "  space play  + - speed  ← → step  [ ] 5 s  n p mark  ? help  q quit",
    };
    tabs.push(Span::styled(hints, theme.dim()));
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

fn draw_help(frame: &mut Frame, mode: Mode, theme: &Theme) {
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
    let help = Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: false });
    frame.render_widget(help.block(Block::bordered().title(" Keys ").title_style(theme.title())), area);
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let (width, height) = (width.min(area.width), height.min(area.height));
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}

fn role_letter(role: Role) -> char {
    match role {
        Role::Seed => 'S',
        Role::Peer => 'P',
        Role::Leecher => 'L',
    }
}

fn role_style(role: Role, theme: &Theme) -> ratatui::style::Style {
    match role {
        Role::Seed => theme.seed(),
        Role::Peer => theme.peer(),
        Role::Leecher => theme.leecher(),
    }
}

fn file_name(model: &SwarmModel, file: FileId) -> &str {
    model.header.files.get(file.index()).map_or("?", |f| f.name.as_str())
}

/// `m:ss.s` for a time in microseconds.
pub fn clock(us: u64) -> String {
    let tenths = us / 100_000;
    format!("{}:{:02}.{}", tenths / 600, tenths / 10 % 60, tenths % 10)
}

fn speed(speed: f64) -> String {
    if speed < 1.0 {
        format!("{speed:.1}")
    } else {
        format!("{speed:.0}")
    }
}

/// A bar of `width` cells, filled to `fraction` with eighths for precision.
fn bar(fraction: f64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (fraction.clamp(0.0, 1.0) * (width * 8) as f64).round() as usize;
    let mut out = "█".repeat(eighths / 8);
    if eighths / 8 < width {
        out.push(PARTS[eighths % 8]);
        out.push_str(&" ".repeat(width - eighths / 8 - 1));
    }
    out
}

/// A sparkline: one block per value, as tall as the value against the largest.
fn spark(values: &[u32]) -> String {
    const LEVELS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let most = values.iter().copied().max().unwrap_or(0).max(1);
    values.iter().map(|&v| LEVELS[((v as usize * 8).div_ceil(most as usize)).min(8)]).collect()
}

/// One shade for `n` out of `of`: blank for none, darker for more.
fn heat(n: u32, of: u32) -> char {
    const SHADES: [char; 5] = ['·', '░', '▒', '▓', '█'];
    if n == 0 {
        return ' ';
    }
    SHADES[((n as usize * 4).div_ceil(of.max(1) as usize)).min(4)]
}

/// `values` fitted to `width` cells, stretched or squeezed; a cell holding several values shows
/// the smallest, so rarity shows.
fn fit(values: &[u32], width: usize) -> Vec<u32> {
    if values.is_empty() {
        return Vec::new();
    }
    (0..width)
        .map(|i| {
            let (from, to) = (i * values.len() / width, ((i + 1) * values.len() / width).max(i * values.len() / width + 1));
            values[from..to].iter().copied().min().unwrap_or(0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_sparklines_and_heat() {
        assert_eq!(bar(0.0, 4), "    ");
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.5, 4), "██  ");
        assert_eq!(bar(0.55, 4), "██▎ ");
        assert_eq!(spark(&[0, 1, 4, 8]), " ▁▄█");
        assert_eq!(heat(0, 8), ' ');
        assert_eq!(heat(8, 8), '█');
        assert_eq!(heat(1, 8), '░');
        assert_eq!(fit(&[3, 1, 4, 1, 5, 9], 3), [1, 1, 5]);
        assert_eq!(fit(&[3, 1], 4), [3, 3, 1, 1]);
        assert_eq!(clock(61_234_567), "1:01.2");
    }
}
