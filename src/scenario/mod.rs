//! The files a run reads and writes: peers' inputs and outputs, capacities, faults, generated
//! scenarios, a run's settings and the header that describes it.

pub mod capacity;
pub mod fault;
pub mod generate;
pub mod header;
pub mod input;
pub mod output;
pub mod settings;
