//! The dashboard: a pure drawing ([`view`]) of the state model and of the viewer's own state
//! ([`app`]), shown live on rank 0 ([`live`]) or over a recorded log ([`replay`]).

pub mod app;
pub mod keys;
pub mod live;
pub mod replay;
pub mod terminal;
pub mod theme;
pub mod view;
