//! The run against the best possible: chunks delivered by the end of each round, beside the
//! ideal curve of the lower bound (each chunk doubling its holders, then every slot busy).

use crate::analysis::efficiency::{ideal_curve, lower_bound};
use crate::analysis::model::SwarmModel;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType};
use ratatui::Frame;

pub(super) fn draw(frame: &mut Frame, area: Rect, model: &SwarmModel, theme: &Theme) {
    draw_runs(frame, area, &[(model, theme.bar(), "run")], theme);
}

/// The curves of several runs of one scenario, each `(model, style, name)`, in the first one's
/// rounds, against its best possible and bound.
pub(super) fn draw_runs(frame: &mut Frame, area: Rect, runs: &[(&SwarmModel, Style, &str)], theme: &Theme) {
    let Some(&(model, ..)) = runs.first() else { return };
    let ideal = ideal_curve(model);
    let bound = lower_bound(model);
    // Every run in the first one's rounds.
    let round_us = model.round_us();
    let curves: Vec<Vec<(f64, f64)>> = runs.iter().map(|(m, ..)| delivered(m, round_us)).collect();
    let best: Vec<(f64, f64)> =
        std::iter::once((0.0, 0.0)).chain(ideal.iter().enumerate().map(|(r, &c)| ((r + 1) as f64, c as f64))).collect();
    let wanted = runs.iter().map(|(m, ..)| m.chunks_wanted()).max().unwrap_or(0).max(1) as f64;
    let longest = curves.iter().map(|c| c.len() - 1).max().unwrap_or(0);
    let last = longest.max(best.len() - 1).max(bound as usize).max(1) as f64;
    let bound_line = [(bound as f64, 0.0), (bound as f64, wanted)];
    let line = |marker, style, data| Dataset::default().marker(marker).graph_type(GraphType::Line).style(style).data(data);
    let run_lines = curves.iter().zip(runs).map(|(curve, &(_, style, _))| line(Marker::Braille, style, curve));
    let names: Vec<String> = runs.iter().map(|(_, _, name)| format!("⣿ {name}")).collect();
    // Without a chunk time there are no rounds, so no bound to draw.
    let (datasets, title) = match model.header.options.chunk_time_ms {
        0 => (run_lines.collect(), " Chunks delivered, by 0.1 s (no chunk time, no bound) ".to_string()),
        _ => {
            let mut datasets = vec![line(Marker::Dot, theme.dim(), &best), line(Marker::Dot, theme.warning(), &bound_line)];
            datasets.extend(run_lines);
            (datasets, format!(" Chunks by round: {} • best │ bound {bound} ", names.join(" ")))
        }
    };
    let x_labels = [String::from("0"), format!("{}", last as u64)];
    let y_labels = [String::from("0"), format!("{}", wanted as u64)];
    let chart = Chart::new(datasets)
        .block(Block::bordered().title(title))
        .x_axis(Axis::default().bounds([0.0, last]).labels(x_labels).style(theme.dim()))
        .y_axis(Axis::default().bounds([0.0, wanted]).labels(y_labels).style(theme.dim()));
    frame.render_widget(chart, area);
}

/// The run so far, in rounds of `round_us`: round r ends with the chunks delivered in rounds
/// 0..r. Counted afresh from the transfers only for a run whose own rounds are not those.
fn delivered(model: &SwarmModel, round_us: u64) -> Vec<(f64, f64)> {
    let recounted;
    let per_round = match model.round_us() == round_us {
        true => &model.per_round,
        false => {
            let mut counts = Vec::new();
            for t in &model.transfers {
                let round = (t.at / round_us) as usize;
                if round >= counts.len() {
                    counts.resize(round + 1, 0);
                }
                counts[round] += 1;
            }
            recounted = counts;
            &recounted
        }
    };
    let elapsed = model.now.div_ceil(round_us) as usize;
    let mut run = vec![(0.0, 0.0)];
    let mut delivered = 0u64;
    for round in 0..elapsed.max(per_round.len()) {
        delivered += u64::from(per_round.get(round).copied().unwrap_or(0));
        run.push(((round + 1) as f64, delivered as f64));
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::events::{Event, Stamped};
    use crate::protocol::ids::{ChunkIdx, FileId, Rank};
    use crate::scenario::header::{FileSpec, RunHeader};
    use crate::scenario::settings::Settings;

    #[test]
    fn a_run_is_counted_in_the_rounds_of_the_run_it_is_drawn_with() {
        let header = RunHeader {
            peers: 2,
            files: vec![FileSpec { name: "a".into(), chunks: 4 }],
            owned: vec![vec![FileId(0)], vec![]],
            wanted: vec![vec![], vec![FileId(0)]],
            options: Settings { chunk_time_ms: 10, ..Settings::default() },
            capacities: vec![],
            faults: Default::default(),
        };
        let mut model = SwarmModel::new(header);
        for (chunk, at) in [5_000, 15_000, 25_000, 35_000].into_iter().enumerate() {
            let event =
                Event::ChunkReceived { downloader: Rank(2), uploader: Rank(1), file: FileId(0), chunk: ChunkIdx(chunk as u32) };
            model.apply(&Stamped { at, event });
        }
        let ys = |round_us| delivered(&model, round_us).into_iter().map(|(_, y)| y as u32).collect::<Vec<_>>();
        assert_eq!(ys(10_000), [0, 1, 2, 3, 4], "its own rounds of 10 ms");
        assert_eq!(ys(20_000), [0, 2, 4], "rounds of 20 ms: two chunks each");
    }
}
