//! The viewer's own state (which view, which row, paused or not, help shown), and how keys
//! change it. Pure: the loops in `live` and `replay` feed it keys and draw it.

use crate::tui::keys::Key;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Overview,
    Peers,
    Files,
    Pieces,
    Time,
    Transfers,
    Matrix,
}

impl View {
    /// In the order of the tabs, and of the digit keys that jump to them.
    pub const ALL: [View; 7] =
        [View::Overview, View::Peers, View::Files, View::Pieces, View::Time, View::Transfers, View::Matrix];

    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::Peers => "Peers",
            View::Files => "Files",
            View::Pieces => "Pieces",
            View::Time => "Time",
            View::Transfers => "Transfers",
            View::Matrix => "Matrix",
        }
    }

    /// Whether its rows are the peers, rank 1 first, so a selected peer stays selected.
    fn rows_are_peers(self) -> bool {
        matches!(self, View::Overview | View::Peers | View::Time | View::Matrix)
    }

    /// Whether it maps the pieces of one file, whose file and chunk the keys choose.
    pub fn maps_pieces(self) -> bool {
        matches!(self, View::Overview | View::Pieces)
    }
}

/// What a mouse click landed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A row of the view shown.
    Row(usize),
    /// A chunk of the file mapped, and the row of the peer clicked.
    Chunk { chunk: usize, row: Option<usize> },
    /// A tab.
    View(View),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ui {
    pub view: View,
    /// The selected row of the view (a peer, a file, a transfer, an uploader).
    pub selected: usize,
    /// The file the piece maps show: the one last selected in the files view, or chosen by `f`.
    pub file: usize,
    /// The chunk of that file whose spread is shown.
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
        Ui { view: View::Overview, selected: 0, file: 0, chunk: 0, help: false, paused: false }
    }
}

impl Ui {
    /// Applies a key; `rows` is how many rows the current view has, `files` how many files the
    /// run has.
    pub fn key(&mut self, key: Key, rows: usize, files: usize) -> Command {
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
            Key::Char(digit @ '1'..='7') => self.show(View::ALL[digit as usize - '1' as usize]),
            Key::Enter if self.view == View::Files => self.show(View::Pieces),
            Key::Char('<') if self.view.maps_pieces() => self.chunk = self.chunk.saturating_sub(1),
            Key::Char('>') if self.view.maps_pieces() => self.chunk += 1,
            Key::Char('f') if self.view.maps_pieces() => (self.file, self.chunk) = ((self.file + 1) % files.max(1), 0),
            Key::Char('F') if self.view.maps_pieces() => {
                (self.file, self.chunk) = ((self.file + files.max(1) - 1) % files.max(1), 0)
            }
            other => return Command::Other(other),
        }
        Command::None
    }

    /// Applies a click on `target`; a click on the selected row of the files view opens its pieces.
    pub fn click(&mut self, target: Target) {
        match target {
            Target::View(view) => self.show(view),
            Target::Row(row) if self.view == View::Files && row == self.selected => self.show(View::Pieces),
            Target::Row(row) => self.selected = row,
            Target::Chunk { chunk, row } => {
                self.chunk = chunk;
                self.selected = row.unwrap_or(self.selected);
            }
        }
    }

    fn switch(&mut self, by: usize) {
        let at = View::ALL.iter().position(|&v| v == self.view).expect("a view");
        self.show(View::ALL[(at + by) % View::ALL.len()]);
    }

    /// Shows `view`: the file selected in the files view becomes the one mapped, and a selected
    /// peer stays selected in the views whose rows are peers.
    pub fn show(&mut self, view: View) {
        if self.view == View::Files && self.file != self.selected {
            (self.file, self.chunk) = (self.selected, 0);
        }
        let keep = self.view.rows_are_peers() && view.rows_are_peers();
        self.selected = match view {
            View::Files => self.file,
            _ if keep => self.selected,
            _ => 0,
        };
        self.view = view;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_cycles_views_and_arrows_move_within_bounds() {
        let mut ui = Ui::default();
        assert_eq!(ui.view, View::Overview, "the overview comes first");
        assert_eq!(ui.key(Key::Down, 3, 1), Command::None);
        ui.key(Key::Char('j'), 3, 1);
        ui.key(Key::Down, 3, 1);
        assert_eq!(ui.selected, 2);
        ui.key(Key::Up, 3, 1);
        ui.key(Key::Tab, 3, 1);
        assert_eq!((ui.view, ui.selected), (View::Peers, 1), "the peer selected stays selected");
        ui.key(Key::Tab, 3, 1);
        assert_eq!((ui.view, ui.selected), (View::Files, 0));
        ui.key(Key::Down, 3, 3);
        ui.key(Key::Tab, 3, 3);
        assert_eq!((ui.view, ui.selected, ui.file), (View::Pieces, 0, 1), "the pieces of the file selected");
        ui.key(Key::Char('>'), 3, 3);
        ui.key(Key::Char('>'), 3, 3);
        ui.key(Key::Char('<'), 3, 3);
        assert_eq!(ui.chunk, 1, "< > choose the chunk whose spread is shown");
        for _ in 0..4 {
            ui.key(Key::BackTab, 3, 3);
        }
        assert_eq!(ui.view, View::Matrix, "Shift-Tab wraps around");
        ui.key(Key::Char('G'), 64, 3);
        assert_eq!(ui.selected, 63);
    }

    #[test]
    fn digits_jump_to_views_and_f_chooses_the_file_mapped() {
        let mut ui = Ui::default();
        ui.key(Key::Char('5'), 3, 2);
        assert_eq!(ui.view, View::Time);
        ui.key(Key::Char('f'), 3, 2);
        assert_eq!(ui.file, 0, "f maps another file only where a piece map is shown");
        ui.key(Key::Char('1'), 3, 2);
        ui.key(Key::Char('>'), 3, 2);
        ui.key(Key::Char('f'), 3, 2);
        assert_eq!((ui.file, ui.chunk), (1, 0), "another file starts at its first chunk");
        ui.key(Key::Char('f'), 3, 2);
        assert_eq!(ui.file, 0, "and wraps around");
        ui.key(Key::Char('F'), 3, 2);
        assert_eq!(ui.file, 1);
        ui.key(Key::Char('3'), 3, 2);
        assert_eq!((ui.view, ui.selected), (View::Files, 1), "the files view starts at the file mapped");
        ui.key(Key::Up, 3, 2);
        assert_eq!(ui.key(Key::Enter, 3, 2), Command::None);
        assert_eq!((ui.view, ui.file), (View::Pieces, 0), "Enter opens the pieces of the file selected");
    }

    #[test]
    fn clicks_select_rows_chunks_and_views() {
        let mut ui = Ui::default();
        ui.click(Target::Row(4));
        assert_eq!(ui.selected, 4);
        ui.click(Target::Chunk { chunk: 7, row: Some(2) });
        assert_eq!((ui.chunk, ui.selected), (7, 2));
        ui.click(Target::Chunk { chunk: 9, row: None });
        assert_eq!((ui.chunk, ui.selected), (9, 2), "a click on the marks keeps the peer");
        ui.click(Target::View(View::Files));
        ui.click(Target::Row(1));
        assert_eq!((ui.view, ui.selected), (View::Files, 1));
        ui.click(Target::Row(1));
        assert_eq!((ui.view, ui.file), (View::Pieces, 1), "a second click opens the file's pieces");
    }

    #[test]
    fn help_opens_and_any_key_closes_it_and_quit_keys_quit() {
        let mut ui = Ui::default();
        ui.key(Key::Char('?'), 1, 1);
        assert!(ui.help);
        assert_eq!(ui.key(Key::Down, 1, 1), Command::None);
        assert!(!ui.help);
        for key in [Key::Char('q'), Key::Esc, Key::CtrlC] {
            assert_eq!(Ui::default().key(key, 1, 1), Command::Quit);
        }
        assert_eq!(ui.key(Key::Char(' '), 1, 1), Command::Other(Key::Char(' ')));
    }
}
