//! Colours of the dashboard, or none at all when `NO_COLOR` is set (https://no-color.org).

use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug)]
pub struct Theme {
    colour: bool,
}

impl Theme {
    /// Colours unless the environment asks for none.
    pub fn from_env() -> Theme {
        Theme { colour: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) }
    }

    pub fn plain() -> Theme {
        Theme { colour: false }
    }

    pub fn coloured() -> Theme {
        Theme { colour: true }
    }

    fn fg(&self, colour: Color) -> Style {
        if self.colour {
            Style::new().fg(colour)
        } else {
            Style::new()
        }
    }

    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn done(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn bar(&self) -> Style {
        self.fg(Color::Blue)
    }

    pub fn seed(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn peer(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn leecher(&self) -> Style {
        self.fg(Color::Red)
    }

    /// A peer that downloads but never uploads.
    pub fn free_rider(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn busy(&self) -> Style {
        self.fg(Color::Magenta)
    }

    pub fn selected(&self) -> Style {
        // Reverse video shows the selection with or without colour.
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// A chunk that arrived at `fraction` of the time so far: dark teal at the start to bright
    /// cyan now (colours of the 256-colour palette).
    pub fn age(&self, fraction: f64) -> Style {
        const RAMP: [u8; 5] = [23, 30, 37, 44, 51];
        let step = (fraction.clamp(0.0, 1.0) * (RAMP.len() - 1) as f64).round() as usize;
        self.fg(Color::Indexed(RAMP[step]))
    }

    /// What a lesson's caption points at.
    pub fn marked(&self) -> Style {
        self.fg(Color::LightYellow).add_modifier(Modifier::BOLD)
    }

    pub fn warning(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
}
