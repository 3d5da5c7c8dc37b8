//! greenlight-fuzz-harness: what each fuzz target does with its bytes. The
//! libFuzzer targets in `fuzz/` call these functions, and so does the
//! replay test (`tests/replay.rs`), which feeds them every kept corpus file
//! on stable Rust: one harness, two drivers.
//!
//! Each function panics when the code under test breaks a promise: a
//! panic inside it, or an answer the other side of the protocol would
//! refuse (an honest agent's report refused, a valid config that makes a
//! broken engine, a verdict whose JSON does not read back).
//!
//! # Layout
//! - [`report_stream`]: Hellos, reports, controls and time, through the
//!   aggregator's engine.
//! - [`aggregator_config`], [`agent_config`]: the TOML configurations.
//! - [`health_json`]: the agent's reading of a backend's `/health` body.
//! - [`prometheus_intake`]: the agent's reading of a backend's `/metrics`.
//! - `aggregator`: the aggregator's side of every target: the engine, and
//!   the promises its outputs keep.

pub mod agent_config;
mod aggregator;
pub mod aggregator_config;
pub mod health_json;
pub mod prometheus_intake;
pub mod report_stream;

/// What a target does with one input; panics when a promise is broken.
pub type Harness = fn(&[u8]);

/// Every target by name (`fuzz/fuzz_targets/<name>.rs`, corpus
/// `fuzz/corpus/<name>/`).
pub const TARGETS: &[(&str, Harness)] = &[
    ("report_stream", report_stream::run),
    ("aggregator_config", aggregator_config::run),
    ("agent_config", agent_config::run),
    ("health_json", health_json::run),
    ("prometheus_intake", prometheus_intake::run),
];
