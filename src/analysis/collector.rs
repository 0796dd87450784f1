//! Rank 0's consumer of a run's feed: the state model, and the log when `--record` asked for one.
//! The headless run reads the feed through it to the end; the dashboard feeds it as it draws.

use crate::analysis::model::SwarmModel;
use crate::protocol::events::Feed;
use crate::record::log::{LogError, Recorder, FLUSH_EVERY};
use crossbeam_channel::{Receiver, RecvTimeoutError};

pub struct Collector {
    model: Option<SwarmModel>,
    recorder: Option<Recorder>,
    /// The first error writing the log, after which the log is left as it was.
    failure: Option<LogError>,
}

impl Collector {
    pub fn new(recorder: Option<Recorder>) -> Collector {
        Collector { model: None, recorder, failure: None }
    }

    /// The model, once the run has started.
    pub fn model(&self) -> Option<&SwarmModel> {
        self.model.as_ref()
    }

    pub fn take(&mut self, item: Feed) {
        match item {
            Feed::Begin(header) => {
                self.write(|r| r.begin(&header));
                self.model = Some(SwarmModel::new(*header));
            }
            Feed::Event(event) => {
                self.write(|r| r.event(&event));
                if let Some(model) = &mut self.model {
                    model.apply(&event);
                }
            }
        }
    }

    /// The feed has nothing more for now: let the log's readers see what came, now and then.
    pub fn pause(&mut self) {
        self.write(Recorder::flush_if_due);
    }

    /// The feed ended: closes the log (removing it if the run never started) and returns the
    /// model and the log's failure, if any.
    pub fn finish(mut self) -> (Option<SwarmModel>, Option<LogError>) {
        match self.model.as_ref().map(|m| m.finished) {
            None => {
                if let Some(recorder) = self.recorder.take() {
                    recorder.discard();
                }
            }
            Some(Some(at)) => self.write(|r| r.end(at)),
            Some(None) => self.write(Recorder::flush),
        }
        (self.model, self.failure)
    }

    fn write(&mut self, write: impl FnOnce(&mut Recorder) -> std::io::Result<()>) {
        if let Some(recorder) = &mut self.recorder {
            if let Err(e) = write(recorder) {
                self.failure = Some(LogError::Write { path: recorder.path().to_owned(), source: e });
                self.recorder = None;
            }
        }
    }
}

/// Reads the feed to its end, flushing the log now and then while it comes and whenever it
/// pauses: the headless consumer.
pub fn collect(feed: &Receiver<Feed>, recorder: Option<Recorder>) -> (Option<SwarmModel>, Option<LogError>) {
    let mut collector = Collector::new(recorder);
    loop {
        match feed.recv_timeout(FLUSH_EVERY) {
            Ok(item) => collector.take(item),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        collector.pause();
    }
    collector.finish()
}
