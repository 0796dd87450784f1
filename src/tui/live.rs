//! The live dashboard on rank 0: the run's feed goes into the collector (model and log) as it
//! comes, the screen is redrawn a few times a second, and keys change the view. When the run
//! ends, the final state and a summary stay on screen until the user quits.

use crate::analysis::collector::Collector;
use crate::analysis::model::SwarmModel;
use crate::protocol::events::Feed;
use crate::record::log::{LogError, Recorder};
use crate::tui::app::{Command, Ui};
use crate::tui::keys::Key;
use crate::tui::terminal::{keys, Screen};
use crate::tui::theme::Theme;
use crate::tui::view::{draw, press, Mode};
use crossbeam_channel::{select, Receiver};
use std::time::Duration;

/// How often the screen is redrawn.
const FRAME: Duration = Duration::from_millis(50);

pub struct LiveOutcome {
    pub model: Option<SwarmModel>,
    pub log_failure: Option<LogError>,
    pub ending: Ending,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The run ended, and then the user closed the dashboard.
    Finished,
    /// The user quit while the run was still going.
    Quit,
    /// A signal ended the dashboard (mpirun ending the job).
    Interrupted,
}

pub fn run(feed: Receiver<Feed>, recorder: Option<Recorder>, mut screen: Screen, theme: Theme) -> LiveOutcome {
    let mut keys = keys();
    let ticks = crossbeam_channel::tick(FRAME);
    let mut collector = Collector::new(recorder);
    let mut ui = Ui::default();
    // What the screen shows while the view is paused.
    let mut frozen: Option<SwarmModel> = None;
    let ending = loop {
        if screen.interrupted() {
            break Ending::Interrupted;
        }
        select! {
            recv(feed) -> item => match item {
                Ok(item) => {
                    collector.take(item);
                    // Take whatever else is waiting before drawing again.
                    while let Ok(item) = feed.try_recv() {
                        collector.take(item);
                    }
                    collector.pause();
                }
                // The run is over: the final state stays on screen until the user quits. If it
                // failed (no stop was seen), the caller reports it at once.
                Err(_) if collector.model().is_some_and(|m| m.finished.is_some()) => {
                    return finish(collector, screen, keys, ui, theme)
                }
                Err(_) => break Ending::Finished,
            },
            recv(keys) -> key => {
                let Ok(key) = key else {
                    // No keyboard (standard input closed): the run shows until it ends.
                    keys = crossbeam_channel::never();
                    continue;
                };
                let Some(shown) = frozen.as_ref().or(collector.model()) else { continue };
                match press(&mut ui, key, shown, Mode::Live, screen.area()) {
                    Command::Quit => break Ending::Quit,
                    Command::Other(Key::Char(' ')) => {
                        ui.paused = !ui.paused;
                        frozen = if ui.paused { collector.model().cloned() } else { None };
                    }
                    _ => {}
                }
            },
            // Every tick, even when nothing changed: a resized terminal is redrawn at its new size.
            recv(ticks) -> _ => {
                collector.pause();
                // After the tracker's stop the model says finished, but the peers' last events are
                // still on their way: the final state is drawn once they are all in (`finish`).
                if let Some(model) = frozen.as_ref().or(collector.model()).filter(|m| m.finished.is_none()) {
                    let _ = screen.draw(|frame| draw(frame, model, &ui, Mode::Live, &theme));
                }
            },
        }
    };
    drop(screen);
    if ending == Ending::Quit && collector.model().is_some_and(|m| m.finished.is_some()) {
        // The tracker has stopped everyone; only the peers' last events are still on their way.
        for item in feed.iter() {
            collector.take(item);
        }
        let (model, log_failure) = collector.finish();
        return LiveOutcome { model, log_failure, ending: Ending::Finished };
    }
    let (model, log_failure) = collector.finish();
    LiveOutcome { model, log_failure, ending }
}

/// After the run: the final state and the summary stay until the user quits.
fn finish(collector: Collector, mut screen: Screen, keys: Receiver<Key>, mut ui: Ui, theme: Theme) -> LiveOutcome {
    let (model, log_failure) = collector.finish();
    let Some(shown) = model.as_ref() else {
        return LiveOutcome { model, log_failure, ending: Ending::Finished };
    };
    ui.paused = false;
    let ending = loop {
        let _ = screen.draw(|frame| draw(frame, shown, &ui, Mode::Live, &theme));
        if screen.interrupted() {
            break Ending::Interrupted;
        }
        match keys.recv_timeout(FRAME * 4) {
            Ok(key) => {
                if press(&mut ui, key, shown, Mode::Live, screen.area()) == Command::Quit {
                    break Ending::Finished;
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            // No keyboard (standard input closed): nobody could quit, so end as a headless run does.
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break Ending::Finished,
        }
    };
    drop(screen);
    LiveOutcome { model, log_failure, ending }
}
