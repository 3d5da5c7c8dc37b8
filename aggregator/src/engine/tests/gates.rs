//! Test gates: before cutover READY needs them passed (a failure is
//! NOT_READY with `gate_failed`, its exit and output); after cutover a
//! failure rolls back; each runs once per candidate run unless rerun; a
//! restart keeps what passed.

use std::collections::BTreeMap;
use std::time::Duration;

use greenlight_proto::v1::{Action, Color, Decision, Phase};

use super::corpus::{blue_live, ok, standby};
use super::sim::{NAME, Sim, at, settings};
use crate::engine::{DeploymentSettings, Engine, GateOutcome, GateSpec, GateStage, SavedState};

fn gated(stages: &[(&str, GateStage)]) -> DeploymentSettings {
    DeploymentSettings {
        gates: stages
            .iter()
            .map(|(name, stage)| GateSpec {
                name: name.to_string(),
                stage: *stage,
            })
            .collect(),
        ..settings()
    }
}

fn finish(sim: &mut Sim, gate: &str, outcome: GateOutcome) -> bool {
    let order = sim
        .gates
        .iter()
        .rev()
        .find(|o| o.gate == gate)
        .expect("the gate was ordered")
        .order;
    let applied = sim
        .engine
        .gate_finished(NAME, gate, order, outcome, at(sim.now));
    sim.collect();
    applied
}

fn failed(tail: &str) -> GateOutcome {
    GateOutcome::Failed {
        exit: "exit 1".into(),
        tail: format!("[stdout] {tail}\n"),
    }
}

fn reason(sim: &Sim, rule: &str) -> Option<String> {
    sim.verdict()
        .reasons
        .iter()
        .find(|r| r.rule == rule)
        .map(|r| r.message.clone())
}

#[test]
fn a_before_cutover_gate_starts_once_the_candidate_is_otherwise_ready_and_ready_waits_for_it() {
    let mut sim = Sim::new(gated(&[("integration", GateStage::BeforeCutover)]));
    sim.run(5, &blue_live(), &ok(0));
    assert!(sim.gates.is_empty(), "not during the readiness window");
    sim.run(10, &blue_live(), &ok(0));
    assert_eq!(sim.gates.len(), 1, "ordered once: {:?}", sim.gates);
    let order = &sim.gates[0];
    assert_eq!(
        (order.gate.as_str(), order.attempt, order.candidate),
        ("integration", 1, Color::Green)
    );
    let verdict = sim.verdict();
    assert_eq!(verdict.decision(), Decision::NotReady);
    assert_eq!(verdict.phase(), Phase::Testing);
    assert!(
        reason(&sim, "gate_running").is_some(),
        "{:?}",
        sim.rules_named()
    );
    sim.run(30, &blue_live(), &ok(0));
    assert_eq!(sim.gates.len(), 1, "a running gate is not ordered again");

    assert!(finish(&mut sim, "integration", GateOutcome::Passed));
    assert_eq!(sim.verdict().decision(), Decision::Ready);
    assert_eq!(sim.verdict().phase(), Phase::Ready);
    assert!(reason(&sim, "gate_passed").is_some(), "its result is shown");
    sim.run(30, &blue_live(), &ok(0));
    assert_eq!(
        sim.gates.len(),
        1,
        "a passed gate runs once per candidate run"
    );
}

#[test]
fn a_failing_gate_keeps_not_ready_with_its_exit_and_output_until_a_rerun_passes() {
    let mut sim = Sim::new(gated(&[("integration", GateStage::BeforeCutover)]));
    sim.run(15, &blue_live(), &ok(0));
    assert!(finish(&mut sim, "integration", failed("3 tests failed")));
    let verdict = sim.verdict();
    assert_eq!(verdict.decision(), Decision::NotReady);
    let message = reason(&sim, "gate_failed").expect("gate_failed");
    assert!(message.contains("exit 1"), "{message}");
    assert!(message.contains("3 tests failed"), "{message}");
    assert!(
        message.contains("(greenlight gate rerun escashop integration runs it again)"),
        "the reason gives the command to type, with the deployment's name: {message}"
    );
    assert_eq!(sim.gates[0].deployment, NAME);
    sim.run(60, &blue_live(), &ok(0));
    assert_eq!(
        sim.gates.len(),
        1,
        "a failed gate is not run again by itself"
    );
    assert_eq!(sim.verdict().decision(), Decision::NotReady);
    let cutover = sim.engine.cutover(NAME, false, "test", at(sim.now));
    assert!(cutover.is_err(), "cutover is refused while a gate failed");
    sim.collect();

    let outcome = sim
        .engine
        .rerun_gate(NAME, "integration", "test", at(sim.now))
        .unwrap();
    assert!(
        outcome.message.contains("running again"),
        "{}",
        outcome.message
    );
    sim.collect();
    assert_eq!(sim.gates.len(), 2);
    assert_eq!(sim.gates[1].attempt, 2);
    // The first run's outcome, arriving late, is not the one awaited.
    let stale = sim.gates[0].order;
    assert!(!sim.engine.gate_finished(
        NAME,
        "integration",
        stale,
        GateOutcome::Passed,
        at(sim.now)
    ));
    assert!(finish(&mut sim, "integration", GateOutcome::Passed));
    assert_eq!(sim.verdict().decision(), Decision::Ready);
}

#[test]
fn a_gate_killed_at_its_timeout_says_so() {
    let mut sim = Sim::new(gated(&[("api-compat", GateStage::BeforeCutover)]));
    sim.run(15, &blue_live(), &ok(0));
    let outcome = GateOutcome::TimedOut {
        after: Duration::from_secs(2),
        tail: String::new(),
    };
    assert!(finish(&mut sim, "api-compat", outcome));
    let message = reason(&sim, "gate_failed").expect("gate_failed");
    assert!(message.contains("timeout and was killed"), "{message}");
    assert!(
        message.contains("greenlight gate rerun escashop api-compat"),
        "{message}"
    );
    assert_eq!(sim.verdict().decision(), Decision::NotReady);
}

#[test]
fn unknown_and_running_gates_refuse_a_rerun() {
    let mut sim = Sim::new(gated(&[("integration", GateStage::BeforeCutover)]));
    sim.run(15, &blue_live(), &ok(0));
    let error = sim
        .engine
        .rerun_gate(NAME, "nope", "test", at(sim.now))
        .unwrap_err();
    assert!(
        error.to_string().contains("its gates: integration"),
        "{error}"
    );
    let error = sim
        .engine
        .rerun_gate(NAME, "integration", "test", at(sim.now))
        .unwrap_err();
    assert!(error.to_string().contains("is running"), "{error}");
}

#[test]
fn a_failing_smoke_test_after_cutover_rolls_back() {
    let mut sim = Sim::new(gated(&[("smoke", GateStage::AfterCutover)]));
    sim.run(15, &blue_live(), &ok(0));
    assert!(
        sim.gates.is_empty(),
        "after_cutover gates wait for the cutover"
    );
    assert_eq!(sim.verdict().decision(), Decision::Ready);
    sim.engine
        .cutover(NAME, false, "test", at(sim.now))
        .unwrap();
    sim.collect();
    sim.run(1, &standby(), &ok(100));
    assert_eq!(
        sim.gates.len(),
        1,
        "the smoke test runs once traffic is on green"
    );
    assert_eq!(sim.gates[0].stage, GateStage::AfterCutover);
    sim.run(2, &standby(), &ok(100));
    assert!(finish(&mut sim, "smoke", failed("checkout returned 500")));
    let verdict = sim.verdict();
    assert_eq!(verdict.decision(), Decision::Rollback);
    assert_eq!(verdict.phase(), Phase::RolledBack);
    assert_eq!(sim.actions.last().map(|a| a.0), Some(Action::Rollback));
    let cause = &verdict.transitions.last().unwrap().cause;
    assert!(
        cause.contains("gate_failed") && cause.contains("checkout returned 500"),
        "{cause}"
    );
    assert!(
        !cause.contains("gate rerun"),
        "after cutover a failure rolled back: nothing to rerun by hand: {cause}"
    );
}

#[test]
fn verified_waits_for_a_running_smoke_test() {
    let mut sim = Sim::new(gated(&[("smoke", GateStage::AfterCutover)]));
    sim.run(15, &blue_live(), &ok(0));
    sim.engine
        .cutover(NAME, false, "test", at(sim.now))
        .unwrap();
    sim.collect();
    sim.run(400, &standby(), &ok(100));
    assert_eq!(
        sim.verdict().phase(),
        Phase::Baking,
        "{:?}",
        sim.rules_named()
    );
    assert!(finish(&mut sim, "smoke", GateOutcome::Passed));
    sim.run(2, &standby(), &ok(100));
    assert_eq!(sim.verdict().phase(), Phase::Verified);
}

#[test]
fn a_new_candidate_run_runs_the_gates_again() {
    let mut sim = Sim::new(gated(&[("integration", GateStage::BeforeCutover)]));
    sim.run(15, &blue_live(), &ok(0));
    assert!(finish(&mut sim, "integration", GateOutcome::Passed));
    sim.connect(Color::Green, "run-green-2");
    sim.run(30, &blue_live(), &ok(0));
    assert_eq!(
        sim.gates.len(),
        2,
        "a new deployment of green: {:?}",
        sim.gates
    );
    assert_eq!(sim.gates[1].attempt, 1, "attempts count per candidate run");
}

#[test]
fn a_restart_keeps_a_passed_gate_and_reruns_one_that_was_running() {
    let mut sim = Sim::new(gated(&[
        ("integration", GateStage::BeforeCutover),
        ("api-compat", GateStage::BeforeCutover),
    ]));
    sim.run(15, &blue_live(), &ok(0));
    assert_eq!(sim.gates.len(), 2);
    assert!(finish(&mut sim, "integration", GateOutcome::Passed));
    let saved = sim.engine.saved_state(NAME).unwrap();
    let saved: SavedState = serde_json::from_str(&serde_json::to_string(&saved).unwrap()).unwrap();
    let restored = BTreeMap::from([(NAME.to_string(), saved)]);
    let settings = gated(&[
        ("integration", GateStage::BeforeCutover),
        ("api-compat", GateStage::BeforeCutover),
    ]);
    let configured = BTreeMap::from([(NAME.to_string(), settings.clone())]);
    sim.engine = Engine::new(settings, configured, &restored, at(sim.now)).unwrap();
    sim.connect(Color::Blue, "run-blue-1");
    sim.connect(Color::Green, "run-green-1");
    sim.run(30, &blue_live(), &ok(0));
    let again: Vec<&str> = sim.gates[2..].iter().map(|o| o.gate.as_str()).collect();
    assert_eq!(again, ["api-compat"], "only the one that was running");
}
