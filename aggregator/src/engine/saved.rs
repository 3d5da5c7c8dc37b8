//! The saved state's shape (version 2): what `persist` writes and reads,
//! and what `persist_v1` upgrades older states to.

use std::collections::BTreeMap;

use greenlight_proto::v1::Color;
use serde::{Deserialize, Serialize};

use super::hysteresis::SampleHistory;
use super::stage::Stage;
use super::traffic_rules::Baseline;

pub const VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct SavedState {
    pub version: u32,
    pub epoch: u64,
    pub stable: SavedColor,
    pub stage: Stage,
    /// The phase of the latest verdict: a restored deployment keeps its
    /// place while its agents come back.
    pub phase: String,
    #[serde(default)]
    pub candidate_healthy_since_ms: Option<u64>,
    #[serde(default)]
    pub paused: Option<String>,
    #[serde(default)]
    pub last_action: Option<SavedAction>,
    #[serde(default)]
    pub transitions: Vec<SavedTransition>,
    #[serde(default)]
    pub baseline: Option<Baseline>,
    /// The traffic rules' samples, with the sequences below: taken
    /// together, so a replayed report is neither lost nor counted twice.
    #[serde(default)]
    pub hysteresis: Option<SavedHysteresis>,
    /// The last accepted sequence of each agent run, by run id.
    #[serde(default)]
    pub sequences: BTreeMap<String, u64>,
}

/// A domain color: there is no "unspecified" to save.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SavedColor {
    Blue,
    Green,
}

impl SavedColor {
    pub fn of(color: Color) -> Self {
        match color {
            Color::Green => SavedColor::Green,
            _ => SavedColor::Blue,
        }
    }

    pub fn color(self) -> Color {
        match self {
            SavedColor::Blue => Color::Blue,
            SavedColor::Green => Color::Green,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SavedActionKind {
    Cutover,
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedAction {
    pub action: SavedActionKind,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedHysteresis {
    pub error_ratio: SampleHistory,
    pub latency: SampleHistory,
    pub baseline_regression: SampleHistory,
}

#[derive(Debug, thiserror::Error)]
#[error("saved state: {0}")]
pub struct RestoreError(pub(super) String);

impl RestoreError {
    pub fn about(deployment: &str, error: RestoreError) -> Self {
        RestoreError(format!("deployment {deployment}: {}", error.0))
    }
}
