//! The carriers of messages: MPI for real runs, channels between threads for tests.

pub mod bells;
pub mod inbox;
pub mod local;
pub mod mpi;
pub mod yielding;
