//! The files a run reads and writes, its settings, and the header that describes it.

pub mod capacity;
pub mod fault;
pub mod generate;
pub mod header;
pub mod input;
pub mod lesson;
pub mod output;
pub mod settings;
