//! The dashboard: a pure drawing ([`view`]) of the model and the viewer's state ([`app`]).

pub mod app;
pub mod compare;
pub mod frames;
pub mod keys;
pub mod live;
pub mod replay;
pub mod terminal;
pub mod theme;
pub mod view;
