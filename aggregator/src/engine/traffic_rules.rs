//! The traffic rules' memory: one sample per candidate report while baking,
//! pushed into each rule's hysteresis, and the old side's baseline captured
//! at cutover.

use std::collections::BTreeMap;
use std::time::SystemTime;

use greenlight_proto::v1::Color;
use serde::{Deserialize, Serialize};

use super::agent::{AgentKey, AgentState};
use super::hysteresis::SampleHistory;
use super::settings::DeploymentSettings;
use super::stats::{Proportion, is_regression, z_increase};
use super::traffic::Counters;

/// The old side's error ratio before cutover.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub requests: u64,
    pub errors: u64,
    pub mean_latency_seconds: f64,
}

impl Baseline {
    pub fn ratio(&self) -> f64 {
        self.proportion().ratio()
    }

    fn proportion(&self) -> Proportion {
        Proportion {
            errors: self.errors,
            requests: self.requests,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct TrafficRules {
    pub error_ratio: SampleHistory,
    pub latency: SampleHistory,
    pub baseline_regression: SampleHistory,
    pub baseline: Option<Baseline>,
}

impl TrafficRules {
    /// Sum of the window of every fresh agent of `color`.
    pub fn candidate_window(
        &self,
        settings: &DeploymentSettings,
        agents: &BTreeMap<AgentKey, AgentState>,
        color: Color,
        now: SystemTime,
    ) -> Counters {
        let mut total = Counters::default();
        for (_, agent) in agents.iter().filter(|(key, _)| key.color == color) {
            if agent.is_fresh(now, settings.stale_after_intervals) {
                total.add(&agent.traffic.delta());
            }
        }
        total
    }

    /// Starts a bake: fresh hysteresis, and the old side's window as the
    /// baseline when it has enough requests to compare against.
    pub fn start_bake(
        &mut self,
        settings: &DeploymentSettings,
        agents: &BTreeMap<AgentKey, AgentState>,
        stable: Color,
        now: SystemTime,
    ) {
        let window = self.candidate_window(settings, agents, stable, now);
        self.error_ratio.clear();
        self.latency.clear();
        self.baseline_regression.clear();
        self.baseline = (window.requests >= settings.min_requests).then(|| Baseline {
            requests: window.requests,
            errors: window.errors,
            mean_latency_seconds: window.mean_latency_seconds(),
        });
    }

    /// One sample of every rule: a breach needs the window over the limit
    /// (enough evidence) and the newest report's increment over it too (the
    /// fault is still going on), so a single burst, which stays in the
    /// window for its whole length, counts once and not for a minute. Too
    /// little traffic is no breach: no traffic is not failure.
    pub fn sample(&mut self, settings: &DeploymentSettings, window: &Counters, newest: &Counters) {
        if window.requests < settings.min_requests || newest.requests == 0 {
            self.error_ratio.push(false);
            self.latency.push(false);
            self.baseline_regression.push(false);
            return;
        }
        let max_ratio = settings.max_error_ratio;
        self.error_ratio
            .push(window.error_ratio() > max_ratio && newest.error_ratio() > max_ratio);
        let max_latency = settings.max_mean_latency.as_secs_f64();
        self.latency.push(
            window.mean_latency_seconds() > max_latency
                && newest.mean_latency_seconds() > max_latency,
        );
        let regression = settings.baseline.enabled
            && self.baseline.is_some_and(|baseline| {
                newest.error_ratio() >= baseline.ratio() + settings.baseline.min_increase
                    && is_regression(
                        baseline.proportion(),
                        proportion(window),
                        settings.baseline.z_critical,
                        settings.baseline.min_increase,
                    )
            });
        self.baseline_regression.push(regression);
    }

    pub fn z_against_baseline(&self, window: &Counters) -> Option<f64> {
        z_increase(self.baseline?.proportion(), proportion(window))
    }
}

fn proportion(window: &Counters) -> Proportion {
    Proportion {
        errors: window.errors,
        requests: window.requests,
    }
}
