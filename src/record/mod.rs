//! Recording a run: the event log, written as the run goes and read back.

pub mod log;
