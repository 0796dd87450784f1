//! Text cells that draw figures: bars, sparklines, shades.

/// A bar of `width` cells, filled to `fraction` with eighths for precision.
pub(super) fn bar(fraction: f64, width: usize) -> String {
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
pub(super) fn spark(values: &[u32]) -> String {
    const LEVELS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let most = values.iter().copied().max().unwrap_or(0).max(1);
    values.iter().map(|&v| LEVELS[((v as usize * 8).div_ceil(most as usize)).min(8)]).collect()
}

/// One shade for `n` out of `of`: blank for none, darker for more.
pub(super) fn heat(n: u32, of: u32) -> char {
    const SHADES: [char; 5] = ['·', '░', '▒', '▓', '█'];
    if n == 0 {
        return ' ';
    }
    SHADES[((n as usize * 4).div_ceil(of.max(1) as usize)).min(4)]
}

/// `values` fitted to `width` cells, stretched or squeezed; a cell holding several values shows
/// the smallest, so rarity shows.
pub(super) fn fit(values: &[u32], width: usize) -> Vec<u32> {
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
    }
}
