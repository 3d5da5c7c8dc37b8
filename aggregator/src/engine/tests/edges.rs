//! The edges' corpus: clocks that disagree, an aggregator that could not
//! see, switches that failed or happened behind greenlight's back, values
//! nobody knows, agents that are new or absent. One story per defect that
//! issue 9 found (see `corpus` for the harness).

use greenlight_proto::v1::{Color, Decision, Hello, Phase};

use super::corpus::{CUTOVER, Expect, ROLLBACK, Script, baking, blue_live, check, ok, standby};
use super::sim::{NAME, Sim, at, settings};
use crate::engine::{DeploymentSettings, ReportOutcome, SwitchOutcome};

const TEN_MINUTES: f64 = 600.0;

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

fn three_minute_failure(skew: f64) -> Sim {
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

fn rollback_hook_failed() -> Sim {
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
    assert_eq!(deadline, sim.verdict().bake_deadline.or(deadline));
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
