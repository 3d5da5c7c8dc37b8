//! The engine's lasting state as JSON: saved to Redis on every new epoch so
//! that an aggregator restarted in the middle of a bake resumes it, keeps
//! counting epochs upwards, and never decides the same action twice.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use greenlight_proto::names::{action_name, color_name, parse_color, parse_phase, phase_name};
use greenlight_proto::time::{from_timestamp, to_timestamp};
use greenlight_proto::v1::{Action, Transition};
use serde::{Deserialize, Serialize};

use super::deployment::Deployment;
use super::lifecycle::Stage;
use super::traffic_rules::Baseline;

const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedState {
    pub version: u32,
    pub stage: String,
    pub phase: String,
    pub stable: String,
    pub traffic_on: String,
    pub epoch: u64,
    pub bake_started_ms: Option<u64>,
    pub bake_deadline_ms: Option<u64>,
    pub held_since_ms: Option<u64>,
    pub bake_requests: u64,
    pub baseline: Option<Baseline>,
    pub settled_runs: Vec<String>,
    pub paused: Option<String>,
    pub last_action: Option<SavedAction>,
    pub transitions: Vec<SavedTransition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedAction {
    pub action: String,
    pub epoch: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedTransition {
    pub from: String,
    pub to: String,
    pub at_ms: u64,
    pub cause: String,
    pub epoch: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("saved state: {0}")]
pub struct RestoreError(String);

impl RestoreError {
    pub fn about(deployment: &str, error: RestoreError) -> Self {
        RestoreError(format!("deployment {deployment}: {}", error.0))
    }
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

fn time(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

impl SavedState {
    pub fn of(deployment: &Deployment) -> Self {
        let life = &deployment.life;
        SavedState {
            version: VERSION,
            stage: life.stage.name().into(),
            phase: phase_name(life.phase).into(),
            stable: color_name(life.stable).into(),
            traffic_on: color_name(life.traffic_on).into(),
            epoch: deployment.epoch,
            bake_started_ms: life.bake_started.map(millis),
            bake_deadline_ms: life.bake_deadline.map(millis),
            held_since_ms: life.held_since.map(millis),
            bake_requests: life.bake_requests,
            baseline: deployment.traffic.baseline,
            settled_runs: life.settled_runs.iter().cloned().collect(),
            paused: life.paused.clone(),
            last_action: life.last_action.map(|(action, epoch)| SavedAction {
                action: action_name(action).into(),
                epoch,
            }),
            transitions: life
                .transitions
                .iter()
                .map(|t| SavedTransition {
                    from: phase_name(t.from()).into(),
                    to: phase_name(t.to()).into(),
                    at_ms: t
                        .at
                        .as_ref()
                        .and_then(from_timestamp)
                        .map(millis)
                        .unwrap_or(0),
                    cause: t.cause.clone(),
                    epoch: t.epoch,
                })
                .collect(),
        }
    }

    /// Puts the saved state back into a fresh deployment. Agents get
    /// `restore_grace` to reconnect before their absence counts.
    pub fn restore(
        &self,
        deployment: &mut Deployment,
        now: SystemTime,
    ) -> Result<(), RestoreError> {
        if self.version != VERSION {
            return Err(RestoreError(format!(
                "version {} (this aggregator reads {VERSION})",
                self.version
            )));
        }
        let bad = |what: &str, value: &str| RestoreError(format!("unknown {what} {value:?}"));
        let life = &mut deployment.life;
        life.stage = Stage::parse(&self.stage).ok_or_else(|| bad("stage", &self.stage))?;
        life.phase = parse_phase(&self.phase).ok_or_else(|| bad("phase", &self.phase))?;
        life.stable = parse_color(&self.stable).ok_or_else(|| bad("color", &self.stable))?;
        life.traffic_on =
            parse_color(&self.traffic_on).ok_or_else(|| bad("color", &self.traffic_on))?;
        life.bake_started = self.bake_started_ms.map(time);
        life.bake_deadline = self.bake_deadline_ms.map(time);
        life.held_since = self.held_since_ms.map(time);
        life.bake_requests = self.bake_requests;
        life.settled_runs = self.settled_runs.iter().cloned().collect();
        life.paused = self.paused.clone();
        life.last_action = match &self.last_action {
            Some(saved) => {
                let action = match saved.action.as_str() {
                    "cutover" => Action::Cutover,
                    "rollback" => Action::Rollback,
                    _ => Action::None,
                };
                Some((action, saved.epoch))
            }
            None => None,
        };
        let mut transitions = VecDeque::new();
        for saved in &self.transitions {
            let mut transition = Transition {
                at: Some(to_timestamp(time(saved.at_ms))),
                cause: saved.cause.clone(),
                epoch: saved.epoch,
                ..Default::default()
            };
            transition.set_from(parse_phase(&saved.from).ok_or_else(|| bad("phase", &saved.from))?);
            transition.set_to(parse_phase(&saved.to).ok_or_else(|| bad("phase", &saved.to))?);
            transitions.push_back(transition);
        }
        life.transitions = transitions;
        life.grace_until = Some(now + deployment.settings.restore_grace);
        deployment.traffic.baseline = self.baseline;
        deployment.epoch = self.epoch;
        // The first verdict after a restore is a new epoch.
        deployment.signature = None;
        Ok(())
    }
}
