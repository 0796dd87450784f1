//! What a run's events say: the state model, the report and its efficiency figures, the audit of
//! the protocol's rules, the check of outputs, and exports for other viewers.

pub mod audit;
pub mod collector;
pub mod efficiency;
pub mod export;
pub mod model;
pub mod report;
pub mod verify;
