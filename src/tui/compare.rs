//! Two recorded runs played side by side on one clock: the run that lasts longer sets the time,
//! the other follows it; keys act on both.

use crate::analysis::compare::compare;
use crate::record::log::Log;
use crate::tui::keys::Key;
use crate::tui::replay::Player;
use crate::tui::terminal::{keys, Screen};
use crate::tui::theme::Theme;
use crate::tui::view::compare::{draw, CompareStatus};
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_millis(33);

/// Plays `logs`, shown as `names`, until the user quits; `false` if a signal ended it.
pub fn run(logs: &[Log; 2], names: &[String; 2], mut screen: Screen, theme: Theme) -> bool {
    let finals = [logs[0].model(), logs[1].model()];
    let comparison = compare([&names[0], &names[1]], [&finals[0], &finals[1]]);
    let mut players = logs.each_ref().map(Player::of);
    // The longer run leads: its clock reaches both ends.
    let lead = usize::from(players[1].end() > players[0].end());
    let files = logs[0].header.files.len().min(logs[1].header.files.len()).max(1);
    let mut file = 0;
    let keys = keys();
    let mut last_frame = Instant::now();
    loop {
        players[lead].advance(last_frame.elapsed());
        last_frame = Instant::now();
        let position = players[lead].position();
        players[1 - lead].seek(position);
        let lead_player = &players[lead];
        let status =
            CompareStatus { position, end: lead_player.end(), speed: lead_player.speed(), playing: lead_player.playing(), file };
        let _ = screen.draw(|frame| draw(frame, [players[0].model(), players[1].model()], &comparison, &status, &theme));
        if screen.interrupted() {
            return false;
        }
        match keys.recv_timeout(FRAME) {
            Ok(Key::Char('q') | Key::Esc | Key::CtrlC) => return true,
            Ok(Key::Char('f')) => file = (file + 1) % files,
            Ok(Key::Char('F')) => file = (file + files - 1) % files,
            Ok(key) => {
                players[lead].key(key);
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            // No keyboard: play to the end, then stop.
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                if position >= players[lead].end() {
                    return true;
                }
                std::thread::sleep(FRAME);
            }
        }
    }
}
