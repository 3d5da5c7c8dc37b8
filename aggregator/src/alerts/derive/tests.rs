use std::time::{Duration, UNIX_EPOCH};

use greenlight_proto::v1::{Action, Color, Phase, Reason, Verdict};

use super::*;
use crate::alerts::route::Route;

const NAME: &str = "escashop";

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
}

fn verdict(epoch: u64, phase: Phase, reasons: &[(&str, &str)]) -> Verdict {
    let mut verdict = Verdict {
        deployment: NAME.into(),
        epoch,
        reasons: reasons
            .iter()
            .map(|(rule, agent)| Reason {
                rule: rule.to_string(),
                agent: agent.to_string(),
                color: Color::Green as i32,
                message: format!("{rule} {agent}"),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    verdict.set_phase(phase);
    verdict.set_live(Color::Blue);
    verdict.set_candidate(Color::Green);
    verdict
}

fn step(tracker: &mut EventTracker, verdicts: Vec<Verdict>, seconds: u64) -> Vec<AlertEvent> {
    let outputs = Outputs {
        verdicts,
        ..Default::default()
    };
    tracker.step(&outputs, at(seconds))
}

fn kinds(events: &[AlertEvent]) -> Vec<(EventKind, AlertState)> {
    events.iter().map(|e| (e.kind, e.state)).collect()
}

#[test]
fn a_phase_change_and_ready_are_said_once() {
    let mut tracker = EventTracker::default();
    assert!(step(&mut tracker, vec![verdict(1, Phase::Testing, &[])], 0).is_empty());
    let events = step(&mut tracker, vec![verdict(2, Phase::Ready, &[])], 1);
    assert_eq!(
        kinds(&events),
        [
            (EventKind::PhaseChanged, AlertState::Firing),
            (EventKind::Ready, AlertState::Firing)
        ]
    );
    assert_eq!(events[0].summary, "escashop: phase Testing -> Ready");
    assert_eq!(events[1].severity, AlertSeverity::Info);
    assert!(step(&mut tracker, vec![verdict(3, Phase::Ready, &[])], 2).is_empty());
}

#[test]
fn a_stale_agent_fires_once_and_is_resolved_when_it_clears() {
    let mut tracker = EventTracker::default();
    let stale = [("agent_stale", "green-1")];
    let fired = step(&mut tracker, vec![verdict(1, Phase::Testing, &stale)], 0);
    assert_eq!(kinds(&fired), [(EventKind::StaleAgent, AlertState::Firing)]);
    assert_eq!(fired[0].key, "escashop/stale_agent/green/green-1");
    assert_eq!(fired[0].color, "green");
    assert!(step(&mut tracker, vec![verdict(2, Phase::Testing, &stale)], 5).is_empty());
    let cleared = step(&mut tracker, vec![verdict(3, Phase::Testing, &[])], 9);
    assert_eq!(
        kinds(&cleared),
        [(EventKind::StaleAgent, AlertState::Resolved)]
    );
    assert_eq!(cleared[0].key, fired[0].key, "the same alert ends");
    assert_eq!(cleared[0].since, at(0));
    assert_eq!(cleared[0].at, at(9));
}

#[test]
fn hold_clock_skew_and_drift_resolve_but_a_failed_hook_does_not() {
    let mut tracker = EventTracker::default();
    let reasons = [
        ("clock_skew", "blue-1"),
        ("traffic_drift", ""),
        ("cutover_failed", ""),
    ];
    let fired = step(&mut tracker, vec![verdict(1, Phase::Held, &reasons)], 0);
    let mut got = kinds(&fired);
    got.sort_by_key(|(kind, _)| *kind);
    assert_eq!(
        got,
        [
            (EventKind::Hold, AlertState::Firing),
            (EventKind::ClockSkew, AlertState::Firing),
            (EventKind::HookFailed, AlertState::Firing),
            (EventKind::TrafficDrift, AlertState::Firing),
        ]
    );
    let cleared = step(&mut tracker, vec![verdict(2, Phase::Testing, &[])], 1);
    let mut got = kinds(&cleared);
    got.sort_by_key(|(kind, _)| *kind);
    assert_eq!(
        got,
        [
            (EventKind::PhaseChanged, AlertState::Firing),
            (EventKind::Hold, AlertState::Resolved),
            (EventKind::ClockSkew, AlertState::Resolved),
            (EventKind::TrafficDrift, AlertState::Resolved),
        ]
    );
}

#[test]
fn a_rollback_says_its_cause_and_reasons() {
    let mut tracker = EventTracker::default();
    step(&mut tracker, vec![verdict(1, Phase::Baking, &[])], 0);
    let outputs = Outputs {
        verdicts: vec![verdict(2, Phase::Baking, &[("error_ratio", "green-1")])],
        actions: vec![ActionOrder {
            deployment: NAME.into(),
            action: Action::Rollback,
            epoch: 2,
            from: Color::Green,
            to: Color::Blue,
            cause: "error_ratio 0.30 > 0.05".into(),
        }],
        ..Default::default()
    };
    let events = tracker.step(&outputs, at(3));
    assert_eq!(kinds(&events), [(EventKind::Rollback, AlertState::Firing)]);
    let rollback = &events[0];
    assert_eq!(rollback.severity, AlertSeverity::Critical);
    assert_eq!(rollback.color, "blue", "the target");
    assert_eq!(
        rollback.summary,
        "escashop: ROLLBACK, traffic goes back to blue"
    );
    assert_eq!(
        rollback.details,
        ["error_ratio 0.30 > 0.05", "error_ratio green-1"]
    );
    assert_eq!(rollback.key, "escashop/rollback/2");
}

#[test]
fn routing_by_event_and_deployment() {
    let mut tracker = EventTracker::default();
    let event = step(&mut tracker, vec![verdict(1, Phase::Held, &[])], 0).remove(0);
    assert!(Route::default().wants(&event));
    let only_rollbacks = Route {
        events: Some([EventKind::Rollback].into()),
        deployments: None,
    };
    assert!(!only_rollbacks.wants(&event));
    let holds_elsewhere = Route {
        events: Some([EventKind::Hold].into()),
        deployments: Some(["other".to_string()].into()),
    };
    assert!(!holds_elsewhere.wants(&event));
    let holds_here = Route {
        events: Some([EventKind::Hold].into()),
        deployments: Some([NAME.to_string()].into()),
    };
    assert!(holds_here.wants(&event));
}

#[test]
fn a_rollback_target_made_incompatible_is_critical_about_the_old_side_and_resolves() {
    let mut tracker = EventTracker::default();
    step(&mut tracker, vec![verdict(1, Phase::Baking, &[])], 0);
    let mut held = verdict(
        2,
        Phase::Held,
        &[("rollback_target_incompatible", "blue-1")],
    );
    held.reasons[0].set_color(Color::Blue);
    let fired = step(&mut tracker, vec![held.clone()], 1);
    let incompatible = fired
        .iter()
        .find(|e| e.kind == EventKind::RollbackTargetIncompatible)
        .unwrap_or_else(|| panic!("no rollback_target_incompatible in {fired:?}"));
    assert_eq!(incompatible.severity, AlertSeverity::Critical);
    assert_eq!(incompatible.color, "blue");
    assert_eq!(
        incompatible.key,
        "escashop/rollback_target_incompatible/blue"
    );
    assert!(
        incompatible
            .summary
            .contains("blue cannot take traffic back"),
        "{}",
        incompatible.summary
    );
    // Still there: said once.
    let again = step(&mut tracker, vec![held], 2);
    assert!(
        again
            .iter()
            .all(|e| e.kind != EventKind::RollbackTargetIncompatible),
        "{again:?}"
    );
    let cleared = step(&mut tracker, vec![verdict(3, Phase::Baking, &[])], 3);
    assert!(
        cleared
            .iter()
            .any(|e| e.kind == EventKind::RollbackTargetIncompatible
                && e.state == AlertState::Resolved),
        "{cleared:?}"
    );
}

#[test]
fn a_failed_phase_hook_is_a_warning_hook_failed_moment() {
    let mut tracker = EventTracker::default();
    let outputs = Outputs {
        phase_hooks_failed: vec![crate::engine::PhaseHookFailed {
            deployment: NAME.into(),
            phase: Phase::Verified,
            color: Color::Green,
            epoch: 7,
            detail: "exit 3 after 2 attempt(s): no such host".into(),
        }],
        ..Default::default()
    };
    let events = tracker.step(&outputs, at(4));
    assert_eq!(
        kinds(&events),
        [(EventKind::HookFailed, AlertState::Firing)]
    );
    let failed = &events[0];
    assert_eq!(failed.severity, AlertSeverity::Warning);
    assert_eq!(failed.color, "green", "the side the deployment verified");
    assert_eq!(failed.summary, "escashop: the Verified hook failed");
    assert_eq!(failed.key, "escashop/hook_failed/Verified/7");
    assert!(failed.details[0].contains("no such host"));
}
