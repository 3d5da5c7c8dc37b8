//! The verdict as JSON: what the aggregator stores in Redis
//! (`greenlight:{<deployment>}:verdict`, its channel and history stream) and
//! what `greenlight verdict --json` prints. One shape for both, so a script
//! can read either.

use serde::{Deserialize, Serialize};

use crate::names::{action_name, color_name, decision_name, phase_name};
use crate::time::{from_timestamp, rfc3339};
use crate::v1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictJson {
    pub deployment: String,
    pub epoch: u64,
    /// READY, NOT_READY, ROLLBACK, HOLD or UNKNOWN.
    pub decision: String,
    /// Normal, Deploying, Testing, Ready, Baking, Verified, RolledBack, Held.
    pub phase: String,
    pub live: String,
    pub candidate: String,
    /// RFC 3339, UTC.
    pub decided_at: Option<String>,
    pub candidate_healthy_since: Option<String>,
    pub ready_after_seconds: f64,
    pub live_healthy: bool,
    /// Whether the old side (the rollback target) is fresh and passing.
    #[serde(default)]
    pub standby_healthy: bool,
    pub bake_started: Option<String>,
    pub bake_deadline: Option<String>,
    pub dry_run: bool,
    pub auto_cutover: bool,
    /// none, cutover or rollback.
    pub action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub paused_reason: String,
    /// With `[ha]`: the aggregator leading the deployment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub leader: String,
    pub transitions: Vec<TransitionJson>,
    pub reasons: Vec<ReasonJson>,
    pub agents: Vec<AgentJson>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionJson {
    pub from: String,
    pub to: String,
    pub at: Option<String>,
    pub cause: String,
    pub epoch: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasonJson {
    pub rule: String,
    pub color: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub agent: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub check: String,
    pub observed_value: f64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub observed_unit: String,
    pub threshold: f64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    pub since: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentJson {
    pub color: String,
    pub instance_id: String,
    pub agent_version: String,
    pub backend_version: String,
    pub connected: bool,
    pub fresh: bool,
    pub last_sequence: u64,
    pub last_report_at: Option<String>,
    pub failing_checks: Vec<String>,
    /// The agent's clock minus the aggregator's, in seconds.
    #[serde(default)]
    pub clock_offset_seconds: f64,
    /// When the agent says it took its latest report (its own clock).
    #[serde(default)]
    pub last_observed_at: Option<String>,
}

fn stamp_text(stamp: Option<&prost_types::Timestamp>) -> Option<String> {
    stamp.and_then(from_timestamp).map(rfc3339)
}

impl From<&v1::Verdict> for VerdictJson {
    fn from(verdict: &v1::Verdict) -> Self {
        VerdictJson {
            deployment: verdict.deployment.clone(),
            epoch: verdict.epoch,
            decision: decision_name(verdict.decision()).to_string(),
            phase: phase_name(verdict.phase()).to_string(),
            live: color_name(verdict.live()).to_string(),
            candidate: color_name(verdict.candidate()).to_string(),
            decided_at: stamp_text(verdict.decided_at.as_ref()),
            candidate_healthy_since: stamp_text(verdict.candidate_healthy_since.as_ref()),
            ready_after_seconds: verdict.ready_after_seconds,
            live_healthy: verdict.live_healthy,
            standby_healthy: verdict.standby_healthy,
            bake_started: stamp_text(verdict.bake_started.as_ref()),
            bake_deadline: stamp_text(verdict.bake_deadline.as_ref()),
            dry_run: verdict.dry_run,
            auto_cutover: verdict.auto_cutover,
            action: action_name(verdict.action()).to_string(),
            paused_reason: verdict.paused_reason.clone(),
            leader: verdict.leader.clone(),
            transitions: verdict
                .transitions
                .iter()
                .map(|t| TransitionJson {
                    from: phase_name(t.from()).to_string(),
                    to: phase_name(t.to()).to_string(),
                    at: stamp_text(t.at.as_ref()),
                    cause: t.cause.clone(),
                    epoch: t.epoch,
                })
                .collect(),
            reasons: verdict.reasons.iter().map(ReasonJson::from).collect(),
            agents: verdict.agents.iter().map(AgentJson::from).collect(),
        }
    }
}

impl From<&v1::Reason> for ReasonJson {
    fn from(reason: &v1::Reason) -> Self {
        ReasonJson {
            rule: reason.rule.clone(),
            color: color_name(reason.color()).to_string(),
            agent: reason.agent.clone(),
            check: reason.check.clone(),
            observed_value: reason.observed_value,
            observed_unit: reason.observed_unit.clone(),
            threshold: reason.threshold,
            error: reason.error.clone(),
            since: stamp_text(reason.since.as_ref()),
            message: reason.message.clone(),
        }
    }
}

impl From<&v1::AgentSummary> for AgentJson {
    fn from(agent: &v1::AgentSummary) -> Self {
        AgentJson {
            color: color_name(agent.color()).to_string(),
            instance_id: agent.instance_id.clone(),
            agent_version: agent.agent_version.clone(),
            backend_version: agent.backend_version.clone(),
            connected: agent.connected,
            fresh: agent.fresh,
            last_sequence: agent.last_sequence,
            last_report_at: stamp_text(agent.last_report_at.as_ref()),
            failing_checks: agent.failing_checks.clone(),
            clock_offset_seconds: agent.clock_offset_seconds,
            last_observed_at: stamp_text(agent.last_observed_at.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_json_uses_readable_names() {
        let mut verdict = v1::Verdict {
            deployment: "escashop".into(),
            epoch: 7,
            ..Default::default()
        };
        verdict.set_decision(v1::Decision::NotReady);
        verdict.set_phase(v1::Phase::Deploying);
        verdict.set_live(v1::Color::Blue);
        verdict.set_candidate(v1::Color::Green);
        let mut reason = v1::Reason {
            rule: "check_failed".into(),
            agent: "green-1".into(),
            check: "postgres".into(),
            error: "connection refused".into(),
            ..Default::default()
        };
        reason.set_color(v1::Color::Green);
        verdict.reasons.push(reason);

        let json = serde_json::to_value(VerdictJson::from(&verdict)).unwrap();
        assert_eq!(json["decision"], "NOT_READY");
        assert_eq!(json["phase"], "Deploying");
        assert_eq!(json["candidate"], "green");
        assert_eq!(json["reasons"][0]["color"], "green");
        assert_eq!(json["reasons"][0]["check"], "postgres");
        let back: VerdictJson = serde_json::from_value(json).unwrap();
        assert_eq!(back.epoch, 7);
    }
}
