//! Scenarios for the engine: (time, event) in, verdicts out. Time is moved by
//! hand, so every test is deterministic.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use greenlight_proto::v1::{CheckResult, CheckStatus, Color, Decision, Hello, Phase, Report};

use crate::engine::*;

const START: u64 = 1_800_000_000;

fn at(seconds: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(START) + Duration::from_secs_f64(seconds)
}

fn settings() -> DeploymentSettings {
    DeploymentSettings {
        ready_after: Duration::from_secs(10),
        ..DeploymentSettings::default()
    }
}

fn engine() -> Engine {
    let configured = BTreeMap::from([("escashop".to_string(), settings())]);
    Engine::new(settings(), configured, &BTreeMap::new(), at(0.0)).unwrap()
}

fn hello(color: Color, instance: &str, run: &str) -> Hello {
    Hello {
        deployment: "escashop".into(),
        color: color as i32,
        instance_id: instance.into(),
        report_interval_ms: 1000,
        run_id: run.into(),
        ..Default::default()
    }
}

fn check(name: &str, pass: bool, error: &str) -> CheckResult {
    let mut check = CheckResult {
        check: name.into(),
        error: error.into(),
        ..Default::default()
    };
    check.set_status(if pass {
        CheckStatus::Pass
    } else {
        CheckStatus::Fail
    });
    check
}

fn report(sequence: u64, time: SystemTime, checks: Vec<CheckResult>) -> Report {
    Report {
        sequence,
        observed_at: Some(greenlight_proto::time::to_timestamp(time)),
        checks,
        ..Default::default()
    }
}

fn healthy(sequence: u64, time: SystemTime) -> Report {
    report(
        sequence,
        time,
        vec![check("postgres", true, ""), check("redis", true, "")],
    )
}

fn decision(engine: &Engine) -> (Decision, Phase) {
    let verdict = engine.latest_verdict("escashop").expect("a verdict");
    (verdict.decision(), verdict.phase())
}

fn green_key() -> AgentKey {
    AgentKey {
        deployment: "escashop".into(),
        color: Color::Green,
        instance_id: "green-1".into(),
    }
}

/// Green agent reporting healthy once a second from t=0 up to `until`.
fn green_healthy_until(engine: &mut Engine, until: u64) -> AgentKey {
    let (key, _) = engine
        .hello(&hello(Color::Green, "green-1", "run-a"), 1, at(0.0))
        .unwrap();
    for second in 1..=until {
        let now = at(second as f64);
        assert_eq!(
            engine.report(&key, healthy(second, now), now),
            ReportOutcome::Accepted
        );
    }
    key
}

#[test]
fn without_candidate_agents_the_deployment_is_normal_and_not_ready() {
    let engine = engine();
    assert_eq!(decision(&engine), (Decision::NotReady, Phase::Normal));
    let verdict = engine.latest_verdict("escashop").unwrap();
    assert_eq!(verdict.reasons[0].rule, "no_agents");
    assert_eq!(verdict.reasons[0].color(), Color::Green);
}

#[test]
fn candidate_is_ready_only_after_the_whole_window() {
    let mut engine = engine();
    green_healthy_until(&mut engine, 10);
    // Healthy since the first report at t=1: 9 s of 10.
    assert_eq!(decision(&engine), (Decision::NotReady, Phase::Testing));
    let key = AgentKey {
        deployment: "escashop".into(),
        color: Color::Green,
        instance_id: "green-1".into(),
    };
    engine.report(&key, healthy(11, at(11.0)), at(11.0));
    assert_eq!(decision(&engine), (Decision::Ready, Phase::Ready));
    assert!(fit_to_carry_traffic(
        &engine.latest_verdict("escashop").unwrap(),
        Color::Green
    ));
}

#[test]
fn a_failing_check_is_named_and_restarts_the_window() {
    let mut engine = engine();
    let key = green_healthy_until(&mut engine, 12);
    assert_eq!(decision(&engine).0, Decision::Ready);

    let failing = report(
        13,
        at(13.0),
        vec![
            check("postgres", false, "connection refused"),
            check("redis", true, ""),
        ],
    );
    engine.report(&key, failing, at(13.0));
    let verdict = engine.latest_verdict("escashop").unwrap();
    assert_eq!(verdict.decision(), Decision::NotReady);
    assert_eq!(verdict.phase(), Phase::Deploying);
    let reason = &verdict.reasons[0];
    assert_eq!(
        (reason.rule.as_str(), reason.color(), reason.agent.as_str()),
        ("check_failed", Color::Green, "green-1")
    );
    assert_eq!(reason.check, "postgres");
    assert_eq!(reason.error, "connection refused");
    assert!(
        reason.message.contains("connection refused"),
        "{}",
        reason.message
    );
    assert!(!fit_to_carry_traffic(&verdict, Color::Green));

    // Recovering starts a new window: not ready again until 10 s later.
    engine.report(&key, healthy(14, at(14.0)), at(14.0));
    assert_eq!(decision(&engine), (Decision::NotReady, Phase::Testing));
    engine.report(&key, healthy(24, at(24.0)), at(24.0));
    assert_eq!(decision(&engine), (Decision::Ready, Phase::Ready));
}

#[test]
fn the_failure_keeps_its_first_time() {
    let mut engine = engine();
    let key = green_healthy_until(&mut engine, 2);
    for sequence in 3..=5 {
        let now = at(sequence as f64);
        let failing = report(sequence, now, vec![check("redis", false, "timed out")]);
        engine.report(&key, failing, now);
    }
    let since = engine.latest_verdict("escashop").unwrap().reasons[0]
        .since
        .as_ref()
        .and_then(greenlight_proto::time::from_timestamp);
    assert_eq!(since, Some(at(3.0)));
}

#[test]
fn an_agent_is_stale_after_three_missed_intervals() {
    let mut engine = engine();
    green_healthy_until(&mut engine, 12);
    engine.tick(at(15.0));
    assert_eq!(
        decision(&engine).0,
        Decision::Ready,
        "3 s of silence is allowed"
    );
    engine.tick(at(15.5));
    let verdict = engine.latest_verdict("escashop").unwrap();
    assert_eq!(verdict.decision(), Decision::NotReady);
    assert_eq!(verdict.reasons[0].rule, "agent_stale");
    assert_eq!(verdict.reasons[0].agent, "green-1");
}

#[test]
fn duplicate_and_out_of_order_reports_are_ignored() {
    let mut engine = engine();
    let key = green_healthy_until(&mut engine, 5);
    assert_eq!(
        engine.report(&key, healthy(5, at(5.5)), at(5.5)),
        ReportOutcome::Duplicate
    );
    assert_eq!(
        engine.report(&key, healthy(3, at(5.6)), at(5.6)),
        ReportOutcome::OutOfOrder
    );
    assert!(matches!(
        engine.report(&key, healthy(0, at(5.7)), at(5.7)),
        ReportOutcome::Invalid(_)
    ));
}

#[test]
fn a_reconnect_of_the_same_run_keeps_its_sequence_and_a_new_run_restarts_it() {
    let mut engine = engine();
    green_healthy_until(&mut engine, 5);
    let (_, last) = engine
        .hello(&hello(Color::Green, "green-1", "run-a"), 2, at(6.0))
        .unwrap();
    assert_eq!(last, 5);
    let key = green_key();
    engine.disconnected(&key, 2, at(6.5));
    let (_, last) = engine
        .hello(&hello(Color::Green, "green-1", "run-b"), 3, at(7.0))
        .unwrap();
    assert_eq!(last, 0);
}

#[test]
fn a_second_stream_of_another_run_is_refused_while_the_first_is_alive() {
    let mut engine = engine();
    let key = green_healthy_until(&mut engine, 5);
    let refused = engine
        .hello(&hello(Color::Green, "green-1", "intruder"), 2, at(5.5))
        .unwrap_err();
    assert!(
        matches!(&refused, HelloRefused::AlreadyConnected { identity, .. } if identity == "escashop/green/green-1"),
        "{refused:?}"
    );
    // The first keeps being served, and is still the one that speaks.
    assert!(engine.owns_stream(&key, 1));
    assert_eq!(
        engine.report(&key, healthy(6, at(6.0)), at(6.0)),
        ReportOutcome::Accepted
    );
}

#[test]
fn the_same_run_reconnecting_replaces_its_stream_and_the_old_one_stops_speaking() {
    let mut engine = engine();
    let key = green_healthy_until(&mut engine, 5);
    let (_, last) = engine
        .hello(&hello(Color::Green, "green-1", "run-a"), 2, at(5.5))
        .unwrap();
    assert_eq!(last, 5);
    assert!(engine.owns_stream(&key, 2));
    assert!(!engine.owns_stream(&key, 1));
}

#[test]
fn a_silent_stream_may_be_taken_over_by_a_new_run() {
    let mut engine = engine();
    green_healthy_until(&mut engine, 5);
    // Three intervals (1 s here) of silence, at least TAKEOVER_AFTER_MIN:
    // the old connection is half-open, not alive.
    engine
        .hello(&hello(Color::Green, "green-1", "run-b"), 2, at(5.0 + 2.9))
        .unwrap_err();
    engine
        .hello(&hello(Color::Green, "green-1", "run-b"), 2, at(5.0 + 3.1))
        .unwrap();
}

#[test]
fn an_old_stream_ending_does_not_disconnect_the_new_one() {
    let mut engine = engine();
    let key = green_healthy_until(&mut engine, 2);
    engine
        .hello(&hello(Color::Green, "green-1", "run-a"), 2, at(2.5))
        .unwrap();
    engine.disconnected(&key, 1, at(2.6));
    let agent = &engine.latest_verdict("escashop").unwrap().agents[0];
    assert!(agent.connected);
    engine.disconnected(&key, 2, at(2.7));
    assert!(!engine.latest_verdict("escashop").unwrap().agents[0].connected);
}

#[test]
fn a_disconnected_agent_is_forgotten_after_forget_after() {
    let mut engine = engine();
    let key = green_healthy_until(&mut engine, 2);
    engine.disconnected(&key, 1, at(3.0));
    engine.tick(at(500.0));
    assert_eq!(engine.latest_verdict("escashop").unwrap().agents.len(), 1);
    engine.tick(at(700.0));
    assert_eq!(decision(&engine), (Decision::NotReady, Phase::Normal));
}

#[test]
fn epochs_grow_only_when_the_verdict_changes() {
    let mut engine = engine();
    let first = engine.take_outputs().verdicts;
    assert_eq!(first.len(), 1);
    // Above any epoch an aggregator started earlier could have issued.
    let base = crate::engine::epoch_floor(at(0.0));
    assert_eq!(first[0].epoch, base + 1);
    let key = green_healthy_until(&mut engine, 4);
    let changed = engine.take_outputs().verdicts;
    let epochs: Vec<u64> = changed.iter().map(|v| v.epoch - base).collect();
    // hello (no reports yet), first report (testing); later reports change nothing.
    assert_eq!(epochs, vec![2, 3]);
    engine.report(&key, healthy(5, at(5.0)), at(5.0));
    assert!(engine.take_outputs().verdicts.is_empty());
}

#[test]
fn unconfigured_deployments_appear_with_the_defaults() {
    let mut engine = engine();
    let mut other = hello(Color::Blue, "blue-1", "run-x");
    other.deployment = "billing".into();
    engine.hello(&other, 9, at(1.0)).unwrap();
    let verdict = engine.latest_verdict("billing").unwrap();
    assert_eq!(verdict.live(), Color::Blue);
    assert_eq!(verdict.phase(), Phase::Normal);
}

#[test]
fn the_live_color_is_fit_while_its_agents_pass() {
    let mut engine = engine();
    let (key, _) = engine
        .hello(&hello(Color::Blue, "blue-1", "run-b"), 1, at(0.0))
        .unwrap();
    engine.report(&key, healthy(1, at(1.0)), at(1.0));
    let verdict = engine.latest_verdict("escashop").unwrap();
    assert!(fit_to_carry_traffic(&verdict, Color::Blue));
    assert!(!fit_to_carry_traffic(&verdict, Color::Green));
    engine.tick(at(10.0));
    assert!(!fit_to_carry_traffic(
        &engine.latest_verdict("escashop").unwrap(),
        Color::Blue
    ));
}
