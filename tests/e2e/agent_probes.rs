//! Acceptance of the agent's probes, streaming and face (issue 3), against
//! real peers: PostgreSQL and Redis from the test bed, a simulated backend
//! process, the real aggregator. What the agent sees is read from its own
//! `/health` (health+json) and `/metrics`; what the aggregator accepted,
//! from its debug log.
//!
//! - `every_probe`: each probe passes against its healthy peer, then fails
//!   with a clear observed value or error against a broken one.
//! - `frozen`: PostgreSQL frozen with SIGSTOP fails by timeout; the other
//!   checks and the reports keep their pace.
//! - `streaming`: an aggregator restart loses and repeats nothing; a full
//!   buffer stays bounded and counts what it dropped.
//! - `bad_config`: the new keys, refused with exit 2 naming the key.
//! - `high_availability`: one agent, two aggregators; each gets every
//!   report, one stopped holds back nothing the other gets.

mod bad_config;
mod every_probe;
mod frozen;
mod high_availability;
mod streaming;
mod support;
