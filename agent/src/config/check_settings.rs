//! The `[checks.*]` tables as written. Every table may also say when its
//! check runs (`interval`, `timeout`) and switch it off (`enabled = false`);
//! unset, they are the agent's. Nothing here is checked yet.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When one check runs, as its table says; `None` means the agent's value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct ScheduleSettings {
    pub(crate) interval: Option<Duration>,
    pub(crate) timeout: Option<Duration>,
    /// `None` means on.
    pub(crate) enabled: Option<bool>,
}

/// Every check table has the same three scheduling keys; serde cannot
/// flatten them into a table that refuses unknown keys, so each table
/// declares them and this reads them.
macro_rules! schedule_keys {
    ($($table:ty),*) => {$(
        impl $table {
            pub(crate) fn schedule(&self) -> ScheduleSettings {
                ScheduleSettings {
                    interval: self.interval,
                    timeout: self.timeout,
                    enabled: self.enabled,
                }
            }
        }
    )*};
}

schedule_keys!(
    PostgresSettings,
    RedisSettings,
    HttpOptions,
    TrafficSettings,
    WebsocketSettings,
    ProcessSettings
);

/// `[checks.postgres]`: one connection kept open; per round a `SELECT 1`
/// round trip and the server's connections in use against
/// `max_connections`; optionally the schema this color needs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSettings {
    /// `postgres://user:password@host:port/database[?sslmode=disable|prefer|require]`.
    pub url: String,
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub interval: Option<Duration>,
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `[checks.postgres.schema]`: what this color's code needs from the
    /// database, checked against the live catalogs (the `postgres/schema`
    /// component). Unset: no schema check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<super::schema_needs::SchemaSettings>,
}

/// `[checks.redis]`: `PING` and `INFO` per round on one multiplexed
/// connection.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://[[user]:password@]host:port[/db]`, or `rediss://` for TLS.
    pub url: String,
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub interval: Option<Duration>,
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `[checks.http]`'s URL: GET the backend's own health endpoint.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// e.g. `http://127.0.0.1:5001/health`.
    pub url: String,
}

/// The rest of `[checks.http]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpOptions {
    /// Also GET this (the guide's `/health/detailed`) each round; its
    /// components then replace those of `url`'s body.
    pub detailed_url: Option<String>,
    /// How often the check runs; `None` is the agent's interval.
    pub interval: Option<Duration>,
    /// How long one run may take; `None` is the agent's timeout.
    pub timeout: Option<Duration>,
    /// `Some(false)` switches the check off with its table in place.
    pub enabled: Option<bool>,
}

/// `[checks.http]` as a file writes it: one table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HttpTable {
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detailed_url: Option<String>,
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    interval: Option<Duration>,
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
}

impl HttpTable {
    pub(super) fn split(self) -> (HttpSettings, HttpOptions) {
        (
            HttpSettings { url: self.url },
            HttpOptions {
                detailed_url: self.detailed_url,
                interval: self.interval,
                timeout: self.timeout,
                enabled: self.enabled,
            },
        )
    }

    pub(super) fn join(settings: HttpSettings, options: HttpOptions) -> Self {
        HttpTable {
            url: settings.url,
            detailed_url: options.detailed_url,
            interval: options.interval,
            timeout: options.timeout,
            enabled: options.enabled,
        }
    }
}

/// Where the traffic check reads the error ratio.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrafficSource {
    /// The requests counter when the backend exposes it, else the gauge.
    #[default]
    Auto,
    /// Only the requests counter (and the duration histogram).
    Counters,
    /// Only the `error_rate_metric` gauge, as the guide's monitor script.
    Gauge,
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
    /// Below this many requests in the window the check is inconclusive
    /// (`warn` on `/health`), neither pass nor fail: 1 error in 3 requests
    /// is not a 33% error rate. An aggregator that says its own minimum
    /// (in its Welcome) overrides this, so that agent and verdict agree;
    /// the default is the aggregator's.
    pub min_requests: u64,
    /// Which metric the error ratio comes from.
    pub source: TrafficSource,
    /// Counter of handled requests, summed over all label sets.
    pub requests_metric: String,
    /// Label on `requests_metric` holding the HTTP status; `5xx` are errors.
    pub status_label: String,
    /// Histogram (or summary) of request durations in seconds; its `_sum` and
    /// `_count` give the mean latency, its buckets p95 and p99.
    pub duration_metric: String,
    /// A gauge holding the error ratio itself (0..1), as the guide's
    /// `monitor-deployment.sh` reads it.
    pub error_rate_metric: String,
    /// A gauge of open WebSocket connections, passed on in reports.
    pub websocket_metric: String,
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
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
            min_requests: 50,
            source: TrafficSource::Auto,
            requests_metric: "http_requests_total".to_string(),
            status_label: "code".to_string(),
            duration_metric: "http_request_duration_seconds".to_string(),
            error_rate_metric: "error_rate".to_string(),
            websocket_metric: "websocket_connections".to_string(),
            interval: None,
            timeout: None,
            enabled: None,
        }
    }
}

/// `[checks.websocket]`: per round a fresh handshake (can new clients
/// connect?) and a ping/pong round trip.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebsocketSettings {
    /// e.g. `ws://127.0.0.1:5001/ws`.
    pub url: String,
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub interval: Option<Duration>,
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `[checks.process]`: the backend process's CPU and resident memory, and
/// the host's load and available memory. Exactly one of `pid_file`, `name`
/// and `port` says which process.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSettings {
    /// A file holding the backend's pid, e.g. `/run/escashop.pid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_file: Option<PathBuf>,
    /// The backend's process name, e.g. `node` (the first match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The TCP port the backend listens on, e.g. `5001`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Fail above this CPU use, as a share of one core (1.5 = one and a half).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cpu_ratio: Option<f64>,
    /// Fail above this resident memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_resident_memory_bytes: Option<u64>,
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub interval: Option<Duration>,
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}
