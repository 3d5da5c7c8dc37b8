//! Turning an evaluation into a `Verdict`, telling a new verdict from a
//! repeat, and reading back which colors may carry traffic.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::SystemTime;

use greenlight_proto::names::other_color;
use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::{AgentSummary, Color, Decision, Phase, Verdict};

use super::agent::check_key;
use super::deployment::{Deployment, Evaluation};
use super::readiness::color_is_healthy;

/// Transitions shown in a verdict (the saved state keeps more).
const SHOWN_TRANSITIONS: usize = 10;

pub fn build(
    name: &str,
    deployment: &Deployment,
    evaluation: &Evaluation,
    now: SystemTime,
) -> Verdict {
    let settings = &deployment.settings;
    let life = &deployment.life;
    let mut verdict = Verdict {
        deployment: name.to_string(),
        epoch: deployment.epoch,
        decided_at: Some(to_timestamp(now)),
        reasons: evaluation.findings.iter().map(|f| f.to_reason()).collect(),
        agents: deployment
            .agents
            .iter()
            .map(|(key, agent)| {
                let mut summary = AgentSummary {
                    instance_id: key.instance_id.clone(),
                    agent_version: agent.identity.agent_version.clone(),
                    backend_version: agent.identity.backend_version.clone(),
                    connected: agent.connected,
                    fresh: agent.is_fresh(now, settings.stale_after_intervals),
                    last_sequence: agent.last_sequence,
                    last_report_at: agent.latest.as_ref().map(|_| to_timestamp(agent.last_seen)),
                    failing_checks: agent.failing_checks().map(check_key).collect(),
                    clock_offset_seconds: agent.clock.offset_seconds(),
                    last_observed_at: agent.latest.as_ref().and_then(|report| report.observed_at),
                    ..Default::default()
                };
                summary.set_color(key.color);
                summary
            })
            .collect(),
        candidate_healthy_since: deployment.candidate_healthy_since.map(to_timestamp),
        ready_after_seconds: settings.ready_after.as_secs_f64(),
        live_healthy: color_is_healthy(settings, &deployment.agents, life.traffic_on(), now),
        standby_healthy: color_is_healthy(
            settings,
            &deployment.agents,
            other_color(life.traffic_on()),
            now,
        ),
        bake_started: life.stage().baking().map(|bake| to_timestamp(bake.started)),
        bake_deadline: life
            .stage()
            .baking()
            .map(|bake| to_timestamp(bake.deadline)),
        dry_run: settings.dry_run,
        auto_cutover: settings.auto_cutover,
        transitions: life
            .transitions()
            .iter()
            .skip(life.transitions().len().saturating_sub(SHOWN_TRANSITIONS))
            .cloned()
            .collect(),
        paused_reason: life.paused.clone().unwrap_or_default(),
        ..Default::default()
    };
    verdict.set_decision(evaluation.decision);
    verdict.set_phase(evaluation.phase);
    verdict.set_live(life.traffic_on());
    verdict.set_candidate(life.candidate());
    verdict.set_action(evaluation.action);
    verdict
}

/// What makes a verdict new: the decision, phase, colors and action; each
/// finding's rule, color, agent, check and error; each agent's connection,
/// freshness and failing checks. Values that drift (latencies, elapsed
/// time) do not. A hash, so that comparing costs no allocation.
pub fn signature(deployment: &Deployment, evaluation: &Evaluation, now: SystemTime) -> u64 {
    // Runs on every report: the small values are packed into words, one
    // write each, and strings are hashed only when there are any (the
    // agents' names once, at their Hello). 38 writes a report became 6
    // (callgrind, `report/history_1000`, 2026-12-02).
    let settings = &deployment.settings;
    let life = &deployment.life;
    let mut hasher = DefaultHasher::new();
    let small = |value: i32| u64::from(value as u8);
    let header = small(evaluation.decision as i32)
        | small(evaluation.phase as i32) << 8
        | small(evaluation.action as i32) << 16
        | small(life.traffic_on() as i32) << 24
        | small(life.stable() as i32) << 32
        | u64::from(life.stage().index()) << 40
        | u64::from(life.paused.is_some()) << 48
        | u64::from(color_is_healthy(
            settings,
            &deployment.agents,
            Color::Blue,
            now,
        )) << 49
        | u64::from(color_is_healthy(
            settings,
            &deployment.agents,
            Color::Green,
            now,
        )) << 50;
    hasher.write_u64(header);
    if let Some(paused) = &life.paused {
        paused.hash(&mut hasher);
    }
    for finding in &evaluation.findings {
        hasher.write_u64(finding.rule as u64 | small(finding.color as i32) << 8);
        for text in [&finding.agent, &finding.check, &finding.error] {
            if !text.is_empty() {
                text.hash(&mut hasher);
            }
        }
    }
    hasher.write_usize(deployment.agents.len());
    for agent in deployment.agents.values() {
        let fresh = agent.is_fresh(now, settings.stale_after_intervals);
        hasher.write_u64(agent.key_hash ^ (u64::from(agent.connected) | u64::from(fresh) << 1));
        for failing in agent.failing.keys() {
            failing.hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// Whether `color` is fit to carry traffic now (DESIGN: the
/// `greenlight.<deployment>.<color>` health service): the color carrying
/// traffic while its agents are fresh and passing; before cutover the
/// candidate when READY; during the bake the old side when its agents are
/// fresh and passing (fit to take the traffic back: an emergency
/// rollback's gate).
pub fn fit_to_carry_traffic(verdict: &Verdict, color: Color) -> bool {
    if color == verdict.live() {
        return verdict.live_healthy;
    }
    let baking =
        matches!(verdict.phase(), Phase::Baking | Phase::Held) && verdict.bake_deadline.is_some();
    if baking {
        return verdict.standby_healthy;
    }
    color == verdict.candidate()
        && verdict.phase() == Phase::Ready
        && verdict.decision() == Decision::Ready
}
