//! The replay viewer: a recorded run in the live dashboard, played at any speed, with seeking.
//! The [`Player`] decides what the model shows at each moment; the loop below times it, reads
//! keys, and follows a log that is still being written.

use crate::analysis::model::SwarmModel;
use crate::protocol::events::{Event, Stamped};
use crate::record::log::{Log, LogReader};
use crate::scenario::header::RunHeader;
use crate::tui::app::{Command, Ui};
use crate::tui::keys::Key;
use crate::tui::terminal::{keys, Screen};
use crate::tui::theme::Theme;
use crate::tui::view::{draw, press, Mode, ReplayStatus};
use std::io::BufRead;
use std::time::{Duration, Instant};

/// Playing speeds, slowest first.
pub const SPEEDS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0];
/// How far `[` and `]` jump.
const JUMP_US: u64 = 5_000_000;
const FRAME: Duration = Duration::from_millis(33);
/// How often a followed log is read for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);

/// A recorded run and the moment of it being shown. Events are applied in the order they were
/// recorded, as the live model applied them; their times are made monotonic for the timeline, since
/// batches from different peers arrive a little out of order.
pub struct Player {
    header: RunHeader,
    events: Vec<Stamped>,
    /// `times[i]`: the latest time among events `0..=i`.
    times: Vec<u64>,
    /// Events applied to `model`.
    applied: usize,
    model: SwarmModel,
    position: u64,
    speed: usize,
    playing: bool,
    /// When files completed and peers finished.
    markers: Vec<u64>,
    /// The log may still grow (it is followed): its end is not the run's.
    pub growing: bool,
}

impl Player {
    pub fn new(header: RunHeader) -> Player {
        let model = SwarmModel::new(header.clone());
        Player {
            header,
            events: Vec::new(),
            times: Vec::new(),
            applied: 0,
            model,
            position: 0,
            speed: SPEEDS.iter().position(|&s| s == 1.0).expect("1x"),
            playing: true,
            markers: Vec::new(),
            growing: false,
        }
    }

    /// A player of a whole log read already, at its start.
    pub fn of(log: &Log) -> Player {
        let mut player = Player::new(log.header.clone());
        player.extend(log.events.clone());
        player
    }

    /// Adds events read from the log.
    pub fn extend(&mut self, events: Vec<Stamped>) {
        for event in events {
            let at = self.times.last().copied().unwrap_or(0).max(event.at);
            if matches!(event.event, Event::FileCompleted { .. } | Event::PeerDone { .. }) {
                self.markers.push(at);
            }
            self.times.push(at);
            self.events.push(event);
        }
    }

    pub fn model(&self) -> &SwarmModel {
        &self.model
    }

    pub fn position(&self) -> u64 {
        self.position
    }

    pub fn end(&self) -> u64 {
        self.times.last().copied().unwrap_or(0)
    }

    pub fn speed(&self) -> f64 {
        SPEEDS[self.speed]
    }

    pub fn playing(&self) -> bool {
        self.playing
    }

    pub fn pause(&mut self) {
        self.playing = false;
    }

    /// Moves on by `wall` of real time at the current speed, when playing; stops at the end.
    pub fn advance(&mut self, wall: Duration) {
        if self.playing {
            let to = self.position.saturating_add((wall.as_secs_f64() * self.speed() * 1e6) as u64);
            self.seek(to.min(self.end()));
        }
    }

    /// Shows the run as it was at `to`.
    pub fn seek(&mut self, to: u64) {
        let to = to.min(self.end());
        let upto = self.times.partition_point(|&t| t <= to);
        self.apply_until(upto);
        self.position = to;
    }

    fn apply_until(&mut self, upto: usize) {
        if upto < self.applied {
            // Backwards: the model only goes forward, so build it again from the start.
            self.model = SwarmModel::new(self.header.clone());
            self.applied = 0;
        }
        for event in &self.events[self.applied..upto] {
            self.model.apply(event);
        }
        self.applied = upto;
    }

    pub fn step_forward(&mut self) {
        self.playing = false;
        if self.applied < self.events.len() {
            self.apply_until(self.applied + 1);
            self.position = self.times[self.applied - 1];
        }
    }

    pub fn step_back(&mut self) {
        self.playing = false;
        let upto = self.applied.saturating_sub(1);
        self.apply_until(upto);
        self.position = if upto == 0 { 0 } else { self.times[upto - 1] };
    }

    pub fn next_marker(&mut self) {
        if let Some(&at) = self.markers.iter().find(|&&m| m > self.position) {
            self.seek(at);
        }
    }

    pub fn previous_marker(&mut self) {
        if let Some(&at) = self.markers.iter().rev().find(|&&m| m < self.position) {
            self.seek(at);
        }
    }

    /// Handles a replay key; `false` if it is not one.
    pub fn key(&mut self, key: Key) -> bool {
        match key {
            Key::Char(' ') => {
                // Playing again from the end of a whole log starts over.
                if !self.playing && self.position >= self.end() && !self.growing {
                    self.seek(0);
                }
                self.playing = !self.playing;
            }
            Key::Char('+') | Key::Char('=') => self.speed = (self.speed + 1).min(SPEEDS.len() - 1),
            Key::Char('-') => self.speed = self.speed.saturating_sub(1),
            Key::Right | Key::Char('l') => self.step_forward(),
            Key::Left | Key::Char('h') => self.step_back(),
            Key::Char(']') => self.seek(self.position.saturating_add(JUMP_US)),
            Key::Char('[') => self.seek(self.position.saturating_sub(JUMP_US)),
            Key::Char('n') => self.next_marker(),
            Key::Char('p') => self.previous_marker(),
            Key::Home => self.seek(0),
            Key::End => self.seek(self.end()),
            _ => return false,
        }
        true
    }

    pub fn status(&self, name: &str, following: bool, note: Option<String>) -> ReplayStatus {
        ReplayStatus {
            name: name.to_string(),
            position: self.position,
            end: self.end(),
            speed: self.speed(),
            playing: self.playing,
            markers: self.markers.clone(),
            following,
            events: (self.applied, self.events.len()),
            note,
        }
    }
}

/// Replays the log `reader` reads in the dashboard until the user quits; with `follow`, keeps
/// reading what is appended to it. `false` if a signal ended it.
pub fn run<R: BufRead>(mut reader: LogReader<R>, name: &str, follow: bool, mut screen: Screen, theme: Theme) -> bool {
    let keys = keys();
    let mut player = Player::new(reader.header.clone());
    player.growing = follow;
    let mut fresh = Vec::new();
    reader.read_available(&mut fresh);
    player.extend(fresh);
    if follow {
        // Following a run means watching it as it is now, not from its start.
        player.seek(player.end());
    }
    let mut ui = Ui::default();
    let (mut last_frame, mut last_read) = (Instant::now(), Instant::now());
    loop {
        if follow && last_read.elapsed() >= FOLLOW_EVERY {
            let mut fresh = Vec::new();
            reader.read_available(&mut fresh);
            player.extend(fresh);
            last_read = Instant::now();
        }
        player.advance(last_frame.elapsed());
        last_frame = Instant::now();
        // A followed log's last line may simply not be finished yet.
        let note = if follow { reader.damage.clone() } else { reader.problem() };
        let status = player.status(name, follow, note);
        let _ = screen.draw(|frame| draw(frame, player.model(), &ui, Mode::Replay(&status), &theme));
        if screen.interrupted() {
            return false;
        }
        match keys.recv_timeout(FRAME) {
            Ok(key) => match press(&mut ui, key, player.model(), Mode::Replay(&status), screen.area()) {
                Command::Quit => return true,
                Command::Other(key) => {
                    player.key(key);
                }
                Command::None => {}
            },
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            // No keyboard (standard input closed): play to the end, then stop.
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                if !follow && player.position() >= player.end() {
                    return true;
                }
                std::thread::sleep(FRAME);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ids::{ChunkIdx, FileId, Rank};
    use crate::scenario::header::FileSpec;
    use crate::scenario::settings::Settings;

    fn player() -> Player {
        let header = RunHeader {
            peers: 2,
            files: vec![FileSpec { name: "a".into(), chunks: 3 }],
            owned: vec![vec![FileId(0)], vec![]],
            wanted: vec![vec![], vec![FileId(0)]],
            options: Settings::default(),
            capacities: vec![],
            faults: Default::default(),
        };
        let got = |at, chunk| Stamped {
            at,
            event: Event::ChunkReceived { downloader: Rank(2), uploader: Rank(1), file: FileId(0), chunk: ChunkIdx(chunk) },
        };
        let mut player = Player::new(header);
        player.extend(vec![
            Stamped { at: 0, event: Event::Started },
            got(1_000_000, 0),
            got(900_000, 1), // recorded late: its time is taken as 1 s
            got(3_000_000, 2),
            Stamped { at: 3_100_000, event: Event::FileCompleted { peer: Rank(2), file: FileId(0) } },
            Stamped { at: 3_200_000, event: Event::PeerDone { peer: Rank(2) } },
        ]);
        player
    }

    fn got(player: &Player) -> u32 {
        player.model().peers[1].got[0]
    }

    #[test]
    fn playing_applies_events_as_time_passes_and_stops_at_the_end() {
        let mut player = player();
        assert_eq!(player.end(), 3_200_000);
        player.advance(Duration::from_millis(1000));
        assert_eq!((player.position(), got(&player)), (1_000_000, 2));
        player.key(Key::Char('+'));
        assert_eq!(player.speed(), 2.0);
        player.advance(Duration::from_secs(5));
        assert_eq!((player.position(), got(&player), player.playing()), (3_200_000, 3, true));
        assert!(player.model().peers[1].done);
    }

    #[test]
    fn seeking_back_rebuilds_the_model_and_markers_jump() {
        let mut player = player();
        player.seek(player.end());
        let whole = player.model().clone();
        player.key(Key::Home);
        assert_eq!((player.position(), got(&player)), (0, 0));
        player.key(Key::Char('n'));
        assert_eq!(player.position(), 3_100_000);
        player.key(Key::Char('n'));
        assert_eq!(player.position(), 3_200_000);
        assert_eq!(player.model(), &whole);
        player.key(Key::Char('p'));
        assert_eq!(player.position(), 3_100_000);
        player.key(Key::Char('['));
        assert_eq!((player.position(), got(&player)), (0, 0));
        player.key(Key::Char(']'));
        assert_eq!(player.position(), 3_200_000);
    }

    #[test]
    fn stepping_moves_one_event_and_pauses() {
        let mut player = player();
        player.key(Key::Right);
        player.key(Key::Right);
        assert!(!player.playing());
        assert_eq!((player.position(), got(&player)), (1_000_000, 1));
        player.key(Key::Left);
        assert_eq!((player.position(), got(&player)), (0, 0));
        player.key(Key::Left);
        assert_eq!(player.position(), 0);
    }

    #[test]
    fn speed_stays_between_a_tenth_and_a_hundred() {
        let mut player = player();
        for _ in 0..20 {
            player.key(Key::Char('-'));
        }
        assert_eq!(player.speed(), 0.1);
        for _ in 0..20 {
            player.key(Key::Char('+'));
        }
        assert_eq!(player.speed(), 100.0);
        assert!(!player.key(Key::Char('z')));
    }
}
