//! mpitorrent: the BitTorrent protocol simulated on MPI. Rank 0 is the tracker; every other rank
//! is a peer with a download thread and an upload thread. The layers, lowest first: `protocol`
//! (with `scenario`, the files beside it), `transport`, `record`, `analysis`, then `tools` and
//! `tui`, and the command line (`cli`, `commands`) on top; a module uses only its own layer and
//! those below (docs/design.md).

pub mod analysis;
pub mod cli;
pub mod commands;
pub mod protocol;
pub mod record;
pub mod scenario;
pub mod tools;
pub mod transport;
pub mod tui;
