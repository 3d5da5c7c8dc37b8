//! From the engine's outputs to alert events: the pure core. It remembers
//! each deployment's last phase and the conditions firing, so that a phase
//! change is seen once and a condition that clears is resolved.

use std::collections::BTreeMap;
use std::time::SystemTime;

use greenlight_proto::names::{color_name, phase_name};
use greenlight_proto::v1::{Action, Color, Phase, Reason, Verdict};

use super::event::{AlertEvent, AlertSeverity, AlertState, EventKind};
use crate::engine::{ActionOrder, Outputs, PhaseHookFailed};

#[derive(Debug, Default)]
pub struct EventTracker {
    deployments: BTreeMap<String, Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    phase: Option<Phase>,
    /// Conditions (and failed hooks, which fire once per failure) now
    /// present, by key, as they were when they fired.
    present: BTreeMap<String, AlertEvent>,
}

impl EventTracker {
    /// The events one engine step makes, in its verdicts' order.
    pub fn step(&mut self, outputs: &Outputs, now: SystemTime) -> Vec<AlertEvent> {
        let mut events = Vec::new();
        for verdict in &outputs.verdicts {
            let seen = self
                .deployments
                .entry(verdict.deployment.clone())
                .or_default();
            seen.verdict(verdict, now, &mut events);
            for order in outputs
                .actions
                .iter()
                .filter(|o| o.deployment == verdict.deployment && o.epoch == verdict.epoch)
            {
                events.extend(action_event(order, Some(verdict), now));
            }
        }
        // Actions whose verdict went out in an earlier step.
        for order in &outputs.actions {
            let with_verdict = outputs
                .verdicts
                .iter()
                .any(|v| v.deployment == order.deployment && v.epoch == order.epoch);
            if !with_verdict {
                events.extend(action_event(order, None, now));
            }
        }
        events.extend(
            outputs
                .phase_hooks_failed
                .iter()
                .map(|failed| phase_hook_event(failed, now)),
        );
        events
    }
}

impl Seen {
    fn verdict(&mut self, verdict: &Verdict, now: SystemTime, events: &mut Vec<AlertEvent>) {
        let name = &verdict.deployment;
        let phase = verdict.phase();
        let candidate = color_name(verdict.candidate()).to_string();
        let moment = |kind, severity, summary: String| AlertEvent {
            kind,
            state: AlertState::Firing,
            deployment: name.clone(),
            color: candidate.clone(),
            severity,
            summary,
            details: messages(&verdict.reasons),
            key: format!("{name}/{}/{}", kind.name(), verdict.epoch),
            epoch: verdict.epoch,
            at: now,
            since: now,
        };
        if let Some(before) = self.phase.filter(|before| *before != phase) {
            events.push(moment(
                EventKind::PhaseChanged,
                AlertSeverity::Info,
                format!(
                    "{name}: phase {} -> {}",
                    phase_name(before),
                    phase_name(phase)
                ),
            ));
        }
        if phase == Phase::Ready && self.phase != Some(Phase::Ready) {
            events.push(moment(
                EventKind::Ready,
                AlertSeverity::Info,
                format!("{name}: {candidate} is READY"),
            ));
        }
        self.phase = Some(phase);

        let now_present = conditions(verdict, now);
        for (key, event) in &self.present {
            if !now_present.contains_key(key) && event.kind.is_condition() {
                events.push(resolved(event, verdict.epoch, now));
            }
        }
        let mut present = BTreeMap::new();
        for (key, event) in now_present {
            let kept = match self.present.remove(&key) {
                Some(earlier) => earlier,
                None => {
                    events.push(event.clone());
                    event
                }
            };
            present.insert(key, kept);
        }
        self.present = present;
    }
}

/// Every condition this verdict shows, by key.
fn conditions(verdict: &Verdict, now: SystemTime) -> BTreeMap<String, AlertEvent> {
    let name = &verdict.deployment;
    let candidate = color_name(verdict.candidate()).to_string();
    let mut found = BTreeMap::new();
    let mut add = |kind: EventKind,
                   key: String,
                   color: String,
                   severity,
                   summary: String,
                   details: Vec<String>| {
        found.entry(key.clone()).or_insert(AlertEvent {
            kind,
            state: AlertState::Firing,
            deployment: name.clone(),
            color,
            severity,
            summary,
            details,
            key,
            epoch: verdict.epoch,
            at: now,
            since: now,
        });
    };
    if verdict.phase() == Phase::Held {
        add(
            EventKind::Hold,
            format!("{name}/hold"),
            candidate.clone(),
            AlertSeverity::Warning,
            format!("{name}: HOLD, greenlight will not act on {candidate} until this clears"),
            messages(&verdict.reasons),
        );
    }
    for reason in &verdict.reasons {
        let color = reason_color(reason, &candidate);
        let line = vec![reason.message.clone()];
        match reason.rule.as_str() {
            "agent_stale" => add(
                EventKind::StaleAgent,
                format!("{name}/stale_agent/{color}/{}", reason.agent),
                color.clone(),
                AlertSeverity::Warning,
                format!("{name}: agent {} ({color}) is stale", agent_or_all(reason)),
                line,
            ),
            "clock_skew" => add(
                EventKind::ClockSkew,
                format!("{name}/clock_skew/{color}/{}", reason.agent),
                color.clone(),
                AlertSeverity::Warning,
                format!(
                    "{name}: agent {} ({color}) has a skewed clock",
                    agent_or_all(reason)
                ),
                line,
            ),
            "traffic_drift" | "external_switch" => add(
                EventKind::TrafficDrift,
                format!("{name}/traffic_drift"),
                color.clone(),
                AlertSeverity::Critical,
                format!("{name}: traffic is not where greenlight put it"),
                line,
            ),
            "rollback_target_incompatible" => add(
                EventKind::RollbackTargetIncompatible,
                format!("{name}/rollback_target_incompatible/{color}"),
                color.clone(),
                AlertSeverity::Critical,
                format!(
                    "{name}: {color} cannot take traffic back: the database no longer has what its code needs"
                ),
                line,
            ),
            rule @ ("cutover_failed" | "rollback_failed") => add(
                EventKind::HookFailed,
                format!("{name}/hook_failed/{rule}"),
                color.clone(),
                AlertSeverity::Critical,
                format!(
                    "{name}: the {} hook failed",
                    rule.trim_end_matches("_failed")
                ),
                line,
            ),
            _ => {}
        }
    }
    found
}

fn action_event(
    order: &ActionOrder,
    verdict: Option<&Verdict>,
    now: SystemTime,
) -> Option<AlertEvent> {
    let name = &order.deployment;
    let (from, to) = (color_name(order.from), color_name(order.to));
    let (kind, severity, summary) = match order.action {
        Action::Cutover => (
            EventKind::Cutover,
            AlertSeverity::Info,
            format!("{name}: CUTOVER, traffic goes from {from} to {to}"),
        ),
        Action::Rollback => (
            EventKind::Rollback,
            AlertSeverity::Critical,
            format!("{name}: ROLLBACK, traffic goes back to {to}"),
        ),
        _ => return None,
    };
    let mut details = vec![order.cause.clone()];
    if let Some(verdict) = verdict {
        details.extend(messages(&verdict.reasons));
    }
    details.retain(|line| !line.is_empty());
    details.dedup();
    Some(AlertEvent {
        kind,
        state: AlertState::Firing,
        deployment: name.clone(),
        color: to.to_string(),
        severity,
        summary,
        details,
        key: format!("{name}/{}/{}", kind.name(), order.epoch),
        epoch: order.epoch,
        at: now,
        since: now,
    })
}

/// A phase hook that failed for good: a moment (nothing to resolve), a
/// warning (it switched nothing, so nothing is at risk because of it).
fn phase_hook_event(failed: &PhaseHookFailed, now: SystemTime) -> AlertEvent {
    let name = &failed.deployment;
    let phase = phase_name(failed.phase);
    AlertEvent {
        kind: EventKind::HookFailed,
        state: AlertState::Firing,
        deployment: name.clone(),
        color: color_name(failed.color).to_string(),
        severity: AlertSeverity::Warning,
        summary: format!("{name}: the {phase} hook failed"),
        details: vec![
            failed.detail.clone(),
            format!("greenlight does not act on a phase hook's outcome: {phase} stands"),
        ],
        key: format!("{name}/hook_failed/{phase}/{}", failed.epoch),
        epoch: failed.epoch,
        at: now,
        since: now,
    }
}

fn resolved(fired: &AlertEvent, epoch: u64, now: SystemTime) -> AlertEvent {
    AlertEvent {
        state: AlertState::Resolved,
        summary: format!("{} (cleared)", fired.summary),
        epoch,
        at: now,
        since: fired.since,
        ..fired.clone()
    }
}

fn messages(reasons: &[Reason]) -> Vec<String> {
    reasons.iter().map(|r| r.message.clone()).collect()
}

fn reason_color(reason: &Reason, candidate: &str) -> String {
    match reason.color() {
        Color::Unspecified => candidate.to_string(),
        color => color_name(color).to_string(),
    }
}

fn agent_or_all(reason: &Reason) -> &str {
    if reason.agent.is_empty() {
        "(all)"
    } else {
        &reason.agent
    }
}

#[cfg(test)]
mod tests;
