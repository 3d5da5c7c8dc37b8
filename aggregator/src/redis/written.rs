//! The latest verdict and saved state this publisher wrote, per
//! deployment. Redis may lose them (restarted without persistence, a key
//! deleted by hand): the refresh writes them again, and a state key found
//! missing is a gap that the history notes, because what was published
//! between the last confirmed write and now is gone with it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use greenlight_proto::time::rfc3339;

use super::entries::{self, Limits, Prepared};
use super::{state_key, verdict_key};

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

    /// Writes a state key and asks whether it existed before (one reply
    /// per state, in order), in the same MULTI so nothing comes between.
    pub(super) fn write_state(pipe: &mut redis::Pipeline, deployment: &str, json: &str) {
        let key = state_key(deployment);
        pipe.exists(&key);
        pipe.set(&key, json).ignore();
    }

    /// The refresh: every gap not yet noted, then every verdict and state
    /// written again. `None` when nothing was written yet.
    pub(super) fn reassertion(&self, limits: Limits) -> Option<Prepared> {
        if self.verdicts.is_empty() && self.states.is_empty() && self.unwritten_gaps.is_empty() {
            return None;
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for gap in &self.unwritten_gaps {
            let what = gap.what();
            entries::gap(
                &mut pipe,
                limits.cap,
                &gap.deployment,
                gap.from,
                gap.to,
                &what,
            );
        }
        for (name, json) in &self.verdicts {
            pipe.set_ex(verdict_key(name), json, limits.ttl_seconds)
                .ignore();
        }
        let mut states = Vec::new();
        for (name, state) in &self.states {
            Written::write_state(&mut pipe, name, &state.json);
            states.push((name.clone(), state.json.clone()));
        }
        Some(Prepared { pipe, states })
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
            gaps[0].what().contains("greenlight:shop:state"),
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

    #[test]
    fn the_reassertion_carries_the_latest_of_each() {
        let limits = Limits {
            ttl_seconds: 15,
            cap: redis::streams::StreamMaxlen::Approx(100),
        };
        let mut written = Written::default();
        assert!(written.reassertion(limits).is_none(), "nothing written yet");
        written.verdict("shop", "{\"epoch\":1}".into());
        written.confirmed(state("shop", "{\"epoch\":1}"), &[false], at(0));
        written.confirmed(state("shop", "{\"epoch\":2}"), &[true], at(1));
        let prepared = written.reassertion(limits).expect("something to re-assert");
        assert_eq!(prepared.states, state("shop", "{\"epoch\":2}"));
    }
}
