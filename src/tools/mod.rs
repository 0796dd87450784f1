//! Running ranks and whole swarms: one rank under mpirun, a swarm in-process, and the benchmark
//! and stress campaigns that launch mpirun themselves.

pub mod bench;
pub mod launch;
pub mod run;
pub mod stress;
