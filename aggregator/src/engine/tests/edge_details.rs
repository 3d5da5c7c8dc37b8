//! The edges told in detail: when a skewed agent's failure rolls back, a
//! failed rollback run again, new agents, our own stall, the rollback
//! target's health service, restores and epochs.

use greenlight_proto::v1::{Color, Decision, Hello, Phase};

use super::corpus::{ROLLBACK, baking, blue_live, ok, standby};
use super::edges::{TEN_MINUTES, rollback_hook_failed, three_minute_failure};
use super::sim::{NAME, Sim, at, settings};
use crate::engine::SwitchOutcome;

/// The moment of the rollback on the aggregator's timeline, as seconds
/// after the failure started.
fn rollback_after_failure_start(sim: &Sim, failure_started: f64) -> f64 {
    let rollback = sim
        .verdicts
        .iter()
        .find(|v| v.action() == greenlight_proto::v1::Action::Rollback)
        .expect("a rollback verdict");
    let decided =
        greenlight_proto::time::from_timestamp(rollback.decided_at.as_ref().unwrap()).unwrap();
    decided
        .duration_since(at(failure_started))
        .unwrap()
        .as_secs_f64()
}

#[test]
fn a_skewed_agents_failure_rolls_back_at_two_minutes_on_our_timeline() {
    for skew in [-TEN_MINUTES, TEN_MINUTES] {
        let sim = three_minute_failure(skew);
        // The bake started at 60 s; 10 s healthy, then failing.
        let after = rollback_after_failure_start(&sim, 70.0);
        assert!(
            (120.0..=123.0).contains(&after),
            "skew {skew}: rolled back {after} s after the failure started"
        );
        let green = sim
            .verdict()
            .agents
            .into_iter()
            .find(|a| a.color() == Color::Green)
            .unwrap();
        assert!(
            (green.clock_offset_seconds - skew).abs() < 0.5,
            "{}",
            green.clock_offset_seconds
        );
        assert!(green.last_observed_at.is_some());
    }
}

#[test]
fn a_failed_rollback_is_run_again_by_a_person_under_a_new_epoch() {
    let mut sim = rollback_hook_failed();
    let failed_epoch = sim.actions.last().unwrap().1;
    sim.engine
        .rollback(NAME, "the hook timed out", "alice", at(sim.now))
        .unwrap();
    sim.run(1, &standby(), &ok(100).errors(0.2));
    let (action, epoch) = *sim.actions.last().unwrap();
    assert_eq!(action, ROLLBACK);
    assert!(epoch > failed_epoch);
    // A late outcome of the old attempt changes nothing.
    assert!(
        !sim.engine
            .switch_finished(NAME, failed_epoch, SwitchOutcome::Succeeded, at(sim.now))
    );
    assert!(sim.switch_done(SwitchOutcome::Succeeded));
    let verdict = sim.verdict();
    assert_eq!(
        (verdict.decision(), verdict.phase()),
        (Decision::Rollback, Phase::RolledBack)
    );
    assert_eq!(verdict.live(), Color::Blue);
}

#[test]
fn a_new_agent_in_its_first_interval_is_no_hold() {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    let alerts = sim.alerts.len();
    let hello = Hello {
        deployment: NAME.into(),
        color: Color::Green as i32,
        instance_id: "green-2".into(),
        report_interval_ms: 1000,
        run_id: "run-green-2".into(),
        ..Default::default()
    };
    sim.engine.hello(&hello, 7, at(sim.now)).unwrap();
    sim.engine.tick(at(sim.now + 0.5));
    let verdict = sim.engine.verdict(NAME, at(sim.now + 0.5)).unwrap();
    assert_eq!(
        (verdict.decision(), verdict.phase()),
        (Decision::Ready, Phase::Baking)
    );
    let deadline = verdict.bake_deadline;
    assert_eq!(sim.engine.take_outputs().alerts.len(), 0);
    assert_eq!(sim.alerts.len(), alerts);
    // After its interval without a report it does count.
    sim.engine.tick(at(sim.now + 5.0));
    let verdict = sim.engine.verdict(NAME, at(sim.now + 5.0)).unwrap();
    assert_eq!(verdict.phase(), Phase::Held, "{:?}", verdict.reasons);
    assert_eq!(verdict.bake_deadline, deadline, "held, its deadline waits");
}

#[test]
fn after_our_own_stall_the_agents_get_restore_grace() {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    let deadline = sim.verdict().bake_deadline;
    // 10 s stopped, agents' reports lost (not even buffered): no HOLD, no
    // alert, and the deadline stays where it was.
    let alerts = sim.alerts.len();
    sim.now += 10.0;
    sim.engine.tick(at(sim.now));
    let verdict = sim.verdict();
    assert_eq!(verdict.phase(), Phase::Baking, "{:?}", verdict.reasons);
    assert_eq!(verdict.bake_deadline, deadline);
    sim.run(3, &standby(), &ok(100));
    assert_eq!(sim.alerts.len(), alerts);
    assert_eq!(sim.verdict().bake_deadline, deadline);
}

#[test]
fn the_old_side_is_fit_to_take_traffic_back_during_the_bake() {
    use crate::engine::fit_to_carry_traffic;
    let mut sim = baking();
    sim.run(5, &standby(), &ok(100));
    let verdict = sim.verdict();
    assert!(verdict.standby_healthy);
    assert!(fit_to_carry_traffic(&verdict, Color::Blue));
    sim.run(5, &standby().failing("http", "HTTP 503"), &ok(100));
    assert!(!fit_to_carry_traffic(&sim.verdict(), Color::Blue));
}

#[test]
fn a_restored_ready_candidate_keeps_its_place_during_the_grace() {
    let mut sim = Sim::new(settings());
    sim.run(30, &blue_live(), &ok(0));
    assert_eq!(sim.verdict().phase(), Phase::Ready);
    let saved = sim.engine.saved_state(NAME).unwrap();
    let restored = std::collections::BTreeMap::from([(NAME.to_string(), saved)]);
    let configured = std::collections::BTreeMap::from([(NAME.to_string(), settings())]);
    let now = at(sim.now + 2.0);
    let mut engine = crate::engine::Engine::new(settings(), configured, &restored, now).unwrap();
    let verdict = engine.verdict(NAME, now).unwrap();
    assert_eq!(verdict.phase(), Phase::Ready, "{:?}", verdict.reasons);
    assert_eq!(
        verdict.decision(),
        Decision::NotReady,
        "nothing unproven is READY"
    );
    assert!(verdict.reasons.iter().any(|r| r.rule == "restoring"));
    assert!(engine.take_outputs().alerts.is_empty());
}

#[test]
fn epochs_start_above_the_wall_clock_without_saved_state() {
    let sim = Sim::new(settings());
    let first = sim.verdicts.first().unwrap().epoch;
    // Above the wall clock in microseconds at the start: above what an
    // earlier aggregator, started earlier, issued one verdict at a time.
    assert!(first > crate::engine::epoch_floor(at(0.0)), "{first}");
}
