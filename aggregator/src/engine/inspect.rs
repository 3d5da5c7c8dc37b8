//! Reads for the status page and /metrics: each agent's latest report and
//! the thresholds the traffic rules judge by. Nothing here changes the
//! engine.

use std::time::Duration;

use greenlight_proto::v1::Report;

use super::agent::AgentKey;
use super::core::Engine;

/// The limits the rollback triggers use, for drawing them on a chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrafficThresholds {
    pub max_error_ratio: f64,
    pub max_mean_latency: Duration,
}

impl Engine {
    /// Every tracked agent of `name` with its latest report (when it sent one).
    pub fn latest_reports(&self, name: &str) -> Vec<(AgentKey, bool, Option<Report>)> {
        self.deployments
            .get(name)
            .map(|deployment| {
                deployment
                    .agents
                    .iter()
                    .map(|(key, agent)| (key.clone(), agent.connected, agent.latest.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn traffic_thresholds(&self, name: &str) -> Option<TrafficThresholds> {
        self.deployments
            .get(name)
            .map(|deployment| TrafficThresholds {
                max_error_ratio: deployment.settings.max_error_ratio,
                max_mean_latency: deployment.settings.max_mean_latency,
            })
    }
}
