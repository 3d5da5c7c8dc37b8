//! The engine's lasting state as JSON: saved to Redis on every change so
//! that an aggregator restarted in the middle of a bake resumes it, keeps
//! counting epochs upwards, never decides the same action twice, and does
//! not count a replayed report twice. Versioned: what older aggregators
//! wrote (version 1, see `persist_v1`) still restores.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use greenlight_proto::names::{parse_phase, phase_name};
use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::{Action, Transition};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::deployment::Deployment;
use super::lifecycle::Lifecycle;
use super::persist_v1::SavedStateV1;
use super::saved::{
    RestoreError, SavedAction, SavedActionKind, SavedColor, SavedHysteresis, SavedState, VERSION,
};
use super::stage::millis::{from_ms, to_ms};

impl Serialize for SavedState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SavedState::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for SavedState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        match value.get("version").and_then(serde_json::Value::as_u64) {
            Some(1) => {
                let old: SavedStateV1 = serde_json::from_value(value).map_err(D::Error::custom)?;
                old.upgrade().map_err(|error| D::Error::custom(error.0))
            }
            Some(2) => SavedState::deserialize(value).map_err(D::Error::custom),
            Some(other) => Err(D::Error::custom(format!(
                "version {other} (this aggregator reads 1 and {VERSION}): written by a newer greenlight?"
            ))),
            None => Err(D::Error::custom("no version field")),
        }
    }
}

impl SavedState {
    pub fn of(deployment: &Deployment) -> Self {
        let life = &deployment.life;
        let traffic = &deployment.traffic;
        SavedState {
            version: VERSION,
            epoch: deployment.epoch,
            stable: SavedColor::of(life.stable()),
            stage: life.stage().clone(),
            phase: Cow::Borrowed(phase_name(life.phase)),
            candidate_healthy_since_ms: deployment.candidate_healthy_since.map(to_ms),
            paused: life.paused.clone(),
            last_action: life.last_action.and_then(|(action, epoch)| {
                let action = match action {
                    Action::Cutover => SavedActionKind::Cutover,
                    Action::Rollback => SavedActionKind::Rollback,
                    _ => return None,
                };
                Some(SavedAction { action, epoch })
            }),
            transitions: life.saved_transitions(),
            baseline: traffic.baseline,
            hysteresis: life.stage().baking().map(|_| SavedHysteresis {
                error_ratio: traffic.error_ratio,
                latency: traffic.latency,
                baseline_regression: traffic.baseline_regression,
            }),
            sequences: deployment
                .agents
                .values()
                .map(|agent| (agent.identity.run_id.clone(), agent.last_sequence))
                .chain(
                    deployment
                        .restored_sequences
                        .iter()
                        .map(|(run, sequence)| (Arc::from(run.as_str()), *sequence)),
                )
                .collect(),
            gates: deployment.gates.clone(),
        }
    }

    /// Puts the saved state back into a fresh deployment. Agents get
    /// `restore_grace` to reconnect before their absence counts; the epoch
    /// never goes below `epoch_floor` (derived from the wall clock), so
    /// epochs grow even when the saved state is older than the last one
    /// issued.
    pub fn restore(
        &self,
        deployment: &mut Deployment,
        now: SystemTime,
        epoch_floor: u64,
    ) -> Result<(), RestoreError> {
        let bad = |what: &str, value: &str| RestoreError(format!("unknown {what} {value:?}"));
        let phase = parse_phase(&self.phase).ok_or_else(|| bad("phase", &self.phase))?;
        let mut life = Lifecycle::restored(self.stage.clone(), self.stable.color(), phase);
        life.paused = self.paused.clone();
        life.last_action = self.last_action.as_ref().map(|saved| {
            let action = match saved.action {
                SavedActionKind::Cutover => Action::Cutover,
                SavedActionKind::Rollback => Action::Rollback,
            };
            (action, saved.epoch)
        });
        let mut transitions = VecDeque::new();
        for saved in self.transitions.iter() {
            let mut transition = Transition {
                at: Some(to_timestamp(from_ms(saved.at_ms))),
                cause: saved.cause.clone(),
                epoch: saved.epoch,
                ..Default::default()
            };
            transition.set_from(parse_phase(&saved.from).ok_or_else(|| bad("phase", &saved.from))?);
            transition.set_to(parse_phase(&saved.to).ok_or_else(|| bad("phase", &saved.to))?);
            transitions.push_back(transition);
        }
        life.set_transitions(transitions);
        life.grace_until = Some(now + deployment.settings.restore_grace);
        deployment.life = life;
        deployment.candidate_healthy_since = self.candidate_healthy_since_ms.map(from_ms);
        deployment.traffic.baseline = self.baseline;
        if let Some(saved) = self.hysteresis {
            deployment.traffic.error_ratio = saved.error_ratio;
            deployment.traffic.latency = saved.latency;
            deployment.traffic.baseline_regression = saved.baseline_regression;
        }
        deployment.restored_sequences = self
            .sequences
            .iter()
            .map(|(run, sequence)| (run.to_string(), *sequence))
            .collect();
        deployment.gates = self.gates.clone().restored();
        deployment.epoch = self.epoch.max(epoch_floor);
        // The first verdict after a restore is a new epoch.
        deployment.signature = None;
        Ok(())
    }
}
