//! The schema a color declares, against the database: a candidate missing
//! what it needs is NOT_READY naming it; an old side missing what it needs
//! refuses READY before cutover and holds the bake after it
//! (`rollback_target_incompatible`), with an alert.

use greenlight_proto::v1::{Color, Decision, Phase};

use super::corpus::{ok, standby};
use super::sim::{Behaviour, Sim, settings};

const SCHEMA: &str = "postgres/schema";
const MISSING_VALUE: &str = "queue_status_enum has no value 'processing'";
const DROPPED: &str = "column customers.priority_flag does not exist";

/// One step of a story: `seconds` with these behaviours, then the verdict.
struct Step {
    seconds: u32,
    blue: Behaviour,
    green: Behaviour,
    decision: Decision,
    phase: Phase,
    /// A rule the verdict must name, with its color and words.
    rule: Option<(&'static str, Color, &'static str)>,
}

fn play(mut sim: Sim, steps: Vec<Step>) -> Sim {
    for (index, step) in steps.into_iter().enumerate() {
        sim.run(step.seconds, &step.blue, &step.green);
        let verdict = sim.verdict();
        assert_eq!(
            (verdict.decision(), verdict.phase()),
            (step.decision, step.phase),
            "step {index}: {:#?}",
            verdict.reasons
        );
        if let Some((rule, color, words)) = step.rule {
            let reason = verdict
                .reasons
                .iter()
                .find(|r| r.rule == rule)
                .unwrap_or_else(|| panic!("step {index}: no {rule} in {:#?}", verdict.reasons));
            assert_eq!(reason.color(), color, "step {index}");
            assert_eq!(reason.check, SCHEMA, "step {index}");
            assert!(
                reason.message.contains(words) && reason.error.contains(words),
                "step {index}: {reason:?}"
            );
        }
    }
    sim
}

fn step(seconds: u32, blue: Behaviour, green: Behaviour, decision: Decision, phase: Phase) -> Step {
    Step {
        seconds,
        blue,
        green,
        decision,
        phase,
        rule: None,
    }
}

#[test]
fn green_waits_for_its_migration_and_is_ready_after_it_without_a_restart() {
    let before = ok(0).failing(SCHEMA, MISSING_VALUE);
    play(
        Sim::new(settings()),
        vec![
            Step {
                rule: Some(("check_failed", Color::Green, MISSING_VALUE)),
                ..step(60, ok(100), before, Decision::NotReady, Phase::Deploying)
            },
            // Migrated: the readiness window starts then.
            step(5, ok(100), ok(0), Decision::NotReady, Phase::Testing),
            step(60, ok(100), ok(0), Decision::Ready, Phase::Ready),
        ],
    );
}

#[test]
fn a_column_blue_needs_dropped_before_cutover_refuses_ready_until_restored() {
    let sim = play(
        Sim::new(settings()),
        vec![
            step(60, ok(100), ok(0), Decision::Ready, Phase::Ready),
            Step {
                rule: Some(("rollback_target_incompatible", Color::Blue, DROPPED)),
                ..step(
                    2,
                    ok(100).failing(SCHEMA, DROPPED),
                    ok(0),
                    Decision::NotReady,
                    Phase::Testing,
                )
            },
            // Restored: green's own health never stopped, so READY at once.
            step(2, ok(100), ok(0), Decision::Ready, Phase::Ready),
        ],
    );
    let refused = sim
        .verdicts
        .iter()
        .find(|v| {
            v.reasons
                .iter()
                .any(|r| r.rule == "rollback_target_incompatible")
        })
        .expect("a refusal");
    let reason = &refused.reasons[0];
    assert!(
        reason
            .message
            .contains("green is not READY while a rollback to blue could not work"),
        "{}",
        reason.message
    );
}

#[test]
fn a_column_blue_needs_dropped_during_the_bake_holds_instead_of_rolling_back() {
    let mut sim = Sim::baking(settings(), &ok(100));
    sim.run(20, &standby(), &ok(100));
    let alerts_before = sim.alerts.len();
    let sim = play(
        sim,
        vec![
            Step {
                rule: Some(("rollback_target_incompatible", Color::Blue, DROPPED)),
                ..step(
                    2,
                    standby().failing(SCHEMA, DROPPED),
                    ok(100),
                    Decision::Hold,
                    Phase::Held,
                )
            },
            // Restored, green healthy: the bake goes on.
            step(5, standby(), ok(100), Decision::Ready, Phase::Baking),
            // Dropped again, and green now fails a trigger: rolling back
            // onto a side that cannot work is worse, so still HOLD.
            Step {
                rule: Some(("rollback_target_incompatible", Color::Blue, DROPPED)),
                ..step(
                    40,
                    standby().failing(SCHEMA, DROPPED),
                    ok(100).errors(0.3),
                    Decision::Hold,
                    Phase::Held,
                )
            },
        ],
    );
    assert_eq!(
        sim.actions.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
        [greenlight_proto::v1::Action::Cutover],
        "no rollback while blue cannot take the traffic"
    );
    assert!(sim.alerts.len() > alerts_before, "the HOLD raised an alert");
    let held = sim
        .verdicts
        .iter()
        .find(|v| v.phase() == Phase::Held)
        .expect("a held verdict");
    assert!(
        held.reasons[0]
            .message
            .contains("rolling back to blue would break it, so greenlight holds instead"),
        "{}",
        held.reasons[0].message
    );
    // Blue fits again: the trigger that waited acts now.
    let sim = play(
        sim,
        vec![step(
            1,
            standby(),
            ok(100).errors(0.3),
            Decision::Rollback,
            Phase::RolledBack,
        )],
    );
    assert_eq!(sim.actions.len(), 2, "{:?}", sim.actions);
}

#[test]
fn a_stale_old_side_is_not_called_incompatible() {
    // Blue says its schema fails, then goes silent: unknown, not broken.
    let mut sim = Sim::new(settings());
    sim.run(60, &ok(100), &ok(0));
    sim.run(1, &ok(100).failing(SCHEMA, DROPPED), &ok(0));
    sim.run(10, &ok(100).silent(), &ok(0));
    assert!(
        !sim.rules_named()
            .contains(&"rollback_target_incompatible".to_string()),
        "{:?}",
        sim.verdict().reasons
    );
}
