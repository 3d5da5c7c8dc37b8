//! Whether a Hello can be let in: the aggregator's rules for the first
//! message of a stream, shared with the agent, which checks its
//! configuration by them at startup. An agent that starts is then never
//! refused at every connection for a name the aggregator does not take.

use std::time::Duration;

use crate::limits::{MAX_INSTANCE_ID_BYTES, MAX_NAME_BYTES, name_problem};
use crate::v1::{Color, Hello};

/// The interval assumed when an agent does not say (DESIGN: default 1 s).
pub const DEFAULT_REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// The longest report interval an agent may promise.
pub const MAX_REPORT_INTERVAL: Duration = Duration::from_secs(3600);
/// A deployment's name, in bytes (its alphabet is ASCII).
pub const MAX_DEPLOYMENT_BYTES: usize = 100;

/// What is wrong with a Hello: the field (`hello.deployment`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloProblem {
    pub field: &'static str,
    pub reason: String,
}

/// What a good Hello says, read once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelloFacts {
    pub color: Color,
    /// The promised report interval, [`DEFAULT_REPORT_INTERVAL`] for 0.
    pub interval: Duration,
}

/// Deployment names end up in Redis keys and gRPC health service names
/// (`greenlight.<deployment>.<color>`), so they are kept to a safe alphabet.
pub fn deployment_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    if name.len() > MAX_DEPLOYMENT_BYTES {
        return Some(format!(
            "is {} characters long; at most {MAX_DEPLOYMENT_BYTES}",
            name.len()
        ));
    }
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))?;
    Some(format!(
        "{name:?} contains {bad:?}; use letters, digits, '-' and '_'"
    ))
}

/// Checks every field of `hello`; the first problem names its field.
pub fn check_hello(hello: &Hello) -> Result<HelloFacts, HelloProblem> {
    let problem = |field, reason| HelloProblem { field, reason };
    if let Some(reason) = deployment_name_problem(&hello.deployment) {
        return Err(problem("hello.deployment", reason));
    }
    let color = match Color::try_from(hello.color) {
        Ok(color @ (Color::Blue | Color::Green)) => color,
        _ => {
            return Err(problem(
                "hello.color",
                format!(
                    "unknown color {}; expected COLOR_BLUE (1) or COLOR_GREEN (2)",
                    hello.color
                ),
            ));
        }
    };
    if hello.instance_id.trim().is_empty() {
        return Err(problem("hello.instance_id", "must not be empty".into()));
    }
    for (field, value, max_bytes) in [
        (
            "hello.instance_id",
            &hello.instance_id,
            MAX_INSTANCE_ID_BYTES,
        ),
        ("hello.agent_version", &hello.agent_version, MAX_NAME_BYTES),
        (
            "hello.backend_version",
            &hello.backend_version,
            MAX_NAME_BYTES,
        ),
        ("hello.run_id", &hello.run_id, MAX_NAME_BYTES),
    ] {
        if let Some(reason) = name_problem(value, max_bytes) {
            return Err(problem(field, reason));
        }
    }
    let interval = match hello.report_interval_ms {
        0 => DEFAULT_REPORT_INTERVAL,
        ms => Duration::from_millis(u64::from(ms)),
    };
    if interval > MAX_REPORT_INTERVAL {
        return Err(problem(
            "hello.report_interval_ms",
            format!("{} ms is more than an hour", hello.report_interval_ms),
        ));
    }
    Ok(HelloFacts { color, interval })
}
