//! Turning an evaluation into a `Verdict`, telling a new verdict from a
//! repeat, and reading back which colors may carry traffic.

use std::collections::BTreeMap;
use std::time::SystemTime;

use greenlight_proto::names::other_color;
use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::{AgentSummary, Color, Decision, Verdict};

use super::agent::{AgentKey, AgentState, check_key};
use super::readiness::{Evaluation, color_is_healthy};
use super::settings::DeploymentSettings;

pub fn build(
    name: &str,
    settings: &DeploymentSettings,
    agents: &BTreeMap<AgentKey, AgentState>,
    evaluation: Evaluation,
    now: SystemTime,
) -> Verdict {
    let mut verdict = Verdict {
        deployment: name.to_string(),
        decided_at: Some(to_timestamp(now)),
        reasons: evaluation.reasons,
        agents: agents
            .iter()
            .map(|(key, agent)| summary(settings, key, agent, now))
            .collect(),
        candidate_healthy_since: evaluation.candidate_healthy_since.map(to_timestamp),
        ready_after_seconds: settings.ready_after.as_secs_f64(),
        live_healthy: color_is_healthy(settings, agents, settings.live, now),
        ..Default::default()
    };
    verdict.set_decision(evaluation.decision);
    verdict.set_phase(evaluation.phase);
    verdict.set_live(settings.live);
    verdict.set_candidate(other_color(settings.live));
    verdict
}

fn summary(
    settings: &DeploymentSettings,
    key: &AgentKey,
    agent: &AgentState,
    now: SystemTime,
) -> AgentSummary {
    let mut summary = AgentSummary {
        instance_id: key.instance_id.clone(),
        agent_version: agent.identity.agent_version.clone(),
        backend_version: agent.identity.backend_version.clone(),
        connected: agent.connected,
        fresh: agent.is_fresh(now, settings.stale_after_intervals),
        last_sequence: agent.last_sequence,
        last_report_at: agent.latest.as_ref().map(|_| to_timestamp(agent.last_seen)),
        failing_checks: agent.failing_checks().map(check_key).collect(),
        ..Default::default()
    };
    summary.set_color(key.color);
    summary
}

/// The parts of a verdict whose change makes a new verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    decision: i32,
    phase: i32,
    live: i32,
    live_healthy: bool,
    reasons: Vec<(String, i32, String, String, String)>,
    agents: Vec<(i32, String, bool, bool, Vec<String>)>,
}

impl Signature {
    pub fn of(verdict: &Verdict) -> Self {
        Signature {
            decision: verdict.decision,
            phase: verdict.phase,
            live: verdict.live,
            live_healthy: verdict.live_healthy,
            reasons: verdict
                .reasons
                .iter()
                .map(|r| {
                    (
                        r.rule.clone(),
                        r.color,
                        r.agent.clone(),
                        r.check.clone(),
                        r.error.clone(),
                    )
                })
                .collect(),
            agents: verdict
                .agents
                .iter()
                .map(|a| {
                    (
                        a.color,
                        a.instance_id.clone(),
                        a.connected,
                        a.fresh,
                        a.failing_checks.clone(),
                    )
                })
                .collect(),
        }
    }
}

/// Whether `color` is fit to carry traffic now (DESIGN: the
/// `greenlight.<deployment>.<color>` health service): the candidate when
/// READY, the live color while its agents are fresh and passing.
pub fn fit_to_carry_traffic(verdict: &Verdict, color: Color) -> bool {
    if color == verdict.candidate() {
        verdict.decision() == Decision::Ready
    } else if color == verdict.live() {
        verdict.live_healthy
    } else {
        false
    }
}
