//! What comes back about the test gates: a gate's outcome (from the
//! shell that ran it) and an operator's rerun. Both re-evaluate the
//! deployment, so a gate passing can make READY and a smoke test failing
//! rolls back in the same step.

use std::time::SystemTime;

use super::control::{ControlError, ControlOutcome};
use super::core::Engine;
use super::gates::{GateOutcome, GateState};

impl Engine {
    /// The run `order` of `gate` ended with `outcome`. Returns false (and
    /// changes nothing) when that run is no longer awaited: a rerun or a
    /// new deployment of the candidate came in between.
    pub fn gate_finished(
        &mut self,
        name: &str,
        gate: &str,
        order: u64,
        outcome: GateOutcome,
        now: SystemTime,
    ) -> bool {
        self.last_now = self.last_now.max(now);
        let Some(deployment) = self.deployments.get_mut(name) else {
            return false;
        };
        if !deployment.gate_finished(gate, order, outcome, now) {
            return false;
        }
        self.evaluate(name, now);
        true
    }

    /// Runs `gate` again for the current candidate run: its result is
    /// forgotten, and it runs as soon as its stage allows (before cutover:
    /// the candidate otherwise READY; after: traffic on it).
    pub fn rerun_gate(
        &mut self,
        name: &str,
        gate: &str,
        by: &str,
        now: SystemTime,
    ) -> Result<ControlOutcome, ControlError> {
        self.last_now = self.last_now.max(now);
        let deployment = self
            .deployments
            .get_mut(name)
            .ok_or_else(|| ControlError::NotFound(name.to_string()))?;
        let Some(spec) = deployment.settings.gates.iter().find(|g| g.name == gate) else {
            let known: Vec<&str> = deployment
                .settings
                .gates
                .iter()
                .map(|g| g.name.as_str())
                .collect();
            return Err(ControlError::UnknownGate(format!(
                "{name} has no gate named {gate:?} (its gates: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        };
        let stage = spec.stage;
        if let Some(GateState::Running { attempt, .. }) = deployment.gates.states.get(gate) {
            return Err(ControlError::WrongPhase(format!(
                "gate {gate} of {name} is running (attempt {attempt}): wait for its outcome"
            )));
        }
        deployment.gates.states.remove(gate);
        deployment.state_dirty = true;
        let evaluation = deployment.evaluate(now);
        let running = matches!(
            deployment.gates.states.get(gate),
            Some(GateState::Running { .. })
        );
        let message = if running {
            format!(
                "rerun requested by {by}: gate {gate} ({}) is running again",
                stage.name()
            )
        } else {
            format!(
                "rerun requested by {by}: gate {gate} ({}) runs again when its stage allows",
                stage.name()
            )
        };
        Ok(self.control_outcome(name, evaluation, now, &message))
    }
}
