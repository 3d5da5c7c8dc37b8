//! Readiness, before cutover: the candidate is READY when all its agents
//! are fresh and all their checks have passed for the whole readiness
//! window. Anything else is NOT_READY, with a finding for each thing in
//! the way.

use std::collections::BTreeMap;
use std::time::SystemTime;

use greenlight_proto::names::color_name;
use greenlight_proto::v1::{Color, Decision, Phase};

use super::agent::{AgentKey, AgentState};
use super::finding::{Finding, Rule};
use super::settings::DeploymentSettings;

/// What readiness concluded at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Readiness {
    pub decision: Decision,
    pub phase: Phase,
    pub findings: Vec<Finding>,
    /// Since when the candidate has been continuously healthy.
    pub healthy_since: Option<SystemTime>,
    /// Not READY only because agents are absent, silent or stale (not
    /// because a check fails): what a restart's grace waits out.
    pub waiting_for_agents: bool,
}

/// `healthy_since` is the previous evaluation's: health must be continuous,
/// so any problem resets it.
pub fn evaluate(
    settings: &DeploymentSettings,
    agents: &BTreeMap<AgentKey, AgentState>,
    candidate: Color,
    healthy_since: Option<SystemTime>,
    now: SystemTime,
) -> Readiness {
    let mut findings = Vec::new();
    let mut any = false;
    let ours = || agents.iter().filter(|(key, _)| key.color == candidate);
    // A new agent has one interval to send its first report before it
    // counts (a scale-out is no NOT_READY); unless it is all there is.
    let settled = ours().any(|(_, agent)| !agent.is_new(now));
    for (key, agent) in ours().filter(|(_, agent)| !(settled && agent.is_new(now))) {
        any = true;
        agent_problems(settings, key, agent, now, &mut findings);
    }
    let waiting_for_agents = findings
        .iter()
        .all(|finding| matches!(finding.rule, Rule::NoReports | Rule::AgentStale));
    if !any {
        let text = format!(
            "no {} agent is connected: the candidate is not deployed",
            color_name(candidate)
        );
        return Readiness {
            decision: Decision::NotReady,
            phase: Phase::Normal,
            findings: vec![Finding::new(Rule::NoAgents, candidate, text)],
            healthy_since: None,
            waiting_for_agents: true,
        };
    }
    if !findings.is_empty() {
        return Readiness {
            decision: Decision::NotReady,
            phase: Phase::Deploying,
            findings,
            healthy_since: None,
            waiting_for_agents,
        };
    }
    let since = healthy_since.unwrap_or(now);
    let healthy_for = now.duration_since(since).unwrap_or_default();
    if healthy_for >= settings.ready_after {
        return Readiness {
            decision: Decision::Ready,
            phase: Phase::Ready,
            findings,
            healthy_since: Some(since),
            waiting_for_agents: false,
        };
    }
    let text = format!(
        "healthy for {:.1} s of the {:.1} s readiness window",
        healthy_for.as_secs_f64(),
        settings.ready_after.as_secs_f64()
    );
    let window = Finding::new(Rule::ReadinessWindow, candidate, text)
        .observed(
            healthy_for.as_secs_f64(),
            "seconds",
            settings.ready_after.as_secs_f64(),
        )
        .since(since);
    Readiness {
        decision: Decision::NotReady,
        phase: Phase::Testing,
        findings: vec![window],
        healthy_since: Some(since),
        waiting_for_agents: false,
    }
}

/// Whether every agent of `color` is fresh and passing (and there is one):
/// that color could carry traffic right now.
pub fn color_is_healthy(
    settings: &DeploymentSettings,
    agents: &BTreeMap<AgentKey, AgentState>,
    color: Color,
    now: SystemTime,
) -> bool {
    let mut any = false;
    for (_, agent) in agents
        .iter()
        .filter(|(key, agent)| key.color == color && !agent.is_new(now))
    {
        any = true;
        if !agent.is_fresh(now, settings.stale_after_intervals) || agent.any_failing() {
            return false;
        }
    }
    any
}

/// Whether the agent can be judged at all: it has reported and is fresh.
/// If not, pushes the finding that says why.
pub fn judge_freshness(
    settings: &DeploymentSettings,
    key: &AgentKey,
    agent: &AgentState,
    now: SystemTime,
    rule: Rule,
    findings: &mut Vec<Finding>,
) -> bool {
    if agent.latest.is_none() {
        // The words follow the connection: a stream that ended is no
        // agent "connected" (the verdict's agents say disconnected).
        let finding = if agent.connected {
            Finding::new(rule, key.color, "connected, no report yet").since(agent.connected_at)
        } else {
            let gone = now.duration_since(agent.last_seen).unwrap_or_default();
            let text = format!(
                "not connected (last seen {:.0} s ago), and it never sent a report",
                gone.as_secs_f64()
            );
            Finding::new(rule, key.color, text).since(agent.last_seen)
        };
        findings.push(finding.agent(&key.instance_id));
        return false;
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
        findings.push(
            Finding::new(
                rule,
                key.color,
                format!("stale ({state}): no report for {silence:.1} s, limit {limit:.1} s"),
            )
            .agent(&key.instance_id)
            .observed(silence, "seconds", limit)
            .since(agent.last_observed),
        );
        return false;
    }
    true
}

fn agent_problems(
    settings: &DeploymentSettings,
    key: &AgentKey,
    agent: &AgentState,
    now: SystemTime,
    findings: &mut Vec<Finding>,
) {
    let rule = if agent.latest.is_none() {
        Rule::NoReports
    } else {
        Rule::AgentStale
    };
    if !judge_freshness(settings, key, agent, now, rule, findings) {
        return;
    }
    for check in agent.failing_checks() {
        let name = super::agent::check_key(check);
        let what = super::check_words::failing_words(check);
        let mut finding = Finding::new(Rule::CheckFailed, key.color, what)
            .agent(&key.instance_id)
            .check(&name)
            .error(&check.error)
            .observed(
                check.observed_value,
                check.observed_unit.clone(),
                check.threshold,
            );
        finding.since = agent.failing.get(&name).map(|failing| failing.since);
        findings.push(finding);
    }
}
