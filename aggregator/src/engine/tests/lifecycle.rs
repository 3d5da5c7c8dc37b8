//! Epochs, the manual gate, holds and restores, told as stories.

use std::time::Duration;

use greenlight_proto::v1::{Color, Phase};

use super::corpus::{baking, blue_live, ok, standby};
use super::sim::{NAME, Sim, at, settings};
use super::stories::green_only_error_spike;

#[test]
fn epochs_only_grow_and_actions_carry_their_verdicts_epoch() {
    let sim = green_only_error_spike();
    let epochs: Vec<u64> = sim.verdicts.iter().map(|v| v.epoch).collect();
    assert!(epochs.windows(2).all(|w| w[0] < w[1]), "{epochs:?}");
    for (action, epoch) in &sim.actions {
        let verdict = sim.verdicts.iter().find(|v| v.epoch == *epoch).unwrap();
        assert_eq!(verdict.action(), *action);
    }
}

#[test]
fn cutover_is_refused_while_not_ready_with_the_reasons() {
    let mut sim = Sim::new(settings());
    sim.run(
        3,
        &blue_live(),
        &ok(0).failing("postgres", "connection refused"),
    );
    let error = sim
        .engine
        .cutover(NAME, false, "ci", at(sim.now))
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("not READY") && text.contains("connection refused"),
        "{text}"
    );
    assert!(sim.actions.is_empty());
    // Forced, it goes.
    sim.engine.cutover(NAME, true, "ops", at(sim.now)).unwrap();
    assert_eq!(sim.verdict().phase(), Phase::Baking);
}

#[test]
fn a_held_bake_gets_its_hold_time_back() {
    let mut sim = baking();
    let deadline = sim.verdict().bake_deadline.unwrap().seconds;
    sim.run(10, &standby(), &ok(100));
    sim.disconnect(Color::Green);
    sim.run(20, &standby(), &ok(100).silent());
    assert_eq!(sim.verdict().phase(), Phase::Held);
    sim.connect(Color::Green, "run-green-1");
    sim.run(3, &standby(), &ok(100));
    let verdict = sim.verdict();
    assert_eq!(verdict.phase(), Phase::Baking);
    let extended = verdict.bake_deadline.unwrap().seconds - deadline;
    assert!((15..=25).contains(&extended), "extended by {extended} s");
}

#[test]
fn a_restored_bake_keeps_its_deadline_and_decides_nothing_twice() {
    let mut sim = baking();
    sim.run(30, &standby(), &ok(100));
    let before = sim.verdict();
    let saved = sim.engine.saved_state(NAME).unwrap();
    // Round trip through JSON, as through Redis.
    let saved: crate::engine::SavedState =
        serde_json::from_str(&serde_json::to_string(&saved).unwrap()).unwrap();

    let restored = std::collections::BTreeMap::from([(NAME.to_string(), saved)]);
    let configured = std::collections::BTreeMap::from([(NAME.to_string(), settings())]);
    let now = at(sim.now + 5.0);
    let mut engine = crate::engine::Engine::new(settings(), configured, &restored, now).unwrap();
    let outputs = engine.take_outputs();
    assert!(outputs.actions.is_empty(), "{:?}", outputs.actions);
    let after = engine.verdict(NAME, now).unwrap();
    assert_eq!(after.phase(), Phase::Baking);
    assert_eq!(after.bake_deadline, before.bake_deadline);
    assert!(after.epoch > before.epoch);
    // The agents are not back yet: within the grace period that is no hold.
    engine.tick(now + Duration::from_secs(10));
    assert_eq!(engine.verdict(NAME, now).unwrap().phase(), Phase::Baking);
    assert!(engine.take_outputs().alerts.is_empty());
}
