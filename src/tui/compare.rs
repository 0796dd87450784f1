//! Two recorded runs played side by side on one clock: the run that lasts longer sets the time,
//! the other follows it; keys act on both.

use crate::analysis::compare::compare;
use crate::record::log::Log;
use crate::tui::keys::Key;
use crate::tui::replay::{Narration, Player, UNATTENDED};
use crate::tui::terminal::{keys, Screen};
use crate::tui::theme::Theme;
use crate::tui::view::compare::{draw, CompareStatus, Sides};
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_millis(33);

/// Plays `logs`, shown as `names` and told by `narration`, until the user quits; `false` if a
/// signal ended it.
pub fn run(logs: &[Log; 2], names: &[String; 2], narration: &Narration, mut screen: Screen, theme: Theme) -> bool {
    let finals = [logs[0].model(), logs[1].model()];
    let comparison = compare([&names[0], &names[1]], [&finals[0], &finals[1]]);
    let mut players = logs.each_ref().map(Player::of);
    // The longer run leads: its clock reaches both ends.
    let lead = usize::from(players[1].end() > players[0].end());
    narration.begin(&mut players[lead]);
    let files = logs[0].header.files.len().min(logs[1].header.files.len()).max(1);
    let (mut file, mut shown, mut sides) = (0, None, Sides::default());
    let keys = keys();
    let mut last_frame = Instant::now();
    loop {
        players[lead].advance(last_frame.elapsed());
        last_frame = Instant::now();
        let position = players[lead].position();
        players[1 - lead].seek(position);
        let lead_player = &players[lead];
        let caption = narration.caption(lead_player);
        if let Some(caption) = caption.as_ref().filter(|c| shown != Some(c.number)) {
            shown = Some(caption.number);
            file = caption.marks.chunk().map_or(file, |(f, _)| f);
            sides = caption.view.and_then(Sides::of).unwrap_or(sides);
        }
        let status = CompareStatus {
            position,
            end: lead_player.end(),
            speed: lead_player.speed(),
            playing: lead_player.playing(),
            file,
            sides,
            caption,
        };
        let _ = screen.draw(|frame| draw(frame, [players[0].model(), players[1].model()], &comparison, &status, &theme));
        if screen.interrupted() {
            return false;
        }
        match keys.recv_timeout(FRAME) {
            Ok(Key::Char('q') | Key::Esc | Key::CtrlC) => return true,
            Ok(Key::Tab) => sides = sides.next(),
            Ok(Key::Char('f')) => file = (file + 1) % files,
            Ok(Key::Char('F')) => file = (file + files - 1) % files,
            Ok(key) => {
                players[lead].key(key);
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            // No keyboard: play to the end, going on after each caption, then stop.
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                if position >= players[lead].end() {
                    return true;
                }
                if !players[lead].playing() {
                    std::thread::sleep(UNATTENDED);
                    players[lead].key(Key::Char(' '));
                }
                std::thread::sleep(FRAME);
            }
        }
    }
}
