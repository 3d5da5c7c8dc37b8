//! Where a deployment is in its cycle, as a type: each stage carries the
//! data only it has, so a bake deadline cannot exist before a cutover and a
//! switch in flight always knows its epoch.

use std::collections::BTreeSet;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// The lasting part of the phase. The phase shown in a verdict adds what a
/// single evaluation says (Deploying/Testing/Ready before cutover, Held).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stage {
    /// Traffic on the stable side; the candidate is judged for readiness.
    PreCutover(PreCutover),
    /// A cutover was decided; the switch (the hook) is moving traffic.
    CuttingOver(Switching),
    /// Traffic on the candidate, rollback triggers armed.
    Baking(Baking),
    /// A rollback was decided; the switch is moving traffic back.
    RollingBack(Switching),
    /// The rollback's switch failed for good: traffic may still be on the
    /// candidate. Only a person (or a new rollback call) gets out of this.
    RollbackFailed(SwitchFailure),
    /// The bake passed: the candidate became the stable side.
    Verified(Settled),
    /// Traffic is back on the stable side after a rollback.
    RolledBack(Settled),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PreCutover {
    /// The last cutover's switch failed: shown until the next cutover, and
    /// auto_cutover does not try again by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutover_failed: Option<SwitchFailure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Switching {
    /// The epoch of the decision; its hook's outcome names it.
    pub epoch: u64,
    #[serde(with = "millis")]
    pub decided_at: SystemTime,
    pub cause: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchFailure {
    pub epoch: u64,
    #[serde(with = "millis")]
    pub at: SystemTime,
    /// Exit status and the tail of the hook's output.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baking {
    #[serde(with = "millis")]
    pub started: SystemTime,
    #[serde(with = "millis")]
    pub deadline: SystemTime,
    /// While the bake is held: since when (the deadline moves by the hold).
    #[serde(default, with = "millis_opt", skip_serializing_if = "Option::is_none")]
    pub held_since: Option<SystemTime>,
    /// Requests the candidate served since cutover.
    pub requests: u64,
    /// Whether any agent of the old side was there since the cutover:
    /// without one, the rollback target's health and the baseline are
    /// unknown, not unhealthy.
    pub stable_seen: bool,
    /// Entered because traffic was seen moving, not by our decision.
    #[serde(default)]
    pub external: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settled {
    /// The candidate agents' runs when the deployment settled: a run not
    /// among them is a new deployment.
    pub runs: BTreeSet<String>,
}

impl Stage {
    /// A number per stage, for the verdict's signature.
    pub fn index(&self) -> u8 {
        match self {
            Stage::PreCutover(_) => 0,
            Stage::CuttingOver(_) => 1,
            Stage::Baking(_) => 2,
            Stage::RollingBack(_) => 3,
            Stage::RollbackFailed(_) => 4,
            Stage::Verified(_) => 5,
            Stage::RolledBack(_) => 6,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Stage::PreCutover(_) => "pre_cutover",
            Stage::CuttingOver(_) => "cutting_over",
            Stage::Baking(_) => "baking",
            Stage::RollingBack(_) => "rolling_back",
            Stage::RollbackFailed(_) => "rollback_failed",
            Stage::Verified(_) => "verified",
            Stage::RolledBack(_) => "rolled_back",
        }
    }

    /// Whether user traffic is (as far as we know) on the candidate.
    pub fn traffic_on_candidate(&self) -> bool {
        matches!(
            self,
            Stage::Baking(_) | Stage::RollingBack(_) | Stage::RollbackFailed(_)
        )
    }

    pub fn baking(&self) -> Option<&Baking> {
        match self {
            Stage::Baking(bake) => Some(bake),
            _ => None,
        }
    }

    /// The switch in flight, if one is.
    pub fn switching(&self) -> Option<&Switching> {
        match self {
            Stage::CuttingOver(switch) | Stage::RollingBack(switch) => Some(switch),
            _ => None,
        }
    }
}

/// Times as whole milliseconds since the Unix epoch, as saved.
pub mod millis {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn to_ms(time: SystemTime) -> u64 {
        time.duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64
    }

    pub fn from_ms(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    pub fn serialize<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(to_ms(*time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SystemTime, D::Error> {
        u64::deserialize(deserializer).map(from_ms)
    }
}

pub mod millis_opt {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        time: &Option<SystemTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => serializer.serialize_some(&super::millis::to_ms(*time)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        Ok(Option::<u64>::deserialize(deserializer)?.map(super::millis::from_ms))
    }
}
