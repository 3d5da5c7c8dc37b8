//! `health_json`: the agent's reading of a backend's health bodies (the
//! guide's JSON, `application/health+json`, or anything else). Whatever a
//! backend answers, the `http` check's results must make a report the
//! aggregator takes: a backend can fail its check, not silence its agent.
//!
//! The input: the `/health` body, then, after a NUL byte (if there is
//! one), the `/health/detailed` body.

use crate::aggregator::Gate;

pub fn run(data: &[u8]) {
    let (health, detailed) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let mut gate = Gate::default();
    for status in [200, 503] {
        let results = greenlight_agent::fuzzing::health_results(status, health, detailed);
        gate.must_accept(results, None, &String::from_utf8_lossy(data));
    }
}
