//! Rank 0's consumer of a run's feed when no dashboard is shown: the state model, and the log
//! when `--record` asked for one.

use crate::events::Feed;
use crate::log::Recorder;
use crate::model::SwarmModel;
use crossbeam_channel::{Receiver, TryRecvError};

/// Reads the feed to its end into a model, writing it to `recorder` as it goes and flushing the
/// log whenever the feed pauses. Returns the model (`None` if the run never started) and the
/// first error writing the log, after which the log is left as it was.
pub fn collect(feed: &Receiver<Feed>, recorder: Option<Recorder>) -> (Option<SwarmModel>, Option<String>) {
    let mut log = LogSink { recorder, failure: None };
    let Ok(Feed::Begin(header)) = feed.recv() else {
        if let Some(recorder) = log.recorder {
            recorder.discard();
        }
        return (None, None);
    };
    log.write(|r| r.begin(&header));
    let mut model = SwarmModel::new(header);
    loop {
        let item = match feed.try_recv() {
            Ok(item) => item,
            Err(TryRecvError::Empty) => {
                log.write(Recorder::flush);
                match feed.recv() {
                    Ok(item) => item,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        if let Feed::Event(event) = item {
            log.write(|r| r.event(&event));
            model.apply(&event);
        }
    }
    if let Some(at) = model.finished {
        log.write(|r| r.end(at));
    }
    (Some(model), log.failure)
}

struct LogSink {
    recorder: Option<Recorder>,
    failure: Option<String>,
}

impl LogSink {
    fn write(&mut self, write: impl FnOnce(&mut Recorder) -> std::io::Result<()>) {
        if let Some(recorder) = &mut self.recorder {
            if let Err(e) = write(recorder) {
                self.failure = Some(format!("{}: cannot write the log: {e}", recorder.path().display()));
                self.recorder = None;
            }
        }
    }
}
