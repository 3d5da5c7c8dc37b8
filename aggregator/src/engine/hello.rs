//! Checking a Hello before an agent is let in. Every error names the field,
//! because the person who reads it is fixing an agent's config.

use std::time::Duration;

use greenlight_proto::limits::{MAX_INSTANCE_ID_BYTES, MAX_NAME_BYTES};
use greenlight_proto::v1::{Color, Hello};

use super::agent::{AgentIdentity, AgentKey};
use super::report_limits::name_problem;

/// The interval assumed when an agent does not say (DESIGN: default 1 s).
pub const DEFAULT_REPORT_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct HelloError {
    pub field: &'static str,
    pub reason: String,
}

/// Why a Hello was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloRefused {
    #[error(transparent)]
    Invalid(#[from] HelloError),
    /// Another run's stream for this identity is alive: two streams are
    /// never interleaved as one agent.
    #[error(
        "{identity} is already connected on a live stream (last heard {heard_ms} ms ago, another run of the agent); a second stream for it is refused: stop the other agent, or give this one its own instance_id"
    )]
    AlreadyConnected { identity: String, heard_ms: u128 },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> HelloError {
    HelloError {
        field,
        reason: reason.into(),
    }
}

/// Deployment names end up in Redis keys and gRPC health service names
/// (`greenlight.<deployment>.<color>`), so they are kept to a safe alphabet.
pub fn validate_deployment_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > 100 {
        return Err(format!("is {} characters long; at most 100", name.len()));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
    {
        return Err(format!(
            "{name:?} contains {bad:?}; use letters, digits, '-' and '_'"
        ));
    }
    Ok(())
}

pub fn validate_hello(hello: &Hello) -> Result<(AgentKey, AgentIdentity), HelloError> {
    validate_deployment_name(&hello.deployment)
        .map_err(|reason| invalid("hello.deployment", reason))?;
    let color = match Color::try_from(hello.color) {
        Ok(color @ (Color::Blue | Color::Green)) => color,
        _ => {
            return Err(invalid(
                "hello.color",
                format!(
                    "unknown color {}; expected COLOR_BLUE (1) or COLOR_GREEN (2)",
                    hello.color
                ),
            ));
        }
    };
    if hello.instance_id.trim().is_empty() {
        return Err(invalid("hello.instance_id", "must not be empty"));
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
        if let Some(problem) = name_problem(value, max_bytes) {
            return Err(invalid(field, problem));
        }
    }
    let interval = match hello.report_interval_ms {
        0 => DEFAULT_REPORT_INTERVAL,
        ms => Duration::from_millis(u64::from(ms)),
    };
    if interval > Duration::from_secs(3600) {
        return Err(invalid(
            "hello.report_interval_ms",
            format!("{} ms is more than an hour", hello.report_interval_ms),
        ));
    }
    let key = AgentKey {
        deployment: hello.deployment.clone(),
        color,
        instance_id: hello.instance_id.clone(),
    };
    let identity = AgentIdentity {
        agent_version: hello.agent_version.clone(),
        backend_version: hello.backend_version.clone(),
        run_id: hello.run_id.as_str().into(),
        interval,
    };
    Ok((key, identity))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> Hello {
        Hello {
            deployment: "escashop".into(),
            color: Color::Green as i32,
            instance_id: "green-1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_hello_passes_with_the_default_interval() {
        let (key, identity) = validate_hello(&hello()).unwrap();
        assert_eq!(key.color, Color::Green);
        assert_eq!(identity.interval, DEFAULT_REPORT_INTERVAL);
    }

    #[test]
    fn each_bad_field_is_named() {
        type Spoil = fn(&mut Hello);
        let cases: [(Spoil, &str); 8] = [
            (|h| h.deployment.clear(), "hello.deployment"),
            (|h| h.deployment = "esca shop".into(), "hello.deployment"),
            (|h| h.color = Color::Unspecified as i32, "hello.color"),
            (|h| h.color = 7, "hello.color"),
            (|h| h.instance_id = " ".into(), "hello.instance_id"),
            (|h| h.instance_id = "green\n1".into(), "hello.instance_id"),
            (|h| h.run_id = "r".repeat(129), "hello.run_id"),
            (
                |h| h.agent_version = "0.1\u{7}".into(),
                "hello.agent_version",
            ),
        ];
        for (spoil, field) in cases {
            let mut bad = hello();
            spoil(&mut bad);
            assert_eq!(validate_hello(&bad).unwrap_err().field, field);
        }
    }
}
