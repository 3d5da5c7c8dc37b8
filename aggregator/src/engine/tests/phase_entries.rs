//! Phases entered, as the phase hooks are told: once per entry, with the
//! switch each is about, never again for a restored state, and a phase
//! hook's failure is an alert that moves nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use greenlight_proto::v1::{Color, Phase};

use super::corpus::{blue_live, ok, standby};
use super::sim::{NAME, Sim, at, settings};
use super::stories::{bake_completes, health_failing_2m1s};
use crate::engine::{Engine, SavedState, Severity};

fn entered(sim: &Sim) -> Vec<(Phase, Phase)> {
    sim.phases.iter().map(|e| (e.from_phase, e.phase)).collect()
}

#[test]
fn a_bake_that_passes_enters_each_phase_once_and_verified_once() {
    let sim = bake_completes();
    assert_eq!(
        entered(&sim),
        [
            (Phase::Normal, Phase::Deploying),
            (Phase::Deploying, Phase::Testing),
            (Phase::Testing, Phase::Ready),
            (Phase::Ready, Phase::Baking),
            (Phase::Baking, Phase::Verified),
        ]
    );
    let verified = sim.phases.last().unwrap();
    // The old side to the new: `from` is the standby a hook may retire.
    assert_eq!((verified.from, verified.to), (Color::Blue, Color::Green));
    // Green is stable now, and still the side this deployment is about.
    assert_eq!(verified.candidate, Color::Green);
    // At the epoch of the verdict that entered it.
    let verdict = sim
        .verdicts
        .iter()
        .find(|v| v.epoch == verified.epoch)
        .unwrap();
    assert_eq!(verdict.phase(), Phase::Verified);
    let baking = &sim.phases[3];
    assert_eq!((baking.from, baking.to), (Color::Blue, Color::Green));
    assert!(
        sim.phases
            .iter()
            .all(|entry| entry.candidate == Color::Green)
    );
}

#[test]
fn rolled_back_is_about_the_switch_back() {
    let sim = health_failing_2m1s();
    let rolled_back = sim.phases.last().unwrap();
    assert_eq!(rolled_back.phase, Phase::RolledBack);
    assert_eq!(
        (rolled_back.from, rolled_back.to),
        (Color::Green, Color::Blue)
    );
    assert_eq!(
        rolled_back.candidate,
        Color::Green,
        "the side rolled back from"
    );
}

#[test]
fn a_restored_verified_state_is_not_entered_again() {
    let mut sim = bake_completes();
    sim.run(5, &ok(100), &standby());
    let saved = sim.engine.saved_state(NAME).unwrap();
    let saved: SavedState = serde_json::from_str(&serde_json::to_string(&saved).unwrap()).unwrap();
    let restored = BTreeMap::from([(NAME.to_string(), saved)]);
    let configured = BTreeMap::from([(NAME.to_string(), settings())]);
    let now = at(sim.now + 5.0);
    let mut engine = Engine::new(settings(), configured, &restored, now).unwrap();
    engine.tick(now + Duration::from_secs(1));
    engine.tick(now + Duration::from_secs(60));
    let outputs = engine.take_outputs();
    assert!(!outputs.verdicts.is_empty(), "a restore is a new epoch");
    assert_eq!(engine.verdict(NAME, now).unwrap().phase(), Phase::Verified);
    assert!(
        outputs.phases.is_empty(),
        "a restore is no phase entry: {:?}",
        outputs.phases
    );
}

#[test]
fn a_failed_phase_hook_is_a_warning_and_moves_nothing() {
    let mut sim = bake_completes();
    let before = sim.verdict();
    let epoch = sim.phases.last().unwrap().epoch;
    sim.engine.phase_hook_failed(
        NAME,
        Phase::Verified,
        epoch,
        Color::Green,
        "exit 3 after 1 attempt(s)",
        at(sim.now),
    );
    let outputs = sim.engine.take_outputs();
    assert!(outputs.verdicts.is_empty() && outputs.actions.is_empty());
    assert_eq!(
        outputs.phase_hooks_failed.len(),
        1,
        "for the sinks' hook_failed"
    );
    let [alert] = outputs.alerts.as_slice() else {
        panic!("{:?}", outputs.alerts);
    };
    assert_eq!(alert.severity, Severity::Warning);
    assert!(
        alert.summary.contains("the Verified hook failed (exit 3"),
        "{}",
        alert.summary
    );
    sim.run(5, &blue_live(), &ok(100));
    assert_eq!(sim.verdict().phase(), Phase::Verified);
    assert_eq!(sim.verdict().live(), before.live());
}
