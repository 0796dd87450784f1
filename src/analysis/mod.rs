//! What a run's events say: the model and its collector, the report, the audit, checks, exports.

pub mod audit;
pub mod collector;
pub mod compare;
pub mod efficiency;
pub mod export;
pub mod model;
pub mod narration;
pub mod report;
pub mod spread;
pub mod verify;
