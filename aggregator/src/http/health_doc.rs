//! The aggregator's `/health` in `application/health+json`
//! (draft-inadarei-api-health-check), shaped as the agent's is: `status`
//! pass/warn/fail and `checks` keyed `component:measurement`, each an
//! array of `{componentType, observedValue, observedUnit, status, time}`.
//! Pure: a snapshot in, JSON out.

use std::time::{Duration, SystemTime};

use greenlight_proto::time::rfc3339;
use serde_json::{Map, Value, json};

/// What Redis answered to a PING just now.
#[derive(Debug, Clone, PartialEq)]
pub enum RedisHealth {
    NotConfigured,
    Reachable { round_trip: Duration },
    Unreachable(String),
}

/// The switch hooks since the aggregator started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HookTally {
    /// How many of cutover and rollback have a command.
    pub configured: usize,
    pub runs: u64,
    pub failures: u64,
    /// The latest run's failure, when the latest run failed.
    pub last_failure: Option<String>,
}

/// One color of one deployment, as the engine sees its agents.
#[derive(Debug, Clone, PartialEq)]
pub struct ColorAgents {
    pub deployment: String,
    pub color: &'static str,
    pub tracked: usize,
    pub connected: usize,
    pub fresh: usize,
}

#[derive(Debug, Clone)]
pub struct HealthSnapshot {
    pub now: SystemTime,
    pub redis: RedisHealth,
    pub hooks: HookTally,
    pub colors: Vec<ColorAgents>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// The document and whether it says `fail` (then served with 503).
/// Fail: Redis is configured and does not answer (verdicts are not being
/// published). Warn: a hook's latest run failed, or an agent is
/// disconnected or stale.
pub fn document(snapshot: &HealthSnapshot) -> (bool, Value) {
    let time = rfc3339(snapshot.now);
    let mut worst = Status::Pass;
    let mut checks = Map::new();
    match &snapshot.redis {
        RedisHealth::NotConfigured => {}
        RedisHealth::Reachable { round_trip } => {
            checks.insert(
                "redis:responseTime".into(),
                json!([{
                    "componentType": "datastore",
                    "observedValue": round_trip.as_secs_f64(),
                    "observedUnit": "s",
                    "status": "pass",
                    "time": time,
                }]),
            );
        }
        RedisHealth::Unreachable(error) => {
            worst = Status::Fail;
            checks.insert(
                "redis:responseTime".into(),
                json!([{
                    "componentType": "datastore",
                    "status": "fail",
                    "time": time,
                    "output": error,
                }]),
            );
        }
    }
    let hooks = &snapshot.hooks;
    let hook_status = if hooks.last_failure.is_some() {
        Status::Warn
    } else {
        Status::Pass
    };
    worst = worst.max(hook_status);
    let mut hook_entry = json!({
        "componentType": "component",
        "observedValue": hooks.failures,
        "observedUnit": "runs",
        "status": hook_status.word(),
        "time": time,
        "output": format!(
            "{} of 2 hooks configured; {} runs, {} failed",
            hooks.configured, hooks.runs, hooks.failures
        ),
    });
    if let Some(failure) = &hooks.last_failure {
        hook_entry["output"] = Value::String(format!("the latest run failed: {failure}"));
    }
    checks.insert("hooks:failures".into(), json!([hook_entry]));
    let mut connected = Vec::new();
    let mut fresh = Vec::new();
    for color in &snapshot.colors {
        let id = format!("{}/{}", color.deployment, color.color);
        let connected_status = if color.connected == color.tracked {
            Status::Pass
        } else {
            Status::Warn
        };
        let fresh_status = if color.fresh == color.tracked {
            Status::Pass
        } else {
            Status::Warn
        };
        worst = worst.max(connected_status).max(fresh_status);
        connected.push(json!({
            "componentId": id,
            "componentType": "component",
            "observedValue": color.connected,
            "observedUnit": "agents",
            "status": connected_status.word(),
            "time": time,
            "output": format!("{} of {} tracked agents connected", color.connected, color.tracked),
        }));
        fresh.push(json!({
            "componentId": id,
            "componentType": "component",
            "observedValue": color.fresh,
            "observedUnit": "agents",
            "status": fresh_status.word(),
            "time": time,
            "output": format!("{} of {} tracked agents reporting on time", color.fresh, color.tracked),
        }));
    }
    checks.insert("agents:connected".into(), Value::Array(connected));
    checks.insert("agents:fresh".into(), Value::Array(fresh));
    let body = json!({
        "status": worst.word(),
        "version": env!("CARGO_PKG_VERSION"),
        "serviceId": "greenlight-aggregator",
        "description": "greenlight-aggregator: Redis, the switch hooks and the agents it hears from",
        "checks": checks,
    });
    (worst == Status::Fail, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(redis: RedisHealth) -> HealthSnapshot {
        HealthSnapshot {
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            redis,
            hooks: HookTally {
                configured: 1,
                runs: 2,
                failures: 0,
                last_failure: None,
            },
            colors: vec![ColorAgents {
                deployment: "escashop".into(),
                color: "green",
                tracked: 2,
                connected: 2,
                fresh: 2,
            }],
        }
    }

    #[test]
    fn all_well_passes_with_every_check_shaped_as_the_draft_says() {
        let (failing, body) = document(&snapshot(RedisHealth::Reachable {
            round_trip: Duration::from_millis(2),
        }));
        assert!(!failing);
        assert_eq!(body["status"], "pass");
        let checks = body["checks"].as_object().unwrap();
        for (key, entries) in checks {
            assert_eq!(key.split(':').count(), 2, "{key}");
            for entry in entries.as_array().unwrap() {
                for field in ["componentType", "status", "time"] {
                    assert!(entry.get(field).is_some(), "{key}: {field} in {entry}");
                }
            }
        }
        assert_eq!(checks["redis:responseTime"][0]["observedValue"], 0.002);
        assert_eq!(
            checks["agents:connected"][0]["componentId"],
            "escashop/green"
        );
        assert_eq!(checks["agents:connected"][0]["observedValue"], 2);
        assert_eq!(
            body["checks"]["redis:responseTime"][0]["time"],
            "2027-01-15T08:00:00.000Z"
        );
    }

    #[test]
    fn redis_unreachable_fails_and_a_stale_agent_or_failed_hook_warns() {
        let (failing, body) = document(&snapshot(RedisHealth::Unreachable("refused".into())));
        assert!(failing);
        assert_eq!(body["status"], "fail");
        assert_eq!(body["checks"]["redis:responseTime"][0]["output"], "refused");

        let mut stale = snapshot(RedisHealth::NotConfigured);
        stale.colors[0].fresh = 1;
        let (failing, body) = document(&stale);
        assert!(!failing);
        assert_eq!(body["status"], "warn");
        assert_eq!(body["checks"]["agents:fresh"][0]["status"], "warn");
        assert!(body["checks"].get("redis:responseTime").is_none());

        let mut hook = snapshot(RedisHealth::NotConfigured);
        hook.hooks.last_failure = Some("exit 1".into());
        let (_, body) = document(&hook);
        assert_eq!(body["status"], "warn");
        assert_eq!(body["checks"]["hooks:failures"][0]["status"], "warn");
    }
}
