//! Running ranks and swarms: one rank, a swarm in-process, and the bench and stress campaigns.

pub mod bench;
pub mod grade;
pub mod launch;
pub mod run;
pub mod stress;
pub mod waiting;
