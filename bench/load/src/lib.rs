//! `greenlight-bench`: a fleet of simulated agents, each on its own gRPC
//! stream, against a running aggregator; it measures what issue 14 asks
//! and prints each figure beside its target.
//!
//! # Layout
//! - `args`: the command line, every flag with its help.
//! - `simulated`: one simulated agent: its Hello and realistic reports
//!   (five checks with details, traffic counters growing).
//! - `fleet`: N agents connected, reporting R times a second for D,
//!   Acks and Rejects counted.
//! - `verdict_probe`: `GetVerdict` called in a loop while the fleet runs.
//! - `publication`: the verdict channel in Redis, timed against arrival.
//! - `redis_reference`: the real `redis-benchmark -t get`, its p99 parsed.
//! - `process_usage`: the aggregator's CPU and RSS from `/proc`.
//! - `figures`: percentiles, the results (`--json`) and their targets.
//! - `simulated::Fault`, `trial_agent`, `rollback`, `rollback_figures`:
//!   `--rollback-trials`, fault to ROLLBACK decision (and to the rollback
//!   hook's start), trial by trial, beside what the rules make expected.
//! - `run`: the order of it all.

pub mod args;
pub mod figures;
pub mod fleet;
pub mod process_usage;
pub mod publication;
pub mod redis_reference;
pub mod rollback;
pub mod rollback_figures;
pub mod run;
pub mod simulated;
pub mod trial_agent;
pub mod verdict_probe;

pub use args::Args;
pub use run::{Measured, run};
