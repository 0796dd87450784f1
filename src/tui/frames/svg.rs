//! A terminal's cells as SVG: a rectangle for each run of cells with a background, a `<text>` for
//! each run of cells alike, stretched to its cells so that columns line up in any monospace font.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use std::fmt::Write;

const CELL_WIDTH: f64 = 8.4;
const CELL_HEIGHT: f64 = 17.0;
const FONT_SIZE: f64 = 14.0;
/// Where the text of a cell sits, from the cell's top.
const BASELINE: f64 = 13.0;
const FOREGROUND: (u8, u8, u8) = (220, 220, 220);
const BACKGROUND: (u8, u8, u8) = (24, 24, 28);

/// The 16 colours of a terminal's palette, in the order of their numbers.
const PALETTE: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 49, 49),
    (13, 188, 121),
    (229, 229, 16),
    (36, 114, 200),
    (188, 63, 188),
    (17, 168, 205),
    (229, 229, 229),
    (102, 102, 102),
    (241, 76, 76),
    (35, 209, 139),
    (245, 245, 67),
    (59, 142, 234),
    (214, 112, 214),
    (41, 184, 219),
    (255, 255, 255),
];

/// The image of `buffer`, cell by cell.
pub(super) fn image(buffer: &Buffer) -> String {
    let area = buffer.area;
    let (width, height) = (f64::from(area.width) * CELL_WIDTH, f64::from(area.height) * CELL_HEIGHT);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"{FONT_SIZE}\" xml:space=\"preserve\" style=\"white-space:pre\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"{}\"/>\n",
        hex(BACKGROUND)
    );
    for y in 0..area.height {
        let cells: Vec<Cell> = (0..area.width).map(|x| cell(buffer, x, y)).collect();
        for run in cells.chunk_by(|a, b| a.fg == b.fg && a.bg == b.bg && a.bold == b.bold) {
            let (x, top) = (f64::from(run[0].x) * CELL_WIDTH, f64::from(y) * CELL_HEIGHT);
            let span = run.len() as f64 * CELL_WIDTH;
            if run[0].bg != BACKGROUND {
                let _ = writeln!(
                    svg,
                    "<rect x=\"{x}\" y=\"{top}\" width=\"{span}\" height=\"{CELL_HEIGHT}\" fill=\"{}\"/>",
                    hex(run[0].bg)
                );
            }
            let text: String = run.iter().map(|c| c.symbol.as_str()).collect();
            if text.trim().is_empty() {
                continue;
            }
            let weight = if run[0].bold { " font-weight=\"bold\"" } else { "" };
            let _ = writeln!(
                svg,
                "<text x=\"{x}\" y=\"{}\" fill=\"{}\"{weight} textLength=\"{span}\" lengthAdjust=\"spacingAndGlyphs\">{}</text>",
                top + BASELINE,
                hex(run[0].fg),
                escape(&text)
            );
        }
    }
    svg + "</svg>\n"
}

/// One cell as drawn: where, what, in which colours.
struct Cell {
    x: u16,
    symbol: String,
    fg: (u8, u8, u8),
    bg: (u8, u8, u8),
    bold: bool,
}

fn cell(buffer: &Buffer, x: u16, y: u16) -> Cell {
    let cell = &buffer[(x, y)];
    let (mut fg, mut bg) = (rgb(cell.fg, FOREGROUND), rgb(cell.bg, BACKGROUND));
    if cell.modifier.contains(Modifier::REVERSED) {
        (fg, bg) = (bg, fg);
    }
    let bold = cell.modifier.contains(Modifier::BOLD);
    Cell { x, symbol: cell.symbol().to_string(), fg, bg, bold }
}

/// A colour as red, green and blue, `default` for the terminal's own.
fn rgb(colour: Color, default: (u8, u8, u8)) -> (u8, u8, u8) {
    let named = |n: usize| PALETTE[n];
    match colour {
        Color::Reset => default,
        Color::Black => named(0),
        Color::Red => named(1),
        Color::Green => named(2),
        Color::Yellow => named(3),
        Color::Blue => named(4),
        Color::Magenta => named(5),
        Color::Cyan => named(6),
        Color::Gray => named(7),
        Color::DarkGray => named(8),
        Color::LightRed => named(9),
        Color::LightGreen => named(10),
        Color::LightYellow => named(11),
        Color::LightBlue => named(12),
        Color::LightMagenta => named(13),
        Color::LightCyan => named(14),
        Color::White => named(15),
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(n) => indexed(n),
    }
}

/// A colour of the 256-colour palette: the 16, a 6x6x6 cube, then 24 greys.
fn indexed(n: u8) -> (u8, u8, u8) {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    match n {
        0..=15 => PALETTE[n as usize],
        16..=231 => {
            let n = n - 16;
            (LEVELS[(n / 36) as usize], LEVELS[(n / 6 % 6) as usize], LEVELS[(n % 6) as usize])
        }
        _ => {
            let grey = 8 + 10 * (n - 232);
            (grey, grey, grey)
        }
    }
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_256_colour_palette_is_the_sixteen_a_cube_and_greys() {
        assert_eq!(indexed(1), PALETTE[1]);
        assert_eq!(indexed(16), (0, 0, 0));
        assert_eq!(indexed(51), (0, 255, 255), "the brightest cyan of the piece maps");
        assert_eq!(indexed(23), (0, 95, 95));
        assert_eq!(indexed(231), (255, 255, 255));
        assert_eq!((indexed(232), indexed(255)), ((8, 8, 8), (238, 238, 238)));
    }
}
