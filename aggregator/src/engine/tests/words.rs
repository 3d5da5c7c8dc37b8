//! Words in verdicts: what a tired person reads at 3 a.m. Every transition
//! says why, a new deployment shows nothing of the previous one's bake, a
//! check's value reads for its kind, an agent's state matches its words.

use greenlight_proto::v1::{CheckStatus, Color, Hello, Phase, Verdict};

use super::corpus::{blue_live, ok, standby};
use super::sim::{NAME, Sim, at, settings};
use super::stories::{bake_completes, green_only_error_spike};

fn causes(verdict: &Verdict) -> Vec<(Phase, Phase, String)> {
    verdict
        .transitions
        .iter()
        .map(|t| (t.from(), t.to(), t.cause.clone()))
        .collect()
}

fn assert_every_transition_says_why(sim: &Sim) {
    for verdict in &sim.verdicts {
        for (from, to, cause) in causes(verdict) {
            assert!(!cause.trim().is_empty(), "{from:?} -> {to:?} has no cause");
        }
    }
}

/// A Testing verdict of a new deployment: nothing from the last bake.
fn assert_nothing_of_a_bake(verdict: &Verdict) {
    assert_eq!(verdict.phase(), Phase::Testing);
    assert_eq!(verdict.bake_started, None);
    assert_eq!(verdict.bake_deadline, None);
    for reason in &verdict.reasons {
        assert!(
            !reason.rule.starts_with("bake") && !reason.message.contains("bak"),
            "a bake line in a Testing verdict: {}",
            reason.message
        );
    }
}

#[test]
fn every_transition_says_why_and_ready_says_the_window() {
    let mut sim = Sim::new(settings());
    sim.run(15, &blue_live(), &ok(0));
    let verdict = sim.verdict();
    assert_eq!(verdict.phase(), Phase::Ready);
    let causes = causes(&verdict);
    let cause_of = |to: Phase| {
        causes
            .iter()
            .find(|(_, t, _)| *t == to)
            .map(|(_, _, cause)| cause.clone())
            .unwrap_or_else(|| panic!("no transition to {to:?} in {causes:?}"))
    };
    assert_eq!(
        cause_of(Phase::Ready),
        "green healthy for 10 s, the readiness window"
    );
    assert_eq!(
        cause_of(Phase::Testing),
        "every green agent reports and every check passes: the 10 s readiness window starts"
    );
    // Paused and resumed: out of Held because someone asked.
    sim.engine
        .pause(NAME, "a look", "bob", at(sim.now))
        .unwrap();
    sim.engine.resume(NAME, "bob", at(sim.now)).unwrap();
    let last = sim.verdict().transitions.last().unwrap().clone();
    assert_eq!((last.from(), last.to()), (Phase::Held, Phase::Ready));
    assert_eq!(
        last.cause,
        "resumed by bob; green healthy for 10 s, the readiness window"
    );
    // Through a bake, Verified, and the next deployment.
    sim.engine.cutover(NAME, false, "ci", at(sim.now)).unwrap();
    sim.run(301, &standby(), &ok(100));
    sim.connect(Color::Blue, "run-blue-2");
    sim.run(15, &ok(0), &ok(100));
    assert_eq!(sim.verdict().phase(), Phase::Ready);
    assert_every_transition_says_why(&sim);
    assert_every_transition_says_why(&green_only_error_spike());
}

#[test]
fn a_new_deployment_after_verified_shows_nothing_of_the_last_bake() {
    let mut sim = bake_completes();
    assert_eq!(sim.verdict().phase(), Phase::Verified);
    // The next deployment goes to blue: a new run.
    sim.connect(Color::Blue, "run-blue-2");
    sim.run(3, &ok(0), &ok(100));
    let verdict = sim.verdict();
    assert_nothing_of_a_bake(&verdict);
    // The transitions keep history, and say where this deployment began.
    let last = verdict.transitions.last().unwrap();
    assert_eq!((last.from(), last.to()), (Phase::Verified, Phase::Testing));
    assert_eq!(
        last.cause,
        "a new blue deployment started (the previous one was verified)"
    );
}

#[test]
fn a_new_deployment_after_a_rollback_shows_nothing_of_the_last_bake() {
    let mut sim = green_only_error_spike();
    sim.run(5, &ok(100), &ok(100).errors(0.5));
    assert_eq!(sim.verdict().phase(), Phase::RolledBack);
    sim.connect(Color::Green, "run-green-2");
    sim.run(3, &blue_live(), &ok(0));
    let verdict = sim.verdict();
    assert_nothing_of_a_bake(&verdict);
    assert!(
        verdict.reasons.iter().all(|r| !r.message.contains("error")),
        "the rollback's trigger is not this deployment's: {:?}",
        verdict.reasons
    );
    let last = verdict.transitions.last().unwrap();
    assert_eq!(
        last.cause,
        "a new green deployment started (the previous one was rolled back)"
    );
}

fn hello(color: Color, run: &str) -> Hello {
    Hello {
        deployment: NAME.into(),
        color: color as i32,
        instance_id: Sim::key(color).instance_id,
        report_interval_ms: 1000,
        run_id: run.into(),
        ..Default::default()
    }
}

fn messages_of(sim: &Sim) -> Vec<String> {
    sim.verdict()
        .reasons
        .into_iter()
        .map(|r| r.message)
        .collect()
}

#[test]
fn a_failing_http_check_without_words_says_what_it_answered() {
    let mut sim = Sim::new(settings());
    sim.run(3, &blue_live(), &ok(0));
    let mut report = sim.next_report(Color::Green, &ok(0));
    for check in &mut report.checks {
        if check.check == "http" {
            check.set_status(CheckStatus::Fail);
            check.observed_value = 503.0;
            check.observed_unit = "status".into();
        }
    }
    sim.send(Color::Green, report);
    let messages = messages_of(&sim);
    assert!(
        messages.iter().any(|m| m
            .ends_with("check http: failing: the health endpoint answered HTTP 503 (wanted 2xx)")),
        "{messages:?}"
    );
    assert!(
        messages.iter().all(|m| !m.contains("against")),
        "{messages:?}"
    );
}

#[test]
fn an_agent_without_a_report_is_described_by_its_connection() {
    let mut sim = Sim::with_agents(settings(), &[Color::Blue]);
    sim.run(3, &blue_live(), &ok(0).silent());
    sim.engine
        .hello(&hello(Color::Green, "run-green-1"), 7, at(sim.now))
        .unwrap();
    sim.now += 2.0;
    sim.engine.tick(at(sim.now));
    let messages = messages_of(&sim);
    assert!(
        messages
            .iter()
            .any(|m| m == "no_reports: green agent green-1: connected, no report yet"),
        "{messages:?}"
    );
    // Its stream ends before it ever reported: not "connected".
    sim.engine
        .disconnected(&Sim::key(Color::Green), 7, at(sim.now));
    sim.now += 3.0;
    sim.engine.tick(at(sim.now));
    let verdict = sim.verdict();
    let green = verdict.agents.iter().find(|a| a.color() == Color::Green);
    assert!(!green.unwrap().connected);
    let messages = messages_of(&sim);
    assert!(
        messages.iter().any(|m| m
            == "no_reports: green agent green-1: not connected (last seen 5 s ago), and it never sent a report"),
        "{messages:?}"
    );
    assert!(
        messages.iter().all(|m| !m.contains("connected,")),
        "{messages:?}"
    );
}
