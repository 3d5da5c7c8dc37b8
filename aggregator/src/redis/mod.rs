//! Redis: where verdicts are published for switch scripts and people
//! (DESIGN: external contracts), and where the engine's state survives a
//! restart.
//!
//! Per deployment: `greenlight:<d>:verdict` (latest verdict JSON, TTL
//! refreshed while the aggregator lives), `greenlight:<d>:verdicts`
//! (channel), `greenlight:<d>:history` (capped stream: verdicts, actions,
//! alerts, gaps), and `greenlight:<d>:state` (the engine's saved state, no
//! TTL, re-asserted by the publisher so that a Redis that lost it gets it
//! back).
//!
//! # Layout
//!
//! - `publisher`: [`RedisPublisher`], the task that writes publications in
//!   order, retrying while Redis is away.
//! - `entries`: what each publication writes, as one MULTI/EXEC, and what
//!   each refresh writes again.
//! - `written`: the latest verdict and state written per deployment, kept
//!   for the refresh, and the losses found (gaps).
//! - `restore`: [`load_states`], reading the saved states at start-up.
//! - `history`: [`HistoryReader`], the history stream read back a page at
//!   a time (`GetHistory`).
//! - `explain`: [`describe`], Redis errors that say what to fix.

mod entries;
mod explain;
mod history;
mod publisher;
mod restore;
mod written;

pub use explain::describe;
pub use history::{HistoryError, HistoryReader, PageQuery};
pub use publisher::{QUEUE, RedisPublisher};

use std::time::SystemTime;

use crate::engine::Outputs;
use crate::hooks::HookOutcome;

/// What goes to Redis, in the order it happened.
#[derive(Debug)]
pub enum Publication {
    /// One engine step: verdicts, actions, alerts, saved states; with the
    /// span it was carried out in, so that its write joins that trace.
    Engine(Outputs, tracing::Span),
    /// One attempt of a cutover or rollback hook.
    Hook(HookOutcome),
    /// One run of a test gate.
    Gate(crate::hooks::GateRan),
    /// Something that should be in Redis and is not: a history entry of
    /// kind `gap` says so (e.g. batches dropped because the queue was full).
    Gap {
        deployment: String,
        /// The last moment up to which what was published is known to be
        /// complete.
        from: SystemTime,
        /// When the gap ended (or was found).
        to: SystemTime,
        /// What was not written or was lost, in words.
        what: String,
    },
}
pub use restore::load_states;

pub fn verdict_key(deployment: &str) -> String {
    format!("greenlight:{deployment}:verdict")
}

pub fn verdict_channel(deployment: &str) -> String {
    format!("greenlight:{deployment}:verdicts")
}

pub fn history_stream(deployment: &str) -> String {
    format!("greenlight:{deployment}:history")
}

pub fn state_key(deployment: &str) -> String {
    format!("greenlight:{deployment}:state")
}

/// The deployment named in a `greenlight:<d>:state` key.
pub fn deployment_of_state_key(key: &str) -> Option<&str> {
    key.strip_prefix("greenlight:")?.strip_suffix(":state")
}
