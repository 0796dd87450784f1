//! What a run's events say: the model, the report, the audit of its rules, checks and exports.

pub mod audit;
pub mod collector;
pub mod efficiency;
pub mod export;
pub mod model;
pub mod report;
pub mod verify;
