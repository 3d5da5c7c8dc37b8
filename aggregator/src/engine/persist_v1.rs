//! The saved state as aggregators before version 2 wrote it: a stage tag
//! beside optional fields. Read only, and upgraded, so an upgrade in the
//! middle of a bake keeps the bake.

use greenlight_proto::names::parse_color;
use serde::Deserialize;

use super::saved::{
    RestoreError, SavedAction, SavedActionKind, SavedColor, SavedState, SavedTransition,
};
use super::stage::millis::from_ms;
use super::stage::{Baking, PreCutover, Settled, Stage};
use super::traffic_rules::Baseline;

#[derive(Debug, Clone, Deserialize)]
pub struct SavedStateV1 {
    pub stage: String,
    pub phase: String,
    pub stable: String,
    pub epoch: u64,
    pub bake_started_ms: Option<u64>,
    pub bake_deadline_ms: Option<u64>,
    pub held_since_ms: Option<u64>,
    pub bake_requests: u64,
    pub baseline: Option<Baseline>,
    pub settled_runs: Vec<String>,
    pub paused: Option<String>,
    pub last_action: Option<SavedActionV1>,
    pub transitions: Vec<SavedTransition>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SavedActionV1 {
    pub action: String,
    pub epoch: u64,
}

impl SavedStateV1 {
    pub fn upgrade(self) -> Result<SavedState, RestoreError> {
        let bad = |what: &str, value: &str| RestoreError(format!("unknown {what} {value:?}"));
        let stable = parse_color(&self.stable).ok_or_else(|| bad("color", &self.stable))?;
        let runs = self.settled_runs.iter().cloned().collect();
        let stage = match self.stage.as_str() {
            "pre_cutover" => Stage::PreCutover(PreCutover::default()),
            "baking" => {
                let (Some(started), Some(deadline)) = (self.bake_started_ms, self.bake_deadline_ms)
                else {
                    return Err(RestoreError(
                        "stage \"baking\" without bake_started_ms and bake_deadline_ms".into(),
                    ));
                };
                Stage::Baking(Baking {
                    started: from_ms(started),
                    deadline: from_ms(deadline),
                    held_since: self.held_since_ms.map(from_ms),
                    requests: self.bake_requests,
                    // Version 1 did not know; assume the old side was there
                    // (unhealthy holds, the safer reading).
                    stable_seen: true,
                    external: false,
                })
            }
            "verified" => Stage::Verified(Settled { runs }),
            "rolled_back" => Stage::RolledBack(Settled { runs }),
            other => return Err(bad("stage", other)),
        };
        let last_action = match self.last_action {
            Some(saved) => {
                let action = match saved.action.as_str() {
                    "cutover" => SavedActionKind::Cutover,
                    "rollback" => SavedActionKind::Rollback,
                    other => return Err(bad("action", other)),
                };
                Some(SavedAction {
                    action,
                    epoch: saved.epoch,
                })
            }
            None => None,
        };
        Ok(SavedState {
            version: 2,
            epoch: self.epoch,
            stable: SavedColor::of(stable),
            stage,
            phase: self.phase.into(),
            candidate_healthy_since_ms: None,
            paused: self.paused,
            last_action,
            transitions: self.transitions.into(),
            baseline: self.baseline,
            hysteresis: None,
            sequences: Vec::new(),
            gates: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by the aggregator at 14e11fd, in the middle of a bake.
    const BAKING_V1: &str = r#"{"version":1,"stage":"baking","phase":"Baking","stable":"blue","traffic_on":"green","epoch":41,"bake_started_ms":1800000060000,"bake_deadline_ms":1800000360000,"held_since_ms":null,"bake_requests":3000,"baseline":{"requests":6000,"errors":12,"mean_latency_seconds":0.05},"settled_runs":[],"paused":null,"last_action":{"action":"cutover","epoch":40},"transitions":[{"from":"Ready","to":"Baking","at_ms":1800000060000,"cause":"cutover requested by test","epoch":40}]}"#;

    #[test]
    fn a_version_1_bake_restores_as_a_bake() {
        let state: SavedState = serde_json::from_str(BAKING_V1).unwrap();
        assert_eq!(state.version, 2);
        assert_eq!(state.epoch, 41);
        let Stage::Baking(bake) = &state.stage else {
            panic!("{:?}", state.stage);
        };
        assert_eq!(bake.deadline, from_ms(1_800_000_360_000));
        assert_eq!(bake.requests, 3000);
        assert_eq!(
            state.last_action.as_ref().unwrap().action,
            SavedActionKind::Cutover
        );
        // And it writes back as version 2, which reads again the same.
        let again: SavedState =
            serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        assert_eq!(again, state);
    }

    #[test]
    fn unknown_versions_and_values_are_named() {
        let newer = BAKING_V1.replace("\"version\":1", "\"version\":9");
        let error = serde_json::from_str::<SavedState>(&newer).unwrap_err();
        assert!(error.to_string().contains("version 9"), "{error}");
        let purple = BAKING_V1.replace("\"stable\":\"blue\"", "\"stable\":\"purple\"");
        let error = serde_json::from_str::<SavedState>(&purple).unwrap_err();
        assert!(error.to_string().contains("purple"), "{error}");
    }
}
