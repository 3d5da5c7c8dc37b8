//! The latest verdict and saved state this publisher wrote, per
//! deployment. Redis may lose them (restarted without persistence, a key
//! deleted by hand): the refresh writes them again, and a state key found
//! missing is a gap that the history notes, because what was published
//! between the last confirmed write and now is gone with it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use greenlight_proto::time::rfc3339;

use super::state_key;

#[derive(Debug, Default)]
pub(super) struct Written {
    /// Latest verdict JSON: the key has a TTL and must outlive Redis
    /// restarts, so it is re-set on every refresh, not only refreshed.
    verdicts: BTreeMap<String, String>,
    states: BTreeMap<String, WrittenState>,
    /// Gaps found but not yet in the history, because Redis failed again
    /// before they could be written.
    unwritten_gaps: Vec<Gap>,
}

#[derive(Debug)]
struct WrittenState {
    json: String,
    /// When Redis last confirmed holding it (written, or found present).
    confirmed_at: SystemTime,
}

/// A saved state that Redis lost.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Gap {
    pub(super) deployment: String,
    pub(super) from: SystemTime,
    pub(super) to: SystemTime,
}

impl Gap {
    pub(super) fn what(&self) -> String {
        format!(
            "the saved state (key {}) and the history before {} were lost: Redis restarted \
             without persistence, or the key was deleted? The state was written again then",
            state_key(&self.deployment),
            rfc3339(self.to)
        )
    }
}

impl Written {
    pub(super) fn verdict(&mut self, deployment: &str, json: String) {
        self.verdicts.insert(deployment.to_string(), json);
    }

    /// Another aggregator leads `deployment` now: its keys are not this
    /// publisher's to write again.
    pub(super) fn forget(&mut self, deployment: &str) {
        self.verdicts.remove(deployment);
        self.states.remove(deployment);
        self.unwritten_gaps
            .retain(|gap| gap.deployment != deployment);
    }

    /// Nothing written yet, and no gap waiting to be noted: a refresh has
    /// nothing to do.
    pub(super) fn is_empty(&self) -> bool {
        self.verdicts.is_empty() && self.states.is_empty() && self.unwritten_gaps.is_empty()
    }

    /// The latest verdict JSON per deployment.
    pub(super) fn verdicts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.verdicts
            .iter()
            .map(|(name, json)| (name.as_str(), json.as_str()))
    }

    /// The latest saved state JSON per deployment.
    pub(super) fn states(&self) -> impl Iterator<Item = (&str, &str)> {
        self.states
            .iter()
            .map(|(name, state)| (name.as_str(), state.json.as_str()))
    }

    /// After a MULTI that wrote `states` went through: `existed` is Redis'
    /// answer for each. A state this publisher had written and Redis no
    /// longer held is a gap, returned (and kept until [`Written::noted`]).
    pub(super) fn confirmed(
        &mut self,
        states: Vec<(String, String)>,
        existed: &[bool],
        now: SystemTime,
    ) -> Vec<Gap> {
        let mut gaps = Vec::new();
        for ((deployment, json), existed) in states.into_iter().zip(existed) {
            if let Some(previous) = self.states.get(&deployment) {
                if !existed {
                    gaps.push(Gap {
                        deployment: deployment.clone(),
                        from: previous.confirmed_at,
                        to: now,
                    });
                }
            }
            let confirmed_at = now;
            self.states
                .insert(deployment, WrittenState { json, confirmed_at });
        }
        self.unwritten_gaps.extend(gaps.iter().cloned());
        gaps
    }

    /// The unwritten gaps went out with a reassertion or on their own.
    pub(super) fn noted(&mut self) -> Vec<Gap> {
        std::mem::take(&mut self.unwritten_gaps)
    }

    /// Gaps found and not yet in the history.
    pub(super) fn unwritten_gaps(&self) -> &[Gap] {
        &self.unwritten_gaps
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    fn state(name: &str, json: &str) -> Vec<(String, String)> {
        vec![(name.to_string(), json.to_string())]
    }

    #[test]
    fn a_first_write_is_no_gap_whatever_redis_held() {
        let mut written = Written::default();
        assert!(
            written
                .confirmed(state("shop", "{}"), &[false], at(0))
                .is_empty()
        );
        assert!(
            written
                .confirmed(state("other", "{}"), &[true], at(0))
                .is_empty()
        );
    }

    #[test]
    fn a_state_that_vanished_is_a_gap_from_its_last_confirmation() {
        let mut written = Written::default();
        written.confirmed(state("shop", "{\"epoch\":1}"), &[false], at(0));
        // Found present by a refresh: the confirmation moves on.
        written.confirmed(state("shop", "{\"epoch\":1}"), &[true], at(5));
        let gaps = written.confirmed(state("shop", "{\"epoch\":2}"), &[false], at(9));
        let expected = Gap {
            deployment: "shop".into(),
            from: at(5),
            to: at(9),
        };
        assert_eq!(gaps, std::slice::from_ref(&expected));
        assert_eq!(written.unwritten_gaps(), [expected]);
        assert!(
            gaps[0].what().contains("greenlight:{shop}:state"),
            "{}",
            gaps[0].what()
        );
        assert_eq!(written.noted().len(), 1);
        assert!(written.unwritten_gaps().is_empty());
        // Written again: the next refresh finds it.
        assert!(
            written
                .confirmed(state("shop", "{\"epoch\":2}"), &[true], at(12))
                .is_empty()
        );
    }
}
