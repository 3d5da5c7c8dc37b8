//! The first verdict rule: the candidate is READY when all its agents are
//! fresh and all their checks have passed for the whole readiness window.
//! Anything else is NOT_READY, with a reason for each thing in the way.

use std::collections::BTreeMap;
use std::time::SystemTime;

use greenlight_proto::names::color_name;
use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::{Color, Decision, Phase, Reason};

use super::agent::{AgentKey, AgentState, check_key};
use super::settings::DeploymentSettings;

/// What the rule concluded for one deployment at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub decision: Decision,
    pub phase: Phase,
    pub reasons: Vec<Reason>,
    /// Since when the candidate has been continuously healthy.
    pub candidate_healthy_since: Option<SystemTime>,
}

/// Evaluates readiness. `healthy_since` is the previous evaluation's
/// `candidate_healthy_since`: health must be continuous, so any problem
/// resets it.
pub fn evaluate(
    settings: &DeploymentSettings,
    agents: &BTreeMap<AgentKey, AgentState>,
    healthy_since: Option<SystemTime>,
    now: SystemTime,
) -> Evaluation {
    let candidate = greenlight_proto::names::other_color(settings.live);
    let candidates: Vec<_> = agents
        .iter()
        .filter(|(key, _)| key.color == candidate)
        .collect();
    if candidates.is_empty() {
        let reason = reason(
            "no_agents",
            candidate,
            "",
            "",
            format!(
                "no {} agent is connected: the candidate is not deployed",
                color_name(candidate)
            ),
        );
        return Evaluation {
            decision: Decision::NotReady,
            phase: Phase::Normal,
            reasons: vec![reason],
            candidate_healthy_since: None,
        };
    }

    let problems: Vec<Reason> = candidates
        .iter()
        .flat_map(|(key, agent)| agent_problems(settings, key, agent, now))
        .collect();
    if !problems.is_empty() {
        return Evaluation {
            decision: Decision::NotReady,
            phase: Phase::Deploying,
            reasons: problems,
            candidate_healthy_since: None,
        };
    }

    let since = healthy_since.unwrap_or(now);
    let healthy_for = now.duration_since(since).unwrap_or_default();
    if healthy_for >= settings.ready_after {
        return Evaluation {
            decision: Decision::Ready,
            phase: Phase::Ready,
            reasons: Vec::new(),
            candidate_healthy_since: Some(since),
        };
    }
    let mut window = reason(
        "readiness_window",
        candidate,
        "",
        "",
        format!(
            "{} healthy for {:.1} s of the {:.1} s readiness window",
            color_name(candidate),
            healthy_for.as_secs_f64(),
            settings.ready_after.as_secs_f64()
        ),
    );
    window.observed_value = healthy_for.as_secs_f64();
    window.observed_unit = "seconds".into();
    window.threshold = settings.ready_after.as_secs_f64();
    window.since = Some(to_timestamp(since));
    Evaluation {
        decision: Decision::NotReady,
        phase: Phase::Testing,
        reasons: vec![window],
        candidate_healthy_since: Some(since),
    }
}

/// Whether every agent of `color` is fresh and passing: that color could
/// carry traffic right now.
pub fn color_is_healthy(
    settings: &DeploymentSettings,
    agents: &BTreeMap<AgentKey, AgentState>,
    color: Color,
    now: SystemTime,
) -> bool {
    let mut of_color = agents
        .iter()
        .filter(|(key, _)| key.color == color)
        .peekable();
    of_color.peek().is_some()
        && of_color.all(|(key, agent)| agent_problems(settings, key, agent, now).is_empty())
}

/// Everything about one agent that stands in the way of readiness.
fn agent_problems(
    settings: &DeploymentSettings,
    key: &AgentKey,
    agent: &AgentState,
    now: SystemTime,
) -> Vec<Reason> {
    let who = format!("{} agent {}", color_name(key.color), key.instance_id);
    if agent.latest.is_none() {
        let mut waiting = reason(
            "no_reports",
            key.color,
            &key.instance_id,
            "",
            format!("{who} has connected but sent no report yet"),
        );
        waiting.since = Some(to_timestamp(agent.connected_at));
        return vec![waiting];
    }
    if !agent.is_fresh(now, settings.stale_after_intervals) {
        let silence = agent.silence(now).as_secs_f64();
        let limit = agent
            .stale_after(settings.stale_after_intervals)
            .as_secs_f64();
        let state = if agent.connected {
            "connected"
        } else {
            "disconnected"
        };
        let mut stale = reason(
            "agent_stale",
            key.color,
            &key.instance_id,
            "",
            format!("{who} is stale ({state}): no report for {silence:.1} s, limit {limit:.1} s"),
        );
        stale.observed_value = silence;
        stale.observed_unit = "seconds".into();
        stale.threshold = limit;
        stale.since = Some(to_timestamp(agent.last_seen));
        return vec![stale];
    }
    agent
        .failing_checks()
        .map(|check| {
            let name = check_key(check);
            let what = if check.error.is_empty() {
                format!(
                    "observed {} {} against {}",
                    check.observed_value, check.observed_unit, check.threshold
                )
            } else {
                check.error.clone()
            };
            let mut failed = reason(
                "check_failed",
                key.color,
                &key.instance_id,
                &name,
                format!("{who}: check {name} failing: {what}"),
            );
            failed.observed_value = check.observed_value;
            failed.observed_unit = check.observed_unit.clone();
            failed.threshold = check.threshold;
            failed.error = check.error.clone();
            failed.since = agent.failing_since.get(&name).copied().map(to_timestamp);
            failed
        })
        .collect()
}

fn reason(rule: &str, color: Color, agent: &str, check: &str, message: String) -> Reason {
    let mut reason = Reason {
        rule: rule.into(),
        agent: agent.into(),
        check: check.into(),
        message,
        ..Default::default()
    };
    reason.set_color(color);
    reason
}
