//! The viewer's own state (which view, which row, paused or not, help shown), and how keys
//! change it. Pure: the loops in `live` and `replay` feed it keys and draw it.

use crate::tui::keys::Key;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Peers,
    Files,
    Pieces,
    Transfers,
    Matrix,
}

impl View {
    pub const ALL: [View; 5] = [View::Peers, View::Files, View::Pieces, View::Transfers, View::Matrix];

    pub fn title(self) -> &'static str {
        match self {
            View::Peers => "Peers",
            View::Files => "Files",
            View::Pieces => "Pieces",
            View::Transfers => "Transfers",
            View::Matrix => "Matrix",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ui {
    pub view: View,
    /// The selected row of the view (a peer, a file, a transfer, an uploader).
    pub selected: usize,
    /// The file the pieces view maps: the one last selected in the files view.
    pub file: usize,
    /// The chunk of that file whose spread the pieces view shows.
    pub chunk: usize,
    pub help: bool,
    /// The live view is frozen (the run goes on).
    pub paused: bool,
}

/// What a key asks of the loop beyond the viewer's own state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    None,
    Quit,
    /// A key the loop handles itself (replay controls).
    Other(Key),
}

impl Default for Ui {
    fn default() -> Self {
        Ui { view: View::Peers, selected: 0, file: 0, chunk: 0, help: false, paused: false }
    }
}

impl Ui {
    /// Applies a key; `rows` is how many rows the current view has.
    pub fn key(&mut self, key: Key, rows: usize) -> Command {
        if self.help {
            // Any key closes the help; q and Ctrl-C still quit.
            self.help = false;
            return if matches!(key, Key::Char('q') | Key::CtrlC) { Command::Quit } else { Command::None };
        }
        let last = rows.saturating_sub(1);
        match key {
            Key::Char('q') | Key::Esc | Key::CtrlC => return Command::Quit,
            Key::Char('?') => self.help = true,
            Key::Tab => self.switch(1),
            Key::BackTab => self.switch(View::ALL.len() - 1),
            Key::Down | Key::Char('j') => self.selected = (self.selected + 1).min(last),
            Key::Up | Key::Char('k') => self.selected = self.selected.saturating_sub(1),
            Key::PageDown => self.selected = (self.selected + 10).min(last),
            Key::PageUp => self.selected = self.selected.saturating_sub(10),
            Key::Char('g') => self.selected = 0,
            Key::Char('G') => self.selected = last,
            Key::Char('<') if self.view == View::Pieces => self.chunk = self.chunk.saturating_sub(1),
            Key::Char('>') if self.view == View::Pieces => self.chunk += 1,
            other => return Command::Other(other),
        }
        Command::None
    }

    fn switch(&mut self, by: usize) {
        if self.view == View::Files {
            self.file = self.selected;
        }
        let at = View::ALL.iter().position(|&v| v == self.view).expect("a view");
        self.view = View::ALL[(at + by) % View::ALL.len()];
        self.selected = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_cycles_views_and_arrows_move_within_bounds() {
        let mut ui = Ui::default();
        assert_eq!(ui.key(Key::Down, 3), Command::None);
        ui.key(Key::Char('j'), 3);
        ui.key(Key::Down, 3);
        assert_eq!(ui.selected, 2);
        ui.key(Key::Up, 3);
        assert_eq!(ui.selected, 1);
        ui.key(Key::Tab, 3);
        assert_eq!((ui.view, ui.selected), (View::Files, 0));
        ui.key(Key::Down, 3);
        ui.key(Key::Tab, 3);
        assert_eq!((ui.view, ui.selected, ui.file), (View::Pieces, 0, 1), "the pieces of the file selected");
        ui.key(Key::Char('>'), 3);
        ui.key(Key::Char('>'), 3);
        ui.key(Key::Char('<'), 3);
        assert_eq!(ui.chunk, 1, "< > choose the chunk whose spread is shown");
        ui.key(Key::BackTab, 3);
        ui.key(Key::BackTab, 3);
        ui.key(Key::BackTab, 3);
        assert_eq!(ui.view, View::Matrix);
        ui.key(Key::Char('G'), 64);
        assert_eq!(ui.selected, 63);
    }

    #[test]
    fn help_opens_and_any_key_closes_it_and_quit_keys_quit() {
        let mut ui = Ui::default();
        ui.key(Key::Char('?'), 1);
        assert!(ui.help);
        assert_eq!(ui.key(Key::Down, 1), Command::None);
        assert!(!ui.help);
        for key in [Key::Char('q'), Key::Esc, Key::CtrlC] {
            assert_eq!(Ui::default().key(key, 1), Command::Quit);
        }
        assert_eq!(ui.key(Key::Char(' '), 1), Command::Other(Key::Char(' ')));
    }
}
