//! The saved state's shape (version 2): what `persist` writes and reads,
//! and what `persist_v1` upgrades older states to.

use std::borrow::Cow;
use std::sync::Arc;

use greenlight_proto::v1::Color;
use serde::{Deserialize, Serialize};

use super::gates::Gates;
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
    pub phase: Cow<'static, str>,
    #[serde(default)]
    pub candidate_healthy_since_ms: Option<u64>,
    #[serde(default)]
    pub paused: Option<String>,
    #[serde(default)]
    pub last_action: Option<SavedAction>,
    /// Shared with the lifecycle, which rebuilds it only on a transition:
    /// a state is saved on every candidate report of a bake.
    #[serde(default, with = "shared_slice")]
    pub transitions: Arc<[SavedTransition]>,
    #[serde(default)]
    pub baseline: Option<Baseline>,
    /// The traffic rules' samples, with the sequences below: taken
    /// together, so a replayed report is neither lost nor counted twice.
    #[serde(default)]
    pub hysteresis: Option<SavedHysteresis>,
    /// The last accepted sequence of each agent run, by run id (a JSON
    /// object; a list here, so saving shares the agents' run ids).
    #[serde(default, with = "sequence_map")]
    pub sequences: Vec<(Arc<str>, u64)>,
    /// The test gates' results for the candidate run (absent in states
    /// written before gates existed).
    #[serde(default, skip_serializing_if = "Gates::is_unused")]
    pub gates: Gates,
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

impl SavedTransition {
    pub fn of(transition: &greenlight_proto::v1::Transition) -> Self {
        use greenlight_proto::names::phase_name;
        use greenlight_proto::time::from_timestamp;
        SavedTransition {
            from: phase_name(transition.from()).into(),
            to: phase_name(transition.to()).into(),
            at_ms: transition
                .at
                .as_ref()
                .and_then(from_timestamp)
                .map(super::stage::millis::to_ms)
                .unwrap_or(0),
            cause: transition.cause.clone(),
            epoch: transition.epoch,
        }
    }
}

/// `Arc<[T]>` as a plain list (serde's `rc` feature, for one field).
mod shared_slice {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        value: &Arc<[T]>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.as_ref().serialize(serializer)
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Arc<[T]>, D::Error> {
        Vec::<T>::deserialize(deserializer).map(Arc::from)
    }
}

/// Run id -> sequence pairs as a JSON object, as version 2 wrote them.
mod sequence_map {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        pairs: &[(Arc<str>, u64)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(pairs.iter().map(|(run, sequence)| (run.as_ref(), sequence)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(Arc<str>, u64)>, D::Error> {
        let map = BTreeMap::<String, u64>::deserialize(deserializer)?;
        Ok(map
            .into_iter()
            .map(|(run, sequence)| (Arc::from(run), sequence))
            .collect())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("saved state: {0}")]
pub struct RestoreError(pub(super) String);

impl RestoreError {
    pub fn about(deployment: &str, error: RestoreError) -> Self {
        RestoreError(format!("deployment {deployment}: {}", error.0))
    }
}
