//! The dashboard drawn into a fixed-size test terminal, live and in replay, every view: what a
//! user sees, kept as snapshots (`cargo insta review` after a deliberate change).

mod common;

use common::models::{crowd, scripted};
use mpitorrent::analysis::model::SwarmModel;
use mpitorrent::tui::app::{Ui, View};
use mpitorrent::tui::theme::Theme;
use mpitorrent::tui::view::caption::{Caption, Marks};
use mpitorrent::tui::view::{draw, Mode, ReplayStatus};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn render(model: &SwarmModel, ui: &Ui, mode: Mode, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw(frame, model, ui, mode, &Theme::plain())).unwrap();
    terminal.backend().to_string()
}

fn ui(view: View, selected: usize) -> Ui {
    Ui { view, selected, ..Ui::default() }
}

#[test]
fn live_peers_mid_run() {
    insta::assert_snapshot!(render(&scripted(120), &ui(View::Peers, 2), Mode::Live, 110, 18));
}

#[test]
fn live_files_show_swarms_and_rarity() {
    insta::assert_snapshot!(render(&scripted(120), &ui(View::Files, 2), Mode::Live, 110, 18));
}

#[test]
fn live_transfers_newest_first() {
    insta::assert_snapshot!(render(&scripted(120), &ui(View::Transfers, 0), Mode::Live, 80, 14));
}

#[test]
fn live_upload_matrix() {
    insta::assert_snapshot!(render(&scripted(120), &ui(View::Matrix, 0), Mode::Live, 80, 16));
}

#[test]
fn live_finished_with_summary() {
    let model = scripted(usize::MAX);
    assert!(model.finished.is_some());
    insta::assert_snapshot!(render(&model, &ui(View::Peers, 0), Mode::Live, 110, 18));
}

#[test]
fn faults_show_in_the_header_and_the_peers_they_hit() {
    use mpitorrent::protocol::events::{Event, Stamped};
    use mpitorrent::protocol::ids::{ChunkIdx, FileId, Rank};
    let mut model = scripted(120);
    let at = model.now + 1000;
    let (file, chunk) = (FileId(2), ChunkIdx(0));
    for event in [
        Event::PeerLeft { peer: Rank(2) },
        Event::ChunkTimedOut { downloader: Rank(6), uploader: Rank(2), file, chunk },
        Event::ChunkRejected { downloader: Rank(3), uploader: Rank(1), file: FileId(0), chunk },
        Event::FileAbandoned { peer: Rank(6), file },
    ] {
        model.apply(&Stamped { at, event });
    }
    let screen = render(&model, &ui(View::Peers, 0), Mode::Live, 110, 18);
    assert!(screen.contains("faults: 1 left, 1 files given up, 1 timeouts, 1 wrong hashes"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn the_now_column_says_why_a_peer_that_wants_chunks_asks_for_none() {
    use mpitorrent::protocol::events::{Event, Stamped, Wait};
    use mpitorrent::protocol::ids::{FileId, Rank};
    let mut model = scripted(120);
    let at = model.now;
    let reasons = [(3, Wait::NoHolder), (4, Wait::HoldersBusy), (5, Wait::Limit), (6, Wait::Tracker)];
    for (peer, why) in reasons {
        model.apply(&Stamped { at, event: Event::Waiting { peer: Rank(peer), file: FileId(0), why: Some(why) } });
    }
    // Peer 3's request is answered: nothing of its is on its way.
    let (uploader, file, chunk) = (Rank(1), FileId(0), mpitorrent::protocol::ids::ChunkIdx(0));
    model.apply(&Stamped { at, event: Event::ChunkNacked { downloader: Rank(3), uploader, file, chunk } });
    let screen = render(&model, &ui(View::Peers, 0), Mode::Live, 110, 18);
    let row = |peer: u32| {
        let start = format!("│{peer:>4} ");
        screen.lines().find(|l| l.contains(&start)).unwrap_or_else(|| panic!("peer {peer}:\n{screen}")).to_string()
    };
    assert!(row(3).contains("no holder") && !row(3).contains('←'), "nothing on its way, no download shown:\n{screen}");
    assert!(row(4).contains("busy ←1 alpha#"), "busy, and downloading what its holders serve:\n{screen}");
    assert!(row(5).contains("limit ←1 alpha#0"), "{screen}");
    assert!(row(6).contains("tracker"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn a_choking_run_shows_whom_each_peer_unchokes_and_marks_free_riders() {
    use mpitorrent::protocol::events::{Event, Stamped, Wait};
    use mpitorrent::protocol::ids::{ChunkIdx, FileId, Rank};
    use mpitorrent::protocol::strategy::PeerChoice;
    let mut model = scripted(120);
    model.header.options.strategy.peers = PeerChoice::TitForTat;
    model.header.faults.freeride = vec![Rank(6)];
    let at = model.now;
    let unchoked =
        |uploader, downloader, optimistic| Event::Unchoked { uploader: Rank(uploader), downloader: Rank(downloader), optimistic };
    // Peer 1 serves 3 and 5 and tries 4; peer 2 serves 1 and tries the free rider; then 1 chokes 4,
    // refuses its request, and 4 waits, choked.
    for event in [
        unchoked(1, 5, false),
        unchoked(1, 3, false),
        unchoked(1, 4, true),
        unchoked(2, 1, false),
        unchoked(2, 6, true),
        Event::Choked { uploader: Rank(1), downloader: Rank(4) },
        Event::ChunkChoked { downloader: Rank(4), uploader: Rank(1), file: FileId(0), chunk: ChunkIdx(24) },
        Event::Waiting { peer: Rank(4), file: FileId(0), why: Some(Wait::Choked) },
    ] {
        model.apply(&Stamped { at, event });
    }
    let screen = render(&model, &ui(View::Peers, 0), Mode::Live, 110, 18);
    let row = |screen: &str, start: &str| {
        screen.lines().find(|l| l.contains(start)).unwrap_or_else(|| panic!("{start}:\n{screen}")).to_string()
    };
    assert!(row(&screen, "Peer Progress").contains("Unchokes"), "{screen}");
    assert!(row(&screen, "│   1 ").contains(" 3 5 "), "regular unchokes in rank order:\n{screen}");
    assert!(row(&screen, "│   2 ").contains(" 1 ~6 "), "the optimistic unchoke last, marked:\n{screen}");
    assert!(row(&screen, "│   4 ").contains("choked") && !row(&screen, "│   4 ").contains('←'), "{screen}");
    assert!(row(&screen, "│✗  6 ").contains("←2 gamma#"), "the free rider marked, downloading:\n{screen}");
    insta::assert_snapshot!(screen);
    let small = render(&model, &ui(View::Peers, 0), Mode::Live, 80, 24);
    assert!(row(&small, "│   2 ").contains(" 1 ~6 ") && row(&small, "│✗  6 ").contains("←2"), "it fits at 80x24:\n{small}");
    let overview = render(&model, &ui(View::Overview, 0), Mode::Live, 80, 24);
    assert!(overview.contains("│✗  6 ") && !overview.contains("Unchokes"), "the overview marks free riders only:\n{overview}");
    let help = render(&model, &Ui { help: true, ..Ui::default() }, Mode::Live, 80, 24);
    assert!(help.contains("│Unchokes ~R: optimistic · ✗ free rider") && help.contains("│Chart   ⣿"), "it fits at 80x24:\n{help}");
}

#[test]
fn help_overlay() {
    let help = Ui { help: true, ..Ui::default() };
    let screen = render(&scripted(10), &help, Mode::Live, 80, 24);
    for section in ["Every view", "Overview, Pieces", "Files", "Time", "What the marks say", "pause the view"] {
        assert!(screen.contains(section), "{section}:\n{screen}");
    }
    assert!(screen.contains("│Chart   ⣿ delivered"), "the last line fits at 80x24:\n{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn replay_with_timeline_and_markers() {
    let model = scripted(200);
    let status = ReplayStatus {
        name: "run.log".into(),
        position: model.now,
        end: 4_000_000,
        speed: 2.0,
        playing: true,
        markers: vec![1_000_000, 2_500_000],
        following: false,
        events: (811, 2605),
        note: Some("run.log:812: damaged line; replaying the 811 events before it".into()),
        cut: true,
        caption: None,
    };
    insta::assert_snapshot!(render(&model, &ui(View::Peers, 0), Mode::Replay(&status), 110, 20));
}

/// A lesson's caption, as a replay shows it when it stops there: peers 1 and 3 and chunk 7 marked.
fn caption(held: bool) -> Caption {
    Caption {
        number: 2,
        count: 5,
        when: "round 30".into(),
        text: "Round 30. Peer 1 is the seed; peer 3 has chunk 7, which nobody else holds yet.".into(),
        marks: Marks { peers: vec![0, 2], file: 0, chunks: vec![7] },
        view: None,
        held,
    }
}

#[test]
fn a_lesson_caption_sits_under_the_view_and_marks_its_peers_and_chunks() {
    let model = scripted(120);
    let status = |held: bool| ReplayStatus {
        name: "lesson demo".into(),
        position: model.now,
        end: 4_000_000,
        speed: 0.25,
        playing: !held,
        markers: vec![0, model.now],
        following: false,
        events: (120, 2605),
        note: None,
        cut: false,
        caption: Some(caption(held)),
    };
    let held = status(true);
    let ui = Ui { chunk: 7, ..Ui::default() };
    let screen = render(&model, &ui, Mode::Replay(&held), 120, 36);
    for part in ["Lesson 2/5 · round 30", "space goes on", "Round 30. Peer 1 is the seed", "▶  1", "▶  3", "◆"] {
        assert!(screen.contains(part), "{part}:\n{screen}");
    }
    insta::assert_snapshot!(screen);
    let playing = render(&model, &ui, Mode::Replay(&status(false)), 120, 36);
    assert!(!playing.contains("space goes on") && playing.contains("n p captions"), "{playing}");
    let small = render(&model, &ui, Mode::Replay(&held), 80, 24);
    assert!(
        small.contains("Lesson 2/5") && small.contains("Round 30. Peer 1") && small.contains("holds yet."),
        "the whole caption fits at 80x24:\n{small}"
    );
}

#[test]
fn every_view_draws_at_every_size_live_and_in_replay() {
    let model = scripted(50);
    let status = ReplayStatus {
        name: "run.log".into(),
        position: model.now,
        end: model.now,
        speed: 1.0,
        playing: false,
        markers: vec![0],
        following: true,
        events: (10, 10),
        note: None,
        cut: false,
        caption: Some(caption(false)),
    };
    for mode in [Mode::Live, Mode::Replay(&status)] {
        for view in View::ALL {
            for help in [false, true] {
                for (width, height) in [(1, 1), (20, 5), (40, 10), (80, 24), (200, 60), (250, 70)] {
                    let text = render(&model, &Ui { view, help, ..Ui::default() }, mode, width, height);
                    if height >= 5 {
                        assert!(text.starts_with("\"┌"), "the header frame is drawn at {width}x{height}:\n{text}");
                    }
                }
            }
        }
    }
}

#[test]
fn a_large_swarm_scrolls_to_the_selection_and_shades_the_matrix() {
    let model = crowd();
    let peers = render(&model, &ui(View::Peers, 99), Mode::Live, 120, 30);
    assert!(peers.lines().any(|l| l.starts_with("\"│ 100 ")), "the selected peer is on screen:\n{peers}");
    assert!(!peers.lines().any(|l| l.starts_with("\"│   1 ")), "the first rows scrolled away");
    let matrix = render(&model, &ui(View::Matrix, 0), Mode::Live, 120, 30);
    assert!(matrix.contains("first columns"), "a matrix wider than the screen says it is cut:\n{matrix}");
    assert!(matrix.lines().nth(6).is_some_and(|l| l.contains('░') || l.contains('█')), "{matrix}");
}

#[test]
fn pieces_map_the_file_selected_in_the_files_view() {
    let model = scripted(120);
    let pieces = Ui { view: View::Pieces, file: 0, selected: 1, ..Ui::default() };
    let screen = render(&model, &pieces, Mode::Live, 110, 18);
    let name = &model.header.files[0].name;
    assert!(screen.contains(&format!("Pieces of {name}: a column per chunk")), "{screen}");
    insta::assert_snapshot!(screen);
    let done = render(&scripted(usize::MAX), &pieces, Mode::Live, 110, 18);
    let marks = done.lines().find(|l| l.contains("Peer  Held")).unwrap();
    assert!(done.contains("100% ████") && !marks.contains('▼'), "no chunk is rarer once every peer holds all:\n{done}");
}

#[test]
fn pieces_of_128_peers_bin_their_columns_when_they_do_not_fit() {
    let model = crowd();
    let narrow = render(&model, &ui(View::Pieces, 0), Mode::Live, 80, 24);
    assert!(narrow.contains("a column per 2 chunks"), "100 chunks in 67 columns:\n{narrow}");
    let halfway = format!("\"│   2   50% {}{}", "█".repeat(25), "·".repeat(25));
    assert!(narrow.lines().any(|l| l.starts_with(&halfway)), "a peer halfway through, binned:\n{narrow}");
    insta::assert_snapshot!("pieces_80x24", narrow);
    let wide = render(&model, &ui(View::Pieces, 127), Mode::Live, 160, 48);
    assert!(wide.contains("a column per chunk"), "{wide}");
    assert!(wide.lines().any(|l| l.starts_with("\"│ 128   50% ██")), "the selected last peer is on screen:\n{wide}");
    assert!(!wide.lines().any(|l| l.starts_with("\"│   1 ")), "the first rows scrolled away");
    insta::assert_snapshot!("pieces_160x48", wide);
}

#[test]
fn a_chunk_s_spread_follows_its_sources_hop_by_hop_against_the_doubling_bound() {
    use mpitorrent::analysis::spread::spread;
    use mpitorrent::protocol::events::{Event, Stamped};
    use mpitorrent::protocol::ids::{ChunkIdx, FileId, Rank};
    let mut model = common::models::crowd_of(8);
    for (at, down, up) in [(10, 2, 1), (20, 3, 1), (21, 4, 2), (30, 5, 4)] {
        let event = Event::ChunkReceived { downloader: Rank(down), uploader: Rank(up), file: FileId(0), chunk: ChunkIdx(7) };
        model.apply(&Stamped { at, event });
    }
    let tree = spread(&model, FileId(0), ChunkIdx(7));
    let hops: Vec<(u32, Option<u32>, usize)> = tree.holders.iter().map(|h| (h.peer.0, h.from.map(|f| f.0), h.depth)).collect();
    assert_eq!(hops, [(1, None, 0), (2, Some(1), 1), (3, Some(1), 1), (4, Some(2), 2), (5, Some(4), 3)]);
    assert_eq!((tree.peers, tree.depth, tree.bound), (128, 3, 7), "⌈log₂ 128⌉ = 7");
    assert_eq!(spread(&model, FileId(3), ChunkIdx(0)).holders, [], "no such file");
    let shown = render(&model, &Ui { view: View::Pieces, chunk: 7, ..Ui::default() }, Mode::Live, 120, 30);
    assert!(shown.contains("Chunk 7 ◆ (< >): 5 of 128 peers hold it; depth 3 against ⌈log₂ 128⌉ = 7"), "{shown}");
    assert!(shown.contains("hop 2: 4←2 0:00.0   hop 3: 5←4 0:00.0"), "{shown}");
}

/// The row of `screen` (as `render` gives it) whose text holds `what`, and the column it starts.
fn find(screen: &str, what: &str) -> (u16, u16) {
    let (row, line) = screen.lines().enumerate().find(|(_, l)| l.contains(what)).unwrap_or_else(|| panic!("{what}:\n{screen}"));
    let before = &line[1..line.find(what).unwrap()];
    (row as u16, before.chars().count() as u16)
}

#[test]
fn the_overview_comes_first_with_its_four_panels_at_80x24_and_160x48() {
    let model = scripted(120);
    assert_eq!(Ui::default().view, View::Overview);
    for (width, height) in [(80, 24), (160, 48)] {
        let screen = render(&model, &Ui::default(), Mode::Live, width, height);
        for panel in ["┌ Peers", "┌ Pieces of alpha", "┌ Chunks by round", "┌ Latest transfers"] {
            assert!(screen.contains(panel), "{panel} at {width}x{height}:\n{screen}");
        }
        assert!(screen.contains("◆ 0: 3/4 hold it, depth 1, ⌈log₂ 4⌉ = 2"), "{screen}");
        insta::assert_snapshot!(format!("overview_{width}x{height}"), screen);
    }
}

#[test]
fn the_overview_of_128_peers_and_2000_chunks_scrolls_and_bins() {
    let model = common::models::crowd_of(2000);
    let screen = render(&model, &ui(View::Overview, 99), Mode::Live, 160, 48);
    assert!(screen.lines().any(|l| l.starts_with("\"│ 100 ")), "the selected peer is on screen:\n{screen}");
    assert!(screen.contains("a column per 27 chunks"), "2000 chunks binned into the map's 75 columns:\n{screen}");
    assert!(screen.contains("no chunk time, no bound"), "{screen}");
    insta::assert_snapshot!("overview_128_peers", screen);
}

#[test]
fn the_time_space_view_draws_each_transfer_from_uploader_to_downloader() {
    let model = scripted(120);
    let small = render(&model, &ui(View::Time, 2), Mode::Live, 80, 24);
    // Six peers in 16 lines: two lines a peer, and two columns a round.
    assert!(small.contains("Time 0:00.4–0:01.2 · a column per 1/2 round · a line per transfer"), "{small}");
    let (top, _) = find(&small, "   1 ");
    let braille = |line: &str| line.chars().filter(|c| ('\u{2801}'..='\u{28ff}').contains(c)).count();
    for (peer, row) in (top..top + 12).step_by(2).enumerate() {
        let line = small.lines().nth(row as usize).unwrap();
        assert!(line.contains(&format!("   {} ", peer + 1)), "the label in the middle of its lines: {line}\n{small}");
        assert!(braille(line) > 10, "every peer sends or gets chunks: {line}\n{small}");
    }
    insta::assert_snapshot!("time_80x24", small);
    insta::assert_snapshot!("time_160x48", render(&model, &ui(View::Time, 2), Mode::Live, 160, 48));
    let crowd = render(&common::models::crowd(), &ui(View::Time, 99), Mode::Live, 160, 48);
    assert!(crowd.contains("the selected peer's bright (others: arrivals as dots)"), "{crowd}");
    assert!(crowd.lines().any(|l| l.starts_with("\"│ 100 ")), "rows scroll to the selected peer:\n{crowd}");
    insta::assert_snapshot!("time_128_peers", crowd);
}

#[test]
fn clicks_select_the_tab_the_peer_and_the_chunk_under_the_mouse() {
    use mpitorrent::tui::keys::Key;
    use mpitorrent::tui::view::press;
    use ratatui::layout::Rect;
    let model = scripted(120);
    let area = Rect::new(0, 0, 160, 48);
    let mut ui = Ui::default();
    let screen = render(&model, &ui, Mode::Live, 160, 48);
    let click = |ui: &mut Ui, (row, column): (u16, u16)| press(ui, Key::Click { column, row }, &model, Mode::Live, area);
    // Peer 4's row of the peers panel.
    click(&mut ui, find(&screen, "│   4 ██████"));
    assert_eq!(ui.selected, 3, "{screen}");
    // The fifth column of the piece map, in peer 5's row.
    let (row, column) = find(&screen, "│   5    0% ");
    click(&mut ui, (row, column + 12 + 4));
    assert_eq!((ui.chunk, ui.selected), (4, 4), "the chunk and the peer of the row");
    let screen = render(&model, &ui, Mode::Live, 160, 48);
    assert!(screen.contains("◆ 4: "), "{screen}");
    click(&mut ui, find(&screen, " Time "));
    assert_eq!(ui.view, View::Time);
    let screen = render(&model, &ui, Mode::Live, 160, 48);
    click(&mut ui, find(&screen, "   2 "));
    assert_eq!(ui.selected, 1, "a row of the time-space view");
    let (row, column) = find(&screen, " Files ");
    click(&mut ui, (row, column + 1));
    let screen = render(&model, &ui, Mode::Live, 160, 48);
    click(&mut ui, find(&screen, "gamma"));
    click(&mut ui, find(&screen, "gamma"));
    assert_eq!((ui.view, ui.file), (View::Pieces, 2), "a second click on a file opens its pieces");
    let screen = render(&model, &ui, Mode::Live, 160, 48);
    assert!(screen.contains("Pieces of gamma"), "{screen}");
    assert_eq!(click(&mut ui, (0, 0)), mpitorrent::tui::app::Command::None, "the header selects nothing");
}
