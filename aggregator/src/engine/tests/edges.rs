//! The edges' corpus: clocks that disagree, an aggregator that could not
//! see, switches that failed or happened behind greenlight's back, values
//! nobody knows, agents that are new or absent. One story per defect that
//! issue 9 found (see `corpus` for the harness).

use greenlight_proto::v1::{Color, Decision, Phase};

use super::corpus::{CUTOVER, Expect, ROLLBACK, Script, baking, blue_live, check, ok, standby};
use super::sim::{NAME, Sim, at, settings};
use crate::engine::{DeploymentSettings, ReportOutcome, SwitchOutcome};

pub const TEN_MINUTES: f64 = 600.0;

/// A bake whose green agent's clock is `skew` seconds off ours, from the
/// start.
fn baking_skewed(skew: f64) -> Sim {
    let mut sim = Sim::new(settings());
    sim.skew.insert(Color::Green as i32, skew);
    sim.ready_then_cut_over(&blue_live());
    sim
}

fn blip(skew: f64) -> Sim {
    let mut sim = baking_skewed(skew);
    sim.run(30, &standby(), &ok(100));
    sim.second(&standby(), &ok(100).failing("http", "HTTP 503"));
    sim.run(30, &standby(), &ok(100));
    sim
}

fn behind_with_a_blip() -> Sim {
    blip(-TEN_MINUTES)
}

fn ahead_with_a_blip() -> Sim {
    blip(TEN_MINUTES)
}

pub fn three_minute_failure(skew: f64) -> Sim {
    let mut sim = baking_skewed(skew);
    sim.run(10, &standby(), &ok(100));
    sim.run(180, &standby(), &ok(100).failing("http", "HTTP 503"));
    sim
}

fn behind_with_a_real_failure() -> Sim {
    three_minute_failure(-TEN_MINUTES)
}

fn ahead_with_a_real_failure() -> Sim {
    three_minute_failure(TEN_MINUTES)
}

/// The aggregator stops for 40 s across the bake deadline while green
/// returns 50% errors; its agent buffers the reports.
fn deadline_passes_unseen() -> Sim {
    let mut sim = baking();
    sim.run(280, &standby(), &ok(100));
    sim.stall(40, &standby(), &ok(100).errors(0.5));
    sim.run(5, &standby(), &ok(100).errors(0.5));
    sim
}

fn confirmed() -> DeploymentSettings {
    DeploymentSettings {
        confirm_switch: true,
        ..settings()
    }
}

fn cutover_hook_failed() -> Sim {
    let mut sim = Sim::new(confirmed());
    sim.ready_then_cut_over(&blue_live());
    assert_eq!(
        sim.verdict().phase(),
        Phase::Ready,
        "no bake before the switch"
    );
    assert!(sim.switch_done(SwitchOutcome::Failed(
        "exit 1: [stderr] haproxy: connection refused".into()
    )));
    sim.run(5, &blue_live(), &ok(0));
    sim
}

pub fn rollback_hook_failed() -> Sim {
    let mut sim = Sim::new(DeploymentSettings {
        baseline: crate::engine::BaselineSettings {
            enabled: false,
            ..settings().baseline
        },
        ..confirmed()
    });
    sim.ready_then_cut_over(&blue_live());
    assert!(sim.switch_done(SwitchOutcome::Succeeded));
    sim.run(30, &standby(), &ok(100).errors(0.2));
    assert!(sim.switch_done(SwitchOutcome::Failed("timed out and was killed".into())));
    sim.run(5, &standby(), &ok(100).errors(0.2));
    sim
}

fn external_switch_to_the_candidate() -> Sim {
    let mut sim = Sim::new(settings());
    sim.run(60, &blue_live(), &ok(0));
    sim.traffic_seen(Color::Green);
    sim.run(10, &standby(), &ok(100));
    sim
}

fn unknown_check_status() -> Sim {
    let mut sim = Sim::new(settings());
    sim.run(30, &blue_live(), &ok(0));
    for _ in 0..5 {
        let mut report = sim.next_report(Color::Green, &ok(0));
        report.checks[2].status = 9; // http, a value no aggregator knows
        let outcome = sim.send(Color::Green, report);
        assert!(
            matches!(&outcome, ReportOutcome::Refused(field) if field.contains("report.checks[2].status")),
            "{outcome:?}"
        );
        let report = sim.next_report(Color::Blue, &blue_live());
        sim.send(Color::Blue, report);
        sim.now += 1.0;
        sim.engine.tick(at(sim.now));
    }
    sim
}

fn no_old_side_agent_ever() -> Sim {
    let mut sim = Sim::with_agents(settings(), &[Color::Green]);
    let absent = ok(0).silent();
    sim.run(30, &absent, &ok(10));
    sim.engine
        .cutover(NAME, false, "test", at(sim.now))
        .unwrap();
    sim.run(30, &absent, &ok(100).errors(0.2));
    sim
}

fn old_side_failing() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    sim.run(
        30,
        &standby().failing("http", "HTTP 503"),
        &ok(100).errors(0.3),
    );
    sim
}

#[test]
fn edge_corpus() {
    use Decision::*;
    let corpus: Vec<(&str, Script, Expect)> = vec![
        (
            "green's clock 10 min behind, a 1 s /health blip: no rollback",
            behind_with_a_blip,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: Some("clock_skew"),
            },
        ),
        (
            "green's clock 10 min ahead, a 1 s /health blip: no rollback",
            ahead_with_a_blip,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: Some("clock_skew"),
            },
        ),
        (
            "green's clock 10 min behind, a real 3 min failure: rollback",
            behind_with_a_real_failure,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("health_failing"),
            },
        ),
        (
            "green's clock 10 min ahead, a real 3 min failure: rollback",
            ahead_with_a_real_failure,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("health_failing"),
            },
        ),
        (
            "the deadline passes while the aggregator is stopped, green failing: ROLLBACK, not Verified",
            deadline_passes_unseen,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("awaiting_evidence"),
            },
        ),
        (
            "the cutover hook failed: Ready with cutover_failed, no bake",
            cutover_hook_failed,
            Expect {
                decision: Ready,
                phase: Phase::Ready,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("cutover_failed"),
            },
        ),
        (
            "the rollback hook failed: Held with rollback_failed",
            rollback_hook_failed,
            Expect {
                decision: Rollback,
                phase: Phase::Held,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("rollback_failed"),
            },
        ),
        (
            "traffic moved to green behind greenlight's back: the bake is armed",
            external_switch_to_the_candidate,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[],
                alert: true,
                rule: Some("bake_window"),
            },
        ),
        (
            "an unknown check status is refused and the check counts as failing",
            unknown_check_status,
            Expect {
                decision: NotReady,
                phase: Phase::Deploying,
                actions: &[],
                alert: false,
                rule: Some("check_failed"),
            },
        ),
        (
            "no old-side agent ever: the triggers roll back and say the baseline is missing",
            no_old_side_agent_ever,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("baseline_missing"),
            },
        ),
        (
            "old side present and failing: HOLD",
            old_side_failing,
            Expect {
                decision: Hold,
                phase: Phase::Held,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("rollback_target_unhealthy"),
            },
        ),
    ];
    check(corpus);
}
