//! The fault switches a test flips through `/control`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How the backend misbehaves right now. The default is a healthy backend.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Switches {
    /// Share of work requests answered with 500, 0..=1; drives the
    /// error-rate rollback trigger.
    pub error_ratio: f64,
    /// Added to every work request before it answers; drives the
    /// response-time trigger.
    pub latency_ms: u64,
    /// Makes `/health` and `/health/detailed` report unhealthy with 503.
    pub health_failing: bool,
    /// Makes `/ws` answer 503 instead of upgrading.
    pub refuse_websocket: bool,
}

/// A partial update: only the fields present in the `PUT /control` body change.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SwitchesPatch {
    pub error_ratio: Option<f64>,
    pub latency_ms: Option<u64>,
    pub health_failing: Option<bool>,
    pub refuse_websocket: Option<bool>,
}

/// Why a `/control` body was refused; the message names the bad field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidPatch(pub String);

impl fmt::Display for InvalidPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidPatch {}

impl SwitchesPatch {
    /// Parses and validates a JSON body, so an invalid patch never exists.
    pub fn from_json(body: &[u8]) -> Result<Self, InvalidPatch> {
        let patch: Self = serde_json::from_slice(body).map_err(|err| {
            InvalidPatch(format!(
                "invalid control body: {err}; expected a JSON object with any of \
                 error_ratio, latency_ms, health_failing, refuse_websocket"
            ))
        })?;
        if let Some(ratio) = patch.error_ratio {
            if !(0.0..=1.0).contains(&ratio) {
                return Err(InvalidPatch(format!(
                    "error_ratio must be between 0 and 1, got {ratio}"
                )));
            }
        }
        Ok(patch)
    }

    /// Overwrites the fields this patch names and leaves the rest alone.
    pub fn apply(&self, switches: &mut Switches) {
        if let Some(ratio) = self.error_ratio {
            switches.error_ratio = ratio;
        }
        if let Some(latency) = self.latency_ms {
            switches.latency_ms = latency;
        }
        if let Some(failing) = self.health_failing {
            switches.health_failing = failing;
        }
        if let Some(refuse) = self.refuse_websocket {
            switches.refuse_websocket = refuse;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_changes_only_named_fields() {
        let mut switches = Switches {
            latency_ms: 7,
            ..Switches::default()
        };
        SwitchesPatch::from_json(br#"{"error_ratio":0.5}"#)
            .unwrap()
            .apply(&mut switches);
        assert_eq!(switches.error_ratio, 0.5);
        assert_eq!(switches.latency_ms, 7);
    }

    #[test]
    fn bad_patches_name_the_problem() {
        let out_of_range = SwitchesPatch::from_json(br#"{"error_ratio":1.5}"#).unwrap_err();
        assert!(out_of_range.0.contains("error_ratio"), "{out_of_range}");
        let unknown = SwitchesPatch::from_json(br#"{"eror_ratio":0.1}"#).unwrap_err();
        assert!(unknown.0.contains("eror_ratio"), "{unknown}");
        assert!(SwitchesPatch::from_json(br#"{"latency_ms":-1}"#).is_err());
        assert!(SwitchesPatch::from_json(b"").is_err());
    }
}
