//! Benchmark: the time to draw one dashboard frame of a 128-peer swarm, per view, into an
//! off-screen terminal of 200 x 60 cells, and of the overview, pieces and time views of a file of
//! 2000 chunks.
//! `cargo bench --bench dashboard`.

#[path = "../tests/common/mod.rs"]
mod common;

use mpitorrent::tui::app::{Ui, View};
use mpitorrent::tui::theme::Theme;
use mpitorrent::tui::view::{draw, Mode};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::Instant;

const FRAMES: u32 = 300;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark skipped: run it with cargo bench --bench dashboard");
        return;
    }
    let model = common::models::crowd();
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("test terminal");
    println!("| view (128 peers, 200 x 60 cells) | mean time per frame |");
    println!("|---|---|");
    for view in View::ALL {
        let ui = Ui { view, selected: 64, ..Ui::default() };
        let theme = Theme::coloured();
        let started = Instant::now();
        for _ in 0..FRAMES {
            terminal.draw(|frame| draw(frame, &model, &ui, Mode::Live, &theme)).expect("drawn");
        }
        println!("| {} | {:.2} ms |", view.title(), started.elapsed().as_secs_f64() * 1e3 / f64::from(FRAMES));
    }
    let large = common::models::crowd_of(2000);
    for view in [View::Overview, View::Pieces, View::Time] {
        let ui = Ui { view, selected: 64, ..Ui::default() };
        let started = Instant::now();
        for _ in 0..FRAMES {
            terminal.draw(|frame| draw(frame, &large, &ui, Mode::Live, &Theme::coloured())).expect("drawn");
        }
        let mean = started.elapsed().as_secs_f64() * 1e3 / f64::from(FRAMES);
        println!("| {} of 2000 chunks | {mean:.2} ms |", view.title());
    }
}
