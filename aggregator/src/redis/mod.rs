//! Redis: where verdicts are published for switch scripts and people
//! (DESIGN: external contracts), and where the engine's state survives a
//! restart.
//!
//! Per deployment: `greenlight:{<d>}:verdict` (latest verdict JSON, TTL
//! refreshed while the aggregator lives), `greenlight:{<d>}:verdicts`
//! (channel), `greenlight:{<d>}:history` (capped stream: verdicts, actions,
//! alerts, gaps), and `greenlight:{<d>}:state` (the engine's saved state, no
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
//! - `fenced`: with `[ha]`, a publication sent per deployment through the
//!   lease's fence, so that only the leader's writes land.
//! - `explain`: [`describe`], Redis errors that say what to fix.
//! - `target`: [`RedisTarget`], one server, the primary Sentinel names, or
//!   a Redis Cluster, reached as one [`RedisConnection`].

mod entries;
mod explain;
mod fenced;
mod history;
mod publisher;
mod restore;
mod target;
mod written;

pub use explain::describe;
pub use history::{HistoryError, HistoryReader, PageQuery};
pub use publisher::{QUEUE, RedisPublisher};
pub use target::{RedisConnection, RedisTarget};

use std::time::SystemTime;

use crate::engine::Outputs;
use crate::hooks::HookOutcome;

impl Publication {
    /// The highest epoch each deployment's part carries (the fence keeps
    /// the high-water mark a new leader's epochs start above).
    pub fn epochs(&self) -> std::collections::BTreeMap<String, u64> {
        let mut epochs = std::collections::BTreeMap::new();
        let mut note = |deployment: &str, epoch: u64| {
            let high = epochs.entry(deployment.to_string()).or_insert(0);
            *high = (*high).max(epoch);
        };
        match self {
            Publication::Engine(outputs, _) => {
                for verdict in &outputs.verdicts {
                    note(&verdict.deployment, verdict.epoch);
                }
                for (name, state) in &outputs.states {
                    note(name, state.epoch);
                }
            }
            Publication::Hook(outcome) => note(&outcome.deployment, outcome.epoch),
            Publication::Gate(_) | Publication::Gap { .. } => {}
        }
        epochs
    }
}

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
    format!("greenlight:{{{deployment}}}:verdict")
}

pub fn verdict_channel(deployment: &str) -> String {
    format!("greenlight:{{{deployment}}}:verdicts")
}

pub fn history_stream(deployment: &str) -> String {
    format!("greenlight:{{{deployment}}}:history")
}

pub fn state_key(deployment: &str) -> String {
    format!("greenlight:{{{deployment}}}:state")
}

/// The lease of the aggregator leading the deployment (`[ha]`): its id,
/// with an expiry.
pub fn leader_key(deployment: &str) -> String {
    format!("greenlight:{{{deployment}}}:leader")
}

/// The highest epoch published for the deployment: where a new leader's
/// epochs start above.
pub fn epoch_key(deployment: &str) -> String {
    format!("greenlight:{{{deployment}}}:epoch")
}

/// The deployment named in a `greenlight:{<d>}:state` key, or in the
/// `greenlight:<d>:state` key of a version before the hash tag (read once,
/// at the first start of this version, when no tagged key exists).
pub fn deployment_of_state_key(key: &str) -> Option<StateKey<'_>> {
    let name = key.strip_prefix("greenlight:")?.strip_suffix(":state")?;
    Some(
        match name
            .strip_prefix('{')
            .and_then(|tagged| tagged.strip_suffix('}'))
        {
            Some(name) => StateKey::Tagged(name),
            None => StateKey::Untagged(name),
        },
    )
}

/// Which of the two spellings a saved state's key has. The braces make
/// every key of a deployment hash to one slot, so that its writes stay one
/// atomic unit on a Redis Cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateKey<'a> {
    Tagged(&'a str),
    Untagged(&'a str),
}

impl<'a> StateKey<'a> {
    pub fn deployment(self) -> &'a str {
        match self {
            StateKey::Tagged(name) | StateKey::Untagged(name) => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_a_deployment_hashes_to_one_slot_and_old_state_keys_are_still_read() {
        for key in [
            verdict_key("escashop"),
            verdict_channel("escashop"),
            history_stream("escashop"),
            state_key("escashop"),
            leader_key("escashop"),
            epoch_key("escashop"),
        ] {
            assert!(key.starts_with("greenlight:{escashop}:"), "{key}");
        }
        assert_eq!(
            deployment_of_state_key(&state_key("escashop")),
            Some(StateKey::Tagged("escashop"))
        );
        assert_eq!(
            deployment_of_state_key("greenlight:escashop:state"),
            Some(StateKey::Untagged("escashop"))
        );
        assert_eq!(
            deployment_of_state_key("greenlight:{escashop}:verdict"),
            None
        );
    }
}
