//! The gates' flow in one deployment: following the candidate run,
//! ordering the gates a stage needs, and taking their outcomes.

use std::time::SystemTime;

use super::deployment::Deployment;
use super::gates::{GateCheck, GateOrder, GateOutcome, GateStage, GateState, gate_finding};

impl Deployment {
    /// A candidate run the results were not for starts them over.
    pub(super) fn follow_candidate_run(&mut self) {
        let runs = self.runs_of(self.life.candidate());
        if runs.is_empty() || runs.is_subset(&self.gates.runs) {
            return;
        }
        if !self.gates.states.is_empty() || !self.gates.attempts.is_empty() {
            self.state_dirty = true;
        }
        self.gates.states.clear();
        self.gates.attempts.clear();
        self.gates.runs = runs;
    }

    /// The gates of `stage`: each not started is ordered now (`start`
    /// false only reports).
    pub(super) fn check_gates(
        &mut self,
        stage: GateStage,
        start: bool,
        now: SystemTime,
    ) -> GateCheck {
        let mut check = GateCheck {
            passed: true,
            ..GateCheck::default()
        };
        let candidate = self.life.candidate();
        let names: Vec<String> = self
            .settings
            .gates
            .iter()
            .filter(|gate| gate.stage == stage)
            .map(|gate| gate.name.clone())
            .collect();
        for name in names {
            if !self.gates.states.contains_key(&name) {
                check.passed = false;
                if start {
                    self.order_gate(&name, stage, now);
                } else {
                    continue;
                }
            }
            let state = &self.gates.states[&name];
            let (finding, failed) = gate_finding(&self.name, &name, stage, state, candidate, now);
            match state {
                GateState::Passed { .. } => {}
                _ => check.passed = false,
            }
            if failed {
                check.failed.push(finding);
            } else {
                check.info.push(finding);
            }
        }
        check
    }

    fn order_gate(&mut self, name: &str, stage: GateStage, now: SystemTime) {
        let gates = &mut self.gates;
        gates.last_order += 1;
        let attempt = gates.attempts.entry(name.to_string()).or_default();
        *attempt += 1;
        let attempt = *attempt;
        gates.states.insert(
            name.to_string(),
            GateState::Running {
                order: gates.last_order,
                attempt,
                since: now,
            },
        );
        gates.orders.push(GateOrder {
            deployment: self.name.clone(),
            gate: name.to_string(),
            stage,
            order: gates.last_order,
            attempt,
            candidate: self.life.candidate(),
            live: self.life.stable(),
        });
        self.state_dirty = true;
    }

    /// A gate's outcome: `false` when it is not the run awaited (a stale
    /// order, after a rerun or a new deployment).
    pub(super) fn gate_finished(
        &mut self,
        gate: &str,
        order: u64,
        outcome: GateOutcome,
        now: SystemTime,
    ) -> bool {
        let Some(GateState::Running {
            order: awaited,
            attempt,
            ..
        }) = self.gates.states.get(gate)
        else {
            return false;
        };
        if *awaited != order {
            return false;
        }
        let attempt = *attempt;
        let state = match outcome {
            GateOutcome::Passed => GateState::Passed { attempt, at: now },
            GateOutcome::Failed { exit, tail } => GateState::Failed {
                attempt,
                at: now,
                exit,
                tail,
            },
            GateOutcome::TimedOut { after, tail } => GateState::TimedOut {
                attempt,
                at: now,
                after_ms: after.as_millis() as u64,
                tail,
            },
        };
        self.gates.states.insert(gate.to_string(), state);
        self.state_dirty = true;
        true
    }
}
