//! A config file's errors in words, shared by `greenlight-agent` and
//! `greenlight-aggregator` so that both say where and why the same way:
//! `FILE line L, column C: key "K": reason`.
//!
//! # Layout
//!
//! - `position`: [`Position`], a line and column from a byte offset (TOML's
//!   own syntax errors) or from a dotted key ([`locate`]).
//! - `reason`: [`reason`], figment's error kinds in plain words.

mod position;
mod reason;

pub use position::{Position, locate};
pub use reason::reason;
