//! The scenario corpus: each row is a story told to the engine second by
//! second, and what the engine must conclude (decision, phase, the actions
//! it decided in order, whether it raised an alert, a rule it must name).

use std::time::Duration;

use greenlight_proto::v1::{Action, Color, Decision, Phase};

use super::sim::{Behaviour, NAME, Sim, at, settings};
use crate::engine::DeploymentSettings;

struct Expect {
    decision: Decision,
    phase: Phase,
    actions: &'static [Action],
    alert: bool,
    /// A rule the final verdict must name (or the rollback must have named).
    rule: Option<&'static str>,
}

const CUTOVER: Action = Action::Cutover;
const ROLLBACK: Action = Action::Rollback;

fn ok(rps: u64) -> Behaviour {
    Behaviour::healthy(rps)
}

/// Blue before cutover: 100 requests a second, 0.2% errors.
fn blue_live() -> Behaviour {
    ok(100).errors(0.002)
}

/// Blue after cutover: standing by, still reporting, no traffic.
fn standby() -> Behaviour {
    ok(0)
}

fn baking() -> Sim {
    Sim::baking(settings(), &blue_live())
}

fn baking_with(tweak: fn(&mut DeploymentSettings)) -> Sim {
    let mut settings = settings();
    tweak(&mut settings);
    Sim::baking(settings, &blue_live())
}

fn green_only_error_spike() -> Sim {
    // Without the baseline, so that the fixed 5% rule is the one that speaks.
    let mut sim = baking_with(|s| s.baseline.enabled = false);
    sim.run(30, &standby(), &ok(100));
    sim.run(30, &standby(), &ok(100).errors(0.2));
    sim
}

fn postgres_down_for_both() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    let down = "connection refused";
    sim.run(
        30,
        &standby().failing("postgres", down),
        &ok(100).failing("postgres", down),
    );
    sim
}

fn green_only_postgres_down() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    sim.run(
        10,
        &standby(),
        &ok(100).failing("postgres", "connection refused"),
    );
    sim
}

fn one_bad_sample() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    sim.second(&standby(), &ok(100).errors(0.3).failing("http", "HTTP 503"));
    sim.run(20, &standby(), &ok(100));
    sim
}

fn flapping_check() -> Sim {
    let mut sim = baking();
    for second in 0..280 {
        let green = if second % 2 == 0 {
            ok(100).failing("http", "HTTP 503")
        } else {
            ok(100)
        };
        sim.second(&standby(), &green);
    }
    sim
}

fn latency_creeping() -> Sim {
    let mut sim = baking();
    for step in 0..60 {
        let latency = 4.0 + f64::from(step) * 0.05;
        sim.second(&standby(), &ok(100).latency(latency));
    }
    sim
}

fn no_traffic() -> Sim {
    let mut sim = baking();
    sim.run(320, &standby(), &ok(0).errors(1.0));
    sim
}

fn baseline_regression() -> Sim {
    let mut sim = baking();
    sim.run(90, &standby(), &ok(100).errors(0.03));
    sim
}

fn baseline_equal() -> Sim {
    let mut sim = Sim::baking(settings(), &ok(100).errors(0.029));
    sim.run(310, &standby(), &ok(100).errors(0.03));
    sim
}

fn stream_lost() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    sim.disconnect(Color::Green);
    sim.run(10, &standby(), &ok(100).silent());
    sim
}

fn health_failing_for(seconds: u32) -> Sim {
    let mut sim = baking();
    sim.run(10, &standby(), &ok(100));
    sim.run(seconds, &standby(), &ok(100).failing("http", "HTTP 503"));
    sim.run(5, &standby(), &ok(100));
    sim
}

fn health_failing_1m59s() -> Sim {
    health_failing_for(119)
}

fn health_failing_2m1s() -> Sim {
    health_failing_for(122)
}

fn bake_completes() -> Sim {
    let mut sim = baking();
    sim.run(301, &standby(), &ok(100));
    sim
}

fn duplicates_and_out_of_order() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    // One report with postgres failing, then its duplicate and an older one
    // replayed again and again: counted, they would make "database lost".
    let bad = sim.next_report(Color::Green, &ok(100).failing("postgres", "down"));
    let mut old = bad.clone();
    old.sequence -= 10;
    sim.send(Color::Green, bad.clone());
    for _ in 0..5 {
        sim.send(Color::Green, old.clone());
        sim.send(Color::Green, bad.clone());
    }
    sim.run(20, &standby(), &ok(100));
    sim
}

fn shared_redis_outage() -> Sim {
    let mut sim = baking();
    sim.run(10, &standby(), &ok(100));
    let down = "connection refused";
    sim.run(
        150,
        &standby().failing("redis", down),
        &ok(100).failing("redis", down),
    );
    sim
}

fn green_recovers_later_after_a_shared_outage() -> Sim {
    let mut sim = shared_redis_outage();
    let down = "connection refused";
    // Blue's agent reconnects first; green's takes 20 s longer.
    sim.run(20, &standby(), &ok(100).failing("redis", down));
    sim.run(20, &standby(), &ok(100));
    sim
}

fn manual_gate() -> Sim {
    let mut sim = Sim::new(settings());
    sim.run(80, &blue_live(), &ok(0));
    sim
}

fn auto_cutover() -> Sim {
    let mut settings = settings();
    settings.auto_cutover = true;
    let mut sim = Sim::new(settings);
    sim.run(30, &blue_live(), &ok(0));
    sim.run(30, &standby(), &ok(100));
    sim
}

fn dry_run_error_spike() -> Sim {
    let mut settings = settings();
    settings.auto_cutover = true;
    settings.dry_run = true;
    let mut sim = Sim::new(settings);
    sim.run(30, &blue_live(), &ok(100));
    sim
}

fn rollback_fires_once() -> Sim {
    let mut sim = green_only_error_spike();
    sim.run(120, &ok(100), &ok(100).errors(0.5));
    sim
}

fn rollback_target_unhealthy() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    sim.run(
        30,
        &standby().failing("http", "HTTP 503"),
        &ok(100).errors(0.3),
    );
    sim
}

fn counter_reset() -> Sim {
    let mut sim = baking();
    sim.run(30, &standby(), &ok(100));
    // The green backend restarts: its counters start again from zero.
    sim.connect(Color::Green, "run-green-1");
    let mut report = sim.next_report(Color::Green, &ok(100));
    report.traffic.as_mut().unwrap().requests_total = 3;
    report.traffic.as_mut().unwrap().errors_total = 0;
    sim.send(Color::Green, report);
    sim.run(30, &standby(), &ok(100));
    sim
}

fn missing_data_opt_in() -> Sim {
    let mut sim = baking_with(|s| s.rollback_on_missing_data = true);
    sim.run(20, &standby(), &ok(100));
    sim.disconnect(Color::Green);
    sim.run(130, &standby(), &ok(100).silent());
    sim
}

fn redeploy_after_rollback() -> Sim {
    let mut sim = green_only_error_spike();
    sim.run(5, &ok(100), &ok(100).errors(0.5));
    sim.connect(Color::Green, "run-green-2");
    sim.run(5, &ok(100), &ok(0));
    sim
}

fn operator_rollback() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    sim.engine
        .rollback(NAME, "customers report wrong totals", "alice", at(sim.now))
        .unwrap();
    sim.run(5, &ok(100), &ok(0));
    sim
}

fn paused_bake() -> Sim {
    let mut sim = baking();
    sim.run(20, &standby(), &ok(100));
    sim.engine
        .pause(NAME, "investigating", "bob", at(sim.now))
        .unwrap();
    sim.run(40, &standby(), &ok(100).errors(0.3));
    sim
}

#[test]
fn scenario_corpus() {
    use Decision::*;
    type Script = fn() -> Sim;
    let corpus: Vec<(&str, Script, Expect)> = vec![
        (
            "green-only error spike rolls back",
            green_only_error_spike,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("error_ratio"),
            },
        ),
        (
            "PostgreSQL down for both colors holds",
            postgres_down_for_both,
            Expect {
                decision: Hold,
                phase: Phase::Held,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("shared_dependency"),
            },
        ),
        (
            "PostgreSQL down for green only rolls back",
            green_only_postgres_down,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("database_lost"),
            },
        ),
        (
            "one bad sample is no rollback",
            one_bad_sample,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: Some("bake_window"),
            },
        ),
        (
            "a check flapping every other sample is no rollback",
            flapping_check,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "latency creeping past 5 s rolls back",
            latency_creeping,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("latency"),
            },
        ),
        (
            "no traffic is inconclusive and no rollback",
            no_traffic,
            Expect {
                decision: Hold,
                phase: Phase::Held,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("bake_inconclusive"),
            },
        ),
        (
            "3% against a 0.2% baseline rolls back",
            baseline_regression,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("baseline_regression"),
            },
        ),
        (
            "3% against a 2.9% baseline is no rollback",
            baseline_equal,
            Expect {
                decision: Ready,
                phase: Phase::Verified,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "a green agent's stream lost during the bake holds",
            stream_lost,
            Expect {
                decision: Hold,
                phase: Phase::Held,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("missing_data"),
            },
        ),
        (
            "health failing 1 min 59 s then recovering is no rollback",
            health_failing_1m59s,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "health failing 2 min 1 s rolls back",
            health_failing_2m1s,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("health_failing"),
            },
        ),
        (
            "the bake completing is Verified",
            bake_completes,
            Expect {
                decision: Ready,
                phase: Phase::Verified,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "duplicate or out-of-order reports are ignored",
            duplicates_and_out_of_order,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "a shared Redis outage holds",
            shared_redis_outage,
            Expect {
                decision: Hold,
                phase: Phase::Held,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("shared_dependency"),
            },
        ),
        (
            "green recovering later than blue after a shared outage is no rollback",
            green_recovers_later_after_a_shared_outage,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("shared_dependency"),
            },
        ),
        (
            "READY waits for a cutover call by default",
            manual_gate,
            Expect {
                decision: Ready,
                phase: Phase::Ready,
                actions: &[],
                alert: false,
                rule: None,
            },
        ),
        (
            "auto_cutover cuts over once",
            auto_cutover,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "dry run decides and never acts",
            dry_run_error_spike,
            Expect {
                decision: Ready,
                phase: Phase::Ready,
                actions: &[],
                alert: false,
                rule: Some("dry_run"),
            },
        ),
        (
            "a rollback is decided once",
            rollback_fires_once,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("rolled_back"),
            },
        ),
        (
            "an unhealthy rollback target holds",
            rollback_target_unhealthy,
            Expect {
                decision: Hold,
                phase: Phase::Held,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("rollback_target_unhealthy"),
            },
        ),
        (
            "a backend restart's counter reset is no spike",
            counter_reset,
            Expect {
                decision: Ready,
                phase: Phase::Baking,
                actions: &[CUTOVER],
                alert: false,
                rule: None,
            },
        ),
        (
            "missing data rolls back only when opted in",
            missing_data_opt_in,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("missing_data"),
            },
        ),
        (
            "a redeploy after a rollback starts a new cycle",
            redeploy_after_rollback,
            Expect {
                decision: NotReady,
                phase: Phase::Testing,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("readiness_window"),
            },
        ),
        (
            "an operator rollback is always accepted",
            operator_rollback,
            Expect {
                decision: Rollback,
                phase: Phase::RolledBack,
                actions: &[CUTOVER, ROLLBACK],
                alert: true,
                rule: Some("rolled_back"),
            },
        ),
        (
            "a paused bake holds and does not act",
            paused_bake,
            Expect {
                decision: Hold,
                phase: Phase::Held,
                actions: &[CUTOVER],
                alert: true,
                rule: Some("paused"),
            },
        ),
    ];
    assert!(corpus.len() >= 20);
    let mut failures = Vec::new();
    for (name, script, expect) in corpus {
        let sim = script();
        let verdict = sim.verdict();
        let actions: Vec<Action> = sim.actions.iter().map(|(action, _)| *action).collect();
        let rules_seen: Vec<String> = sim
            .verdicts
            .iter()
            .flat_map(|v| v.reasons.iter().map(|r| r.rule.clone()))
            .chain(sim.rules_named())
            .collect();
        let mut wrong = Vec::new();
        if verdict.decision() != expect.decision {
            wrong.push(format!(
                "decision {:?}, expected {:?}",
                verdict.decision(),
                expect.decision
            ));
        }
        if verdict.phase() != expect.phase {
            wrong.push(format!(
                "phase {:?}, expected {:?}",
                verdict.phase(),
                expect.phase
            ));
        }
        if actions != expect.actions {
            wrong.push(format!(
                "actions {actions:?}, expected {:?}",
                expect.actions
            ));
        }
        if sim.alerts.is_empty() == expect.alert {
            wrong.push(format!(
                "alerts {:?}, expected some: {}",
                sim.alerts, expect.alert
            ));
        }
        if let Some(rule) = expect.rule {
            if !rules_seen.iter().any(|seen| seen == rule) {
                wrong.push(format!("rule {rule} never named; saw {rules_seen:?}"));
            }
        }
        if !wrong.is_empty() {
            let reasons: Vec<_> = verdict.reasons.iter().map(|r| r.message.clone()).collect();
            failures.push(format!(
                "{name}: {}\n    reasons: {reasons:?}",
                wrong.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenarios failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

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
