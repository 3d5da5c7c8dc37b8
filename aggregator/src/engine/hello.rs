//! Checking a Hello before an agent is let in, by the rules agents check
//! their configuration by (`greenlight_proto::hello_check`). Every error
//! names the field, because the person who reads it is fixing an agent's
//! config.

use greenlight_proto::hello_check::{check_hello, deployment_name_problem};
use greenlight_proto::v1::Hello;

use super::agent::{AgentIdentity, AgentKey};

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

/// Deployment names end up in Redis keys and gRPC health service names, so
/// they are kept to a safe alphabet (the rule agents check their config by).
pub fn validate_deployment_name(name: &str) -> Result<(), String> {
    deployment_name_problem(name).map_or(Ok(()), Err)
}

pub fn validate_hello(hello: &Hello) -> Result<(AgentKey, AgentIdentity), HelloError> {
    let facts = check_hello(hello).map_err(|problem| HelloError {
        field: problem.field,
        reason: problem.reason,
    })?;
    let key = AgentKey {
        deployment: hello.deployment.clone(),
        color: facts.color,
        instance_id: hello.instance_id.clone(),
    };
    let identity = AgentIdentity {
        agent_version: hello.agent_version.clone(),
        backend_version: hello.backend_version.clone(),
        run_id: hello.run_id.as_str().into(),
        interval: facts.interval,
    };
    Ok((key, identity))
}

#[cfg(test)]
mod tests {
    use greenlight_proto::hello_check::DEFAULT_REPORT_INTERVAL;
    use greenlight_proto::v1::Color;

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
