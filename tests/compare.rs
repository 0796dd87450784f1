//! Two runs side by side: `replay A B` headless prints how they differ; the view draws both.

mod common;

use mpitorrent::analysis::compare::compare;
use mpitorrent::tui::theme::Theme;
use mpitorrent::tui::view::caption::{Caption, Marks};
use mpitorrent::tui::view::compare::{draw, CompareStatus, Sides};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::Path;
use std::process::Command;

fn demo() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.log")).unwrap()
}

/// `replay --headless` of the demo log against `other` (the demo log's text, changed).
fn against(other: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), demo()).unwrap();
    std::fs::write(dir.path().join("b.log"), other).unwrap();
    let out = Command::new(common::BINARY).args(["replay", "--headless", "a.log", "b.log"]).current_dir(&dir).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn headless_the_differences_of_two_runs_are_printed() {
    let (code, text) = against(&demo());
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("A: a.log\nB: b.log"), "{text}");
    assert!(text.contains("peer 8 done"), "runs of one scenario compare their peers: {text}");
    assert!(!text.contains(" against "), "no option differs: {text}");

    let (code, text) = against(&demo().replacen("\"in_flight\":8", "\"in_flight\":16", 1));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("in_flight: 8 against 16"), "{text}");

    let (code, text) = against(&demo().replacen("\"name\":\"file1\"", "\"name\":\"other\"", 1));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("other scenarios (other files: "), "{text}");
    assert!(!text.contains("peer 8 done"), "no peers compared: {text}");
}

#[test]
fn follow_and_report_take_one_log() {
    for extra in ["--follow", "--report=r.json"] {
        let out = Command::new(common::BINARY).args(["replay", extra, "a.log", "b.log"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"), "{extra}: {out:?}");
    }
}

#[test]
fn the_compare_view_shows_both_runs_their_curves_and_how_they_differ() {
    let (a, b) = (common::models::scripted(usize::MAX), common::models::scripted(150));
    let comparison = compare(["a.log", "b.log"], [&a, &b]);
    let status =
        CompareStatus { position: b.now, end: a.now, speed: 1.0, playing: false, file: 0, sides: Sides::Both, caption: None };
    for (width, height) in [(80, 24), (160, 48), (20, 5)] {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| draw(frame, [&a, &b], &comparison, &status, &Theme::plain())).unwrap();
        if width == 160 {
            let screen = format!("{:?}", terminal.backend().buffer());
            for part in [" A · 100% ", " B · 46% ", "Chunks by round: ⣿ A ⣿ B", "How the runs differ", "the same options"] {
                assert!(screen.contains(part), "{part}:\n{screen}");
            }
            insta::assert_snapshot!("compare_160x48", screen);
        }
    }
}

#[test]
fn in_a_lesson_the_compare_view_shows_the_caption_and_keeps_the_ending_for_the_end() {
    let (a, b) = (common::models::scripted(usize::MAX), common::models::scripted(150));
    let comparison = compare(["sequential", "rarest first"], [&a, &b]);
    let caption = Caption {
        number: 3,
        count: 6,
        when: "round 30".into(),
        text: "Round 30. In A the maps fill from the left; in B the held chunks are scattered.".into(),
        marks: Marks { peers: vec![0], file: 0, chunks: vec![2] },
        view: None,
        held: true,
    };
    let status = |sides, position| CompareStatus {
        position,
        end: a.now,
        speed: 0.25,
        playing: false,
        file: 0,
        sides,
        caption: Some(caption.clone()),
    };
    let screen = |status: &CompareStatus| {
        let mut terminal = Terminal::new(TestBackend::new(120, 36)).unwrap();
        terminal.draw(|frame| draw(frame, [&a, &b], &comparison, status, &Theme::plain())).unwrap();
        format!("{:?}", terminal.backend().buffer())
    };
    let pieces = screen(&status(Sides::Pieces, b.now));
    for part in ["Lesson 3/6 · round 30", "space goes on", "The runs so far", "Pieces of", "▶  1"] {
        assert!(pieces.contains(part), "{part}:\n{pieces}");
    }
    assert!(!pieces.contains("How the runs differ") && !pieces.contains("Progress"), "no ending, no peers table:\n{pieces}");
    insta::assert_snapshot!("compare_lesson_pieces_120x36", pieces);
    let peers = screen(&status(Sides::Peers, b.now));
    assert!(peers.contains("Progress") && !peers.contains("Pieces of"), "{peers}");
    let at_the_end = screen(&status(Sides::Both, a.now));
    assert!(at_the_end.contains("How the runs differ"), "the summary at the end:\n{at_the_end}");
}
