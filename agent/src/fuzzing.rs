//! The agent's parsers of what a backend says, opened up for the fuzz
//! targets (`fuzz/`) and their replay test (`fuzz-harness/`): only with
//! the `fuzzing` feature. Each runs the code the probes run, without the
//! sockets.

use std::time::Duration;

use greenlight_proto::v1::{CheckResult, Hello, TrafficCounters};
use tokio::time::Instant;

use crate::AgentConfig;
use crate::config::{AgentSettings, CheckTarget, ChecksSettings, TrafficSettings};
use crate::probe::{ActiveConnections, AggregatorMinRequests, TrafficProbe};

/// The Hello an agent with `config` opens its stream with.
pub fn hello(config: &AgentConfig) -> Hello {
    crate::hello(config)
}

/// The `http` check's results for a backend that answered `status` with
/// `health` on `/health` and, when given, `detailed` on `/health/detailed`.
pub fn health_results(status: u16, health: &[u8], detailed: Option<&[u8]>) -> Vec<CheckResult> {
    crate::probe::health_results_for_bodies(status, health, detailed)
}

/// The `traffic` check with the guide's defaults, fed pages of Prometheus
/// text one scrape at a time.
pub struct TrafficIntake {
    probe: TrafficProbe,
    start: Instant,
}

impl Default for TrafficIntake {
    fn default() -> Self {
        let settings = AgentSettings {
            deployment: "fuzz".into(),
            color: "green".into(),
            instance_id: Some("green-1".into()),
            checks: ChecksSettings {
                traffic: Some(TrafficSettings::new("http://127.0.0.1:9/metrics")),
                ..Default::default()
            },
            ..Default::default()
        };
        let config = settings
            .validate()
            .expect("the guide's traffic check is valid");
        let Some(CheckTarget::Traffic(check)) = config.checks.into_iter().map(|c| c.target).next()
        else {
            unreachable!("the only check configured is traffic");
        };
        TrafficIntake {
            probe: TrafficProbe::new(
                check,
                ActiveConnections::new(),
                AggregatorMinRequests::new(),
            ),
            start: Instant::now(),
        }
    }
}

impl TrafficIntake {
    /// The result and the report's counters for `page`, scraped `at` after
    /// the first scrape (the window is the guide's 30 s).
    pub fn scrape(&mut self, page: &str, at: Duration) -> (CheckResult, TrafficCounters) {
        let at = self.start + at;
        let mut observation = self.probe.read_page(page, at, at);
        let counters = observation.counters.take().unwrap_or_default();
        (observation.results.remove(0), counters)
    }
}
