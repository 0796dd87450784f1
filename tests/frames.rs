//! Frames for slides: the asciinema cast of a replay and one frame as SVG, checked against their
//! formats and against what the dashboard draws.

mod common;

use mpitorrent::record::log::Log;
use mpitorrent::tui::app::Ui;
use mpitorrent::tui::frames::{cast, svg, Size};
use mpitorrent::tui::replay::Player;
use mpitorrent::tui::theme::Theme;
use mpitorrent::tui::view::{draw, Mode};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::Path;
use std::process::Command;

const SIZE: Size = Size { width: 120, height: 36 };

fn demo() -> Log {
    Log::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.log")).unwrap()
}

#[test]
fn the_cast_is_asciicast_v2_and_plays_to_the_dashboard_s_final_screen() {
    let log = demo();
    let text = cast(&log, "demo.log", SIZE, &Theme::coloured());
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!((header["version"].as_u64(), header["width"].as_u64(), header["height"].as_u64()), (Some(2), Some(120), Some(36)));
    let mut terminal = vt100::Parser::new(36, 120, 0);
    let mut last = 0.0;
    let mut frames = 0;
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let [time, kind, data] = event.as_array().map(Vec::as_slice).unwrap() else { panic!("not [time, code, data]: {line}") };
        let time = time.as_f64().unwrap();
        assert!(time >= last, "times never go back: {time} after {last}");
        assert_eq!(kind, "o", "output events only");
        terminal.process(data.as_str().unwrap().as_bytes());
        (last, frames) = (time, frames + 1);
    }
    let end = log.events.iter().map(|e| e.at).max().unwrap() as f64 / 1e6;
    assert_eq!(last, end, "the last frame is the end of the run");
    assert!(frames > 50, "about ten frames a second of a 9 s run: {frames}");
    let screen = terminal.screen().contents();
    assert!(screen.contains("peers done 8/8"), "the cast ends where the replay does:\n{screen}");
    assert!(screen.contains("Chunks by round"), "on the overview:\n{screen}");
}

#[test]
fn the_svg_parses_and_holds_the_frame_s_text_cell_by_cell() {
    let log = demo();
    let at = 4_000_000;
    let image = svg(&log, "demo.log", at, SIZE, &Theme::coloured());
    let document = roxmltree::Document::parse(&image).expect("well-formed XML");
    let root = document.root_element();
    assert_eq!((root.tag_name().name(), root.attribute("width"), root.attribute("height")), ("svg", Some("1008"), Some("612")));

    // The same frame, drawn by the dashboard into a test terminal.
    let mut player = Player::of(&log);
    player.pause();
    player.seek(at);
    let status = player.status("demo.log", false, false, None);
    let mut terminal = Terminal::new(TestBackend::new(SIZE.width, SIZE.height)).unwrap();
    terminal.draw(|frame| draw(frame, player.model(), &Ui::default(), Mode::Replay(&status), &Theme::coloured())).unwrap();
    let buffer = terminal.backend().buffer();

    let mut rows = vec![vec![' '; SIZE.width as usize]; SIZE.height as usize];
    for text in root.children().filter(|n| n.has_tag_name("text")) {
        let number = |name| text.attribute(name).unwrap().parse::<f64>().unwrap();
        let (column, row) = ((number("x") / 8.4).round() as usize, (number("y") / 17.0).floor() as usize);
        let content: Vec<char> = text.text().unwrap().chars().collect();
        assert_eq!(number("textLength"), content.len() as f64 * 8.4, "stretched to its cells: {content:?}");
        rows[row][column..column + content.len()].copy_from_slice(&content);
    }
    for (y, row) in rows.iter().enumerate() {
        let drawn: String = (0..SIZE.width).map(|x| buffer[(x, y as u16)].symbol().to_string()).collect();
        assert_eq!(row.iter().collect::<String>(), drawn, "row {y}");
    }
    assert!(image.contains("fill=\"#00ffff\"") || image.contains("fill=\"#00d7d7\""), "chunks that arrived lately, in cyan");
}

#[test]
fn export_refuses_a_moment_past_the_end_or_for_a_format_without_moments() {
    let dir = tempfile::tempdir().unwrap();
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.log");
    let export =
        |args: &[&str]| Command::new(common::BINARY).arg("export").arg(&log).args(args).current_dir(&dir).output().unwrap();
    let late = export(&["--format", "svg", "--at", "1:00", "-o", "frame.svg"]);
    assert_eq!(late.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&late.stderr).contains("--at 60.0 s: "), "{late:?}");
    assert!(String::from_utf8_lossy(&late.stderr).contains("ends at 9.4 s"), "{late:?}");
    assert!(!dir.path().join("frame.svg").exists(), "nothing written");
    let chrome = export(&["--format", "chrome", "--at", "3"]);
    assert_eq!(chrome.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&chrome.stderr).contains("--at gives the moment of an svg frame"), "{chrome:?}");
    let fine = export(&["--format", "svg", "--at", "0:04.5", "--size", "80x24", "-o", "frame.svg"]);
    assert!(fine.status.success(), "{fine:?}");
    assert!(std::fs::read_to_string(dir.path().join("frame.svg")).unwrap().starts_with("<svg "));
}
