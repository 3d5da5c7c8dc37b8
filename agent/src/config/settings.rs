//! The agent's settings as written: the TOML file, `GREENLIGHT_` environment
//! variables and flags all deserialize into [`AgentSettings`]. Nothing here is
//! checked yet; [`AgentSettings::validate`](super::AgentSettings::validate)
//! turns it into an [`AgentConfig`](super::AgentConfig).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default aggregator address: the aggregator's gRPC port on this host.
pub const DEFAULT_AGGREGATOR: &str = "http://127.0.0.1:7070";

/// Everything the agent can be told. Build it in code (fields are public, and
/// [`Default`] fills the optional ones) or load it with
/// [`AgentConfig::load`](super::AgentConfig::load).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentSettings {
    /// gRPC address of greenlight-aggregator (`http://host:port`).
    pub aggregator: String,
    /// The service that runs as two environments, e.g. `escashop`. Required.
    pub deployment: String,
    /// Which environment this agent sits beside: `blue` or `green`. Required.
    pub color: String,
    /// The backend instance, unique within (deployment, color). `None` means
    /// this host's name, which is what one sidecar per host wants.
    pub instance_id: Option<String>,
    /// The version of the backend being watched (the guide's API_VERSION).
    pub backend_version: String,
    /// How often every probe runs and a report is sent.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// How long one probe may take; `None` means 80% of `interval`, so a hung
    /// dependency is reported before the next round starts.
    #[serde(with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// Unacknowledged reports kept for replay while the aggregator is away;
    /// the oldest are dropped (and counted) beyond this.
    pub buffer_reports: usize,
    /// Which probes run; a check is on when its table is present.
    pub checks: ChecksSettings,
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            aggregator: DEFAULT_AGGREGATOR.to_string(),
            deployment: String::new(),
            color: String::new(),
            instance_id: None,
            backend_version: String::new(),
            interval: Duration::from_secs(1),
            timeout: None,
            buffer_reports: 600,
            checks: ChecksSettings::default(),
        }
    }
}

/// The `[checks.*]` tables.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksSettings {
    pub postgres: Option<PostgresSettings>,
    pub redis: Option<RedisSettings>,
    pub http: Option<HttpSettings>,
    pub traffic: Option<TrafficSettings>,
}

/// `[checks.postgres]`: one connection kept open, `SELECT 1` per round.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSettings {
    /// `postgres://user:password@host:port/database`.
    pub url: String,
}

/// `[checks.redis]`: `PING` per round on one multiplexed connection.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://[:password@]host:port[/db]`.
    pub url: String,
}

/// `[checks.http]`: GET the backend's own health endpoint; 2xx passes.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// e.g. `http://127.0.0.1:5001/health`.
    pub url: String,
}

/// `[checks.traffic]`: error ratio and latency from the backend's Prometheus
/// `/metrics`, over a sliding window.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrafficSettings {
    /// e.g. `http://127.0.0.1:5001/metrics`. Required.
    pub url: String,
    /// How far back the error ratio looks.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Fail above this share of 5xx responses (0..1). The guide's trigger: 5%.
    pub max_error_ratio: f64,
    /// Below this many requests in the window the ratio is inconclusive and
    /// the check passes: 1 error in 3 requests is not a 33% error rate.
    pub min_requests: u64,
    /// Counter of handled requests, summed over all label sets.
    pub requests_metric: String,
    /// Label on `requests_metric` holding the HTTP status; `5xx` are errors.
    pub status_label: String,
    /// Histogram (or summary) of request durations in seconds; its `_sum` and
    /// `_count` give the mean latency.
    pub duration_metric: String,
}

impl TrafficSettings {
    /// The guide's defaults for a backend whose metrics live at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        TrafficSettings {
            url: url.into(),
            ..TrafficSettings::default()
        }
    }
}

impl Default for TrafficSettings {
    fn default() -> Self {
        TrafficSettings {
            url: String::new(),
            window: Duration::from_secs(30),
            max_error_ratio: 0.05,
            min_requests: 20,
            requests_metric: "http_requests_total".to_string(),
            status_label: "code".to_string(),
            duration_metric: "http_request_duration_seconds".to_string(),
        }
    }
}
