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

/// The curves of several runs of one scenario, each `(model, style, name)`, against the first's
/// best possible and bound.
pub(super) fn draw_runs(frame: &mut Frame, area: Rect, runs: &[(&SwarmModel, Style, &str)], theme: &Theme) {
    let Some(&(model, ..)) = runs.first() else { return };
    let ideal = ideal_curve(model);
    let bound = lower_bound(model);
    let curves: Vec<Vec<(f64, f64)>> = runs.iter().map(|(m, ..)| delivered(m)).collect();
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

/// The run so far: round r ends with the chunks delivered in rounds 0..r.
fn delivered(model: &SwarmModel) -> Vec<(f64, f64)> {
    let elapsed = model.now.div_ceil(model.round_us()) as usize;
    let mut run = vec![(0.0, 0.0)];
    let mut delivered = 0u64;
    for round in 0..elapsed.max(model.per_round.len()) {
        delivered += u64::from(model.per_round.get(round).copied().unwrap_or(0));
        run.push(((round + 1) as f64, delivered as f64));
    }
    run
}
