//! A bounded ring of what happened, newest last: phase transitions,
//! actions, alerts and hook outcomes, as the dispatcher carried them out.
//! Pure: the caller says when.

use std::collections::VecDeque;
use std::time::SystemTime;

use greenlight_proto::names::{action_name, color_name, phase_name};
use greenlight_proto::time::from_timestamp;

use crate::engine::{Outputs, SwitchOutcome};

/// Events kept for the status page (all deployments together).
pub const TIMELINE_LEN: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Transition,
    Action,
    Alert,
    Hook,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Transition => "transition",
            EventKind::Action => "action",
            EventKind::Alert => "alert",
            EventKind::Hook => "hook",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEvent {
    pub at: SystemTime,
    pub deployment: String,
    pub kind: EventKind,
    /// One readable line.
    pub text: String,
}

#[derive(Debug)]
pub struct Timeline {
    events: VecDeque<TimelineEvent>,
    cap: usize,
}

impl Timeline {
    pub fn new(cap: usize) -> Self {
        Timeline {
            events: VecDeque::with_capacity(cap.min(1024)),
            cap: cap.max(1),
        }
    }

    pub fn push(&mut self, event: TimelineEvent) {
        if self.events.len() == self.cap {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// What one engine step produced: its new transitions, actions, alerts.
    pub fn record(&mut self, outputs: &Outputs, now: SystemTime) {
        for verdict in &outputs.verdicts {
            let new = verdict
                .transitions
                .iter()
                .filter(|transition| transition.epoch == verdict.epoch);
            for transition in new {
                self.push(TimelineEvent {
                    at: transition
                        .at
                        .as_ref()
                        .and_then(from_timestamp)
                        .unwrap_or(now),
                    deployment: verdict.deployment.clone(),
                    kind: EventKind::Transition,
                    text: match transition.cause.as_str() {
                        "" => format!(
                            "{} → {}",
                            phase_name(transition.from()),
                            phase_name(transition.to())
                        ),
                        cause => format!(
                            "{} → {}: {cause}",
                            phase_name(transition.from()),
                            phase_name(transition.to())
                        ),
                    },
                });
            }
        }
        for action in &outputs.actions {
            self.push(TimelineEvent {
                at: now,
                deployment: action.deployment.clone(),
                kind: EventKind::Action,
                text: format!(
                    "{} from {} to {}: {}",
                    action_name(action.action),
                    color_name(action.from),
                    color_name(action.to),
                    action.cause
                ),
            });
        }
        for alert in &outputs.alerts {
            self.push(TimelineEvent {
                at: now,
                deployment: alert.deployment.clone(),
                kind: EventKind::Alert,
                text: format!("{}: {}", alert.severity.name(), alert.summary),
            });
        }
    }

    /// A switch's final outcome, as the hook reported it.
    pub fn hook_finished(&mut self, deployment: &str, outcome: &SwitchOutcome, now: SystemTime) {
        let text = match outcome {
            SwitchOutcome::Succeeded => "switch hook succeeded".to_string(),
            SwitchOutcome::Failed(why) => format!("switch hook failed: {why}"),
        };
        self.push(TimelineEvent {
            at: now,
            deployment: deployment.to_string(),
            kind: EventKind::Hook,
            text,
        });
    }

    /// At most `count` of `deployment`'s events, newest first.
    pub fn recent(&self, deployment: &str, count: usize) -> Vec<TimelineEvent> {
        self.events
            .iter()
            .rev()
            .filter(|event| event.deployment == deployment)
            .take(count)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use greenlight_proto::time::to_timestamp;
    use greenlight_proto::v1::{Action, Color, Phase, Transition, Verdict};

    use super::*;
    use crate::engine::{ActionOrder, Alert, Severity};

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    fn event(deployment: &str, text: &str) -> TimelineEvent {
        TimelineEvent {
            at: at(0),
            deployment: deployment.into(),
            kind: EventKind::Alert,
            text: text.into(),
        }
    }

    #[test]
    fn the_ring_keeps_the_newest() {
        let mut timeline = Timeline::new(3);
        for text in ["a", "b", "c", "d"] {
            timeline.push(event("escashop", text));
        }
        let texts: Vec<_> = timeline
            .recent("escashop", 10)
            .into_iter()
            .map(|e| e.text)
            .collect();
        assert_eq!(texts, ["d", "c", "b"]);
    }

    #[test]
    fn recent_is_per_deployment_and_bounded() {
        let mut timeline = Timeline::new(10);
        timeline.push(event("escashop", "1"));
        timeline.push(event("other", "x"));
        timeline.push(event("escashop", "2"));
        timeline.push(event("escashop", "3"));
        let texts: Vec<_> = timeline
            .recent("escashop", 2)
            .into_iter()
            .map(|e| e.text)
            .collect();
        assert_eq!(texts, ["3", "2"]);
    }

    #[test]
    fn a_step_gives_its_new_transitions_actions_and_alerts() {
        let mut old = Transition {
            epoch: 1,
            cause: "older".into(),
            ..Default::default()
        };
        old.set_from(Phase::Normal);
        old.set_to(Phase::Deploying);
        let mut new = Transition {
            epoch: 2,
            at: Some(to_timestamp(at(5))),
            cause: "READY and auto_cutover".into(),
            ..Default::default()
        };
        new.set_from(Phase::Ready);
        new.set_to(Phase::Baking);
        let outputs = Outputs {
            verdicts: vec![Verdict {
                deployment: "escashop".into(),
                epoch: 2,
                transitions: vec![old, new],
                ..Default::default()
            }],
            actions: vec![ActionOrder {
                deployment: "escashop".into(),
                action: Action::Cutover,
                epoch: 2,
                from: Color::Blue,
                to: Color::Green,
                cause: "READY".into(),
            }],
            alerts: vec![Alert {
                deployment: "escashop".into(),
                epoch: 2,
                severity: Severity::Critical,
                summary: "rollback".into(),
                details: vec![],
            }],
            states: vec![],
            ..Default::default()
        };
        let mut timeline = Timeline::new(10);
        timeline.record(&outputs, at(6));
        timeline.hook_finished("escashop", &SwitchOutcome::Failed("exit 1".into()), at(7));
        let events = timeline.recent("escashop", 10);
        let lines: Vec<_> = events
            .iter()
            .map(|e| format!("{} {}", e.kind.name(), e.text))
            .collect();
        assert_eq!(
            lines,
            [
                "hook switch hook failed: exit 1",
                "alert critical: rollback",
                "action cutover from blue to green: READY",
                "transition Ready → Baking: READY and auto_cutover",
            ]
        );
        assert_eq!(events[3].at, at(5), "a transition keeps its own time");
    }
}
