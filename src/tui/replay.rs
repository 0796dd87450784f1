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
use crate::tui::view::caption::Caption;
use crate::tui::view::{draw, press, Mode, ReplayStatus};
use std::io::BufRead;
use std::time::{Duration, Instant};

/// Playing speeds, slowest first.
pub const SPEEDS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0];
/// How far `[` and `]` jump.
const JUMP_US: u64 = 5_000_000;
const FRAME: Duration = Duration::from_millis(33);
/// How long a lesson without a keyboard shows a caption before it goes on by itself.
pub const UNATTENDED: Duration = Duration::from_secs(2);
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
    /// When files completed and peers finished; in a lesson, its captions.
    markers: Vec<u64>,
    /// Moments where playing stops by itself (a lesson's captions), in order.
    stops: Vec<u64>,
    /// How many of `stops` have been reached: the last of them is the one shown.
    reached: usize,
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
            stops: Vec::new(),
            reached: 0,
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

    /// Makes playing stop at each of `stops` (in order), which become the markers.
    pub fn narrate(&mut self, stops: Vec<u64>) {
        debug_assert!(stops.is_sorted());
        self.markers = stops.clone();
        self.markers.dedup();
        (self.stops, self.reached) = (stops, 0);
    }

    /// The last stop reached, by its index, if any.
    pub fn stop(&self) -> Option<usize> {
        self.reached.checked_sub(1)
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

    /// Moves on by `wall` of real time at the current speed, when playing; pauses at the next
    /// stop and at the end.
    pub fn advance(&mut self, wall: Duration) {
        if !self.playing {
            return;
        }
        let to = self.position.saturating_add((wall.as_secs_f64() * self.speed() * 1e6) as u64).min(self.end());
        match self.stops.get(self.reached) {
            Some(&stop) if stop <= to => {
                self.show(stop.max(self.position));
                self.reached += 1;
                self.playing = false;
            }
            _ => self.show(to),
        }
    }

    /// Shows the run as it was at `to`; the stops up to it count as reached.
    pub fn seek(&mut self, to: u64) {
        self.show(to);
        self.rearm();
    }

    /// A jump by the viewer: in a lesson it pauses, so the caption it lands on can be read.
    fn jump(&mut self, to: u64) {
        self.seek(to);
        if !self.stops.is_empty() {
            self.playing = false;
        }
    }

    fn show(&mut self, to: u64) {
        let to = to.min(self.end());
        let upto = self.times.partition_point(|&t| t <= to);
        self.apply_until(upto);
        self.position = to;
    }

    /// Counts the stops before the position as reached, and the first of those at it, whose
    /// caption is then shown (space goes on to the others of the same moment).
    fn rearm(&mut self) {
        self.reached = self.stops.partition_point(|&s| s < self.position);
        if self.stops.get(self.reached) == Some(&self.position) {
            self.reached += 1;
        }
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
        self.rearm();
    }

    pub fn step_back(&mut self) {
        self.playing = false;
        let upto = self.applied.saturating_sub(1);
        self.apply_until(upto);
        self.position = if upto == 0 { 0 } else { self.times[upto - 1] };
        self.rearm();
    }

    /// The next marker; in a lesson, the next caption (of the same moment too).
    pub fn next_marker(&mut self) {
        if !self.stops.is_empty() {
            return self.jump_to_stop(self.reached + 1);
        }
        if let Some(&at) = self.markers.iter().find(|&&m| m > self.position) {
            self.jump(at);
        }
    }

    /// The previous marker; in a lesson, the previous caption.
    pub fn previous_marker(&mut self) {
        if !self.stops.is_empty() {
            return self.jump_to_stop(self.reached.saturating_sub(1).max(1));
        }
        if let Some(&at) = self.markers.iter().rev().find(|&&m| m < self.position) {
            self.jump(at);
        }
    }

    /// Shows the stop `reached` counts to (from 1), paused.
    fn jump_to_stop(&mut self, reached: usize) {
        if let Some(&at) = reached.checked_sub(1).and_then(|i| self.stops.get(i)) {
            self.show(at);
            (self.reached, self.playing) = (reached, false);
        }
    }

    /// Handles a replay key; `false` if it is not one.
    pub fn key(&mut self, key: Key) -> bool {
        match key {
            Key::Char(' ') => {
                // Playing again from the end of a whole log starts over, every stop again, once
                // every stop at the end was shown.
                let shown_all = self.reached >= self.stops.len();
                if !self.playing && self.position >= self.end() && !self.growing && shown_all {
                    self.show(0);
                    self.reached = 0;
                }
                self.playing = !self.playing;
            }
            Key::Char('+') | Key::Char('=') => self.speed = (self.speed + 1).min(SPEEDS.len() - 1),
            Key::Char('-') => self.speed = self.speed.saturating_sub(1),
            Key::Right | Key::Char('l') => self.step_forward(),
            Key::Left | Key::Char('h') => self.step_back(),
            Key::Char(']') => self.jump(self.position.saturating_add(JUMP_US)),
            Key::Char('[') => self.jump(self.position.saturating_sub(JUMP_US)),
            Key::Char('n') => self.next_marker(),
            Key::Char('p') => self.previous_marker(),
            Key::Home => self.jump(0),
            Key::End => self.jump(self.end()),
            _ => return false,
        }
        true
    }

    /// What the dashboard shows of the replay: of a log shown as `name`, `following` it as it
    /// grows, or `cut` short; `note` says what is wrong with it.
    pub fn status(&self, name: &str, following: bool, cut: bool, note: Option<String>) -> ReplayStatus {
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
            cut,
            caption: None,
        }
    }
}

/// What a lesson adds to a replay: its captions, each with the moment it comes at, in order
/// (playing stops at each), and the speed it plays at.
#[derive(Clone, Debug, Default)]
pub struct Narration {
    pub story: Vec<(u64, Caption)>,
    pub speed: Option<f64>,
}

impl Narration {
    /// Makes `player` stop at every caption, at the lesson's speed.
    pub fn begin(&self, player: &mut Player) {
        if let Some(speed) = self.speed {
            let nearest = |s: &f64| ((s / speed).ln().abs() * 1e6) as u64;
            player.speed = SPEEDS.iter().enumerate().min_by_key(|(_, s)| nearest(s)).map_or(player.speed, |(i, _)| i);
        }
        if !self.story.is_empty() {
            player.narrate(self.story.iter().map(|(at, _)| *at).collect());
        }
    }

    /// The caption `player` shows now, if any.
    pub fn caption(&self, player: &Player) -> Option<Caption> {
        let (_, caption) = self.story.get(player.stop()?)?;
        Some(Caption { held: !player.playing(), ..caption.clone() })
    }
}

/// Replays the log `reader` reads in the dashboard until the user quits, told by `narration`;
/// with `follow`, keeps reading what is appended to it. `false` if a signal ended it.
pub fn run<R: BufRead>(
    mut reader: LogReader<R>,
    name: &str,
    follow: bool,
    narration: &Narration,
    mut screen: Screen,
    theme: Theme,
) -> bool {
    let keys = keys();
    let mut player = Player::new(reader.header.clone());
    player.growing = follow;
    let mut fresh = Vec::new();
    reader.read_available(&mut fresh);
    player.extend(fresh);
    narration.begin(&mut player);
    if follow {
        // Following a run means watching it as it is now, not from its start.
        player.seek(player.end());
    }
    let mut ui = Ui::default();
    let mut shown = None;
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
        // A followed log's last line may simply not be finished yet, nor its closing line written.
        let note = if follow { reader.damage.clone() } else { reader.unfinished() };
        let mut status = player.status(name, follow, !follow && reader.end.is_none(), note);
        status.caption = narration.caption(&player);
        if let Some(caption) = status.caption.as_ref().filter(|c| shown != Some(c.number)) {
            shown = Some(caption.number);
            if let Some(view) = caption.view {
                ui.show(view);
            }
            if let Some(shown) = caption.marks.chunk() {
                (ui.file, ui.chunk) = shown;
            }
        }
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
            // No keyboard (standard input closed): play to the end, going on after each caption,
            // then stop.
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                if !follow && player.position() >= player.end() {
                    return true;
                }
                if !player.playing() {
                    std::thread::sleep(UNATTENDED);
                    player.key(Key::Char(' '));
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
    fn a_narrated_player_stops_at_each_caption_until_space() {
        let mut player = player();
        player.narrate(vec![0, 1_000_000, 1_000_000, 3_200_000, 3_200_000]);
        player.advance(Duration::from_millis(10));
        assert_eq!((player.position(), player.playing(), player.stop()), (0, false, Some(0)), "the first caption, at the start");
        player.key(Key::Char(' '));
        player.advance(Duration::from_secs(2));
        assert_eq!((player.position(), player.playing(), player.stop()), (1_000_000, false, Some(1)), "stopped, not past");
        assert_eq!(got(&player), 2, "the events of the caption's moment are shown");
        player.key(Key::Char(' '));
        player.advance(Duration::from_millis(10));
        assert_eq!((player.position(), player.stop()), (1_000_000, Some(2)), "a second caption of the same moment");
        player.key(Key::Char(' '));
        player.advance(Duration::from_secs(5));
        assert_eq!((player.position(), player.playing(), player.stop()), (3_200_000, false, Some(3)), "one at the end");
        player.key(Key::Char(' '));
        player.advance(Duration::from_millis(10));
        assert_eq!((player.position(), player.stop()), (3_200_000, Some(4)), "space at the end shows the next of the end");
        player.key(Key::Char('p'));
        player.key(Key::Char('p'));
        assert_eq!((player.position(), player.playing(), player.stop()), (1_000_000, false, Some(2)), "p goes back a caption");
        player.key(Key::Char('p'));
        assert_eq!((player.position(), player.stop()), (1_000_000, Some(1)), "one of the same moment");
        player.key(Key::Char('n'));
        assert_eq!((player.position(), player.stop()), (1_000_000, Some(2)), "n likewise");
        player.key(Key::Home);
        assert_eq!((player.stop(), player.playing()), (Some(0), false));
        player.key(Key::Char(' '));
        player.advance(Duration::from_millis(999));
        assert!(player.playing() && player.position() < 1_000_000, "playing again from a jump");
        player.key(Key::End);
        assert_eq!(player.stop(), Some(3), "End shows the first caption of the end");
        player.key(Key::Char(' '));
        player.advance(Duration::from_millis(10));
        assert_eq!((player.stop(), player.playing()), (Some(4), false), "then the other");
        player.key(Key::Char(' '));
        assert_eq!((player.position(), player.playing()), (0, true), "from the end, space starts over");
        player.advance(Duration::from_millis(10));
        assert_eq!((player.stop(), player.playing()), (Some(0), false), "with every caption again");
    }

    #[test]
    fn a_narration_sets_the_nearest_speed_and_shows_the_caption_reached() {
        let caption = |number| Caption {
            number,
            count: 2,
            when: "start".into(),
            text: format!("caption {number}"),
            marks: Default::default(),
            view: None,
            held: false,
        };
        let narration = Narration { story: vec![(0, caption(1)), (1_000_000, caption(2))], speed: Some(0.3) };
        let mut player = player();
        assert_eq!(narration.caption(&player), None, "nothing before the first stop is reached");
        narration.begin(&mut player);
        assert_eq!(player.speed(), 0.25);
        player.advance(Duration::from_millis(10));
        let shown = narration.caption(&player).unwrap();
        assert_eq!((shown.number, shown.held), (1, true));
        player.key(Key::Char(' '));
        assert!(!narration.caption(&player).unwrap().held, "not held once playing");
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
