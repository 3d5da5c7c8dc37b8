//! Redis: where verdicts are published for switch scripts and people
//! (DESIGN: external contracts), and where the engine's state survives a
//! restart.
//!
//! Per deployment: `greenlight:<d>:verdict` (latest verdict JSON, TTL
//! refreshed while the aggregator lives), `greenlight:<d>:verdicts`
//! (channel), `greenlight:<d>:history` (capped stream: verdicts, actions,
//! alerts), and `greenlight:<d>:state` (the engine's saved state, no TTL).

mod publisher;
mod restore;

pub use publisher::{QUEUE, RedisPublisher};

use crate::engine::{Alert, Outputs};
use crate::hooks::HookOutcome;

/// What goes to Redis, in the order it happened.
#[derive(Debug)]
pub enum Publication {
    /// One engine step: verdicts, actions, alerts, saved states.
    Engine(Outputs),
    /// One attempt of a cutover or rollback hook.
    Hook(HookOutcome),
    /// An alert raised outside the engine (a hook that failed).
    Alert(Alert),
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
