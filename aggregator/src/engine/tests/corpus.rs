//! The scenario corpus' harness: each row is a story told to the engine
//! second by second, and what the engine must conclude (decision, phase,
//! the actions it decided in order, whether it raised an alert, a rule it
//! must name). Shared by the corpus files.

use greenlight_proto::v1::{Action, Decision, Phase};

use super::sim::{Behaviour, Sim, settings};
use crate::engine::DeploymentSettings;

pub struct Expect {
    pub decision: Decision,
    pub phase: Phase,
    pub actions: &'static [Action],
    pub alert: bool,
    /// A rule the final verdict must name (or the rollback must have named).
    pub rule: Option<&'static str>,
}

pub const CUTOVER: Action = Action::Cutover;
pub const ROLLBACK: Action = Action::Rollback;

pub type Script = fn() -> Sim;

pub fn ok(rps: u64) -> Behaviour {
    Behaviour::healthy(rps)
}

/// Blue before cutover: 100 requests a second, 0.2% errors.
pub fn blue_live() -> Behaviour {
    ok(100).errors(0.002)
}

/// Blue after cutover: standing by, still reporting, no traffic.
pub fn standby() -> Behaviour {
    ok(0)
}

pub fn baking() -> Sim {
    Sim::baking(settings(), &blue_live())
}

pub fn baking_with(tweak: fn(&mut DeploymentSettings)) -> Sim {
    let mut settings = settings();
    tweak(&mut settings);
    Sim::baking(settings, &blue_live())
}

/// Runs every story and fails with the list of those that went wrong.
pub fn check(corpus: Vec<(&str, Script, Expect)>) {
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
