//! The agent's configuration: what is written ([`AgentSettings`]), where it
//! is read from ([`AgentConfig::load`]: TOML file, `GREENLIGHT_` environment
//! variables, flags), and the checked result ([`AgentConfig`]), which only
//! [`AgentSettings::validate`] can make: an invalid configuration cannot exist.

mod error;
mod load;
mod settings;
mod validate;

use std::fmt;
use std::time::Duration;

use greenlight_proto::v1::Color;
use reqwest::Url;

pub use error::ConfigError;
pub use load::{ENV_PREFIX, Overrides};
pub use settings::{
    AgentSettings, ChecksSettings, DEFAULT_AGGREGATOR, HttpSettings, PostgresSettings,
    RedisSettings, TrafficSettings,
};
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) use tests::test_settings;

/// A complete, commented configuration file: every key with its default or
/// an example. `greenlight-agent --help` shows it.
pub const SAMPLE_CONFIG: &str = include_str!("sample.toml");

/// A checked configuration, ready for [`run`](crate::run).
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub(crate) aggregator: Url,
    pub(crate) deployment: String,
    pub(crate) color: Color,
    pub(crate) instance_id: String,
    pub(crate) backend_version: String,
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) buffer_reports: usize,
    pub(crate) checks: Checks,
}

impl AgentConfig {
    pub fn aggregator(&self) -> &Url {
        &self.aggregator
    }

    pub fn deployment(&self) -> &str {
        &self.deployment
    }

    pub fn color(&self) -> Color {
        self.color
    }

    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The per-probe time limit.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Names of the enabled checks, in the order they appear in reports.
    pub fn check_names(&self) -> Vec<&'static str> {
        let checks = &self.checks;
        [
            checks.postgres.as_ref().map(|_| "postgres"),
            checks.redis.as_ref().map(|_| "redis"),
            checks.http.as_ref().map(|_| "http"),
            checks.traffic.as_ref().map(|_| "traffic"),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The enabled checks, each with its target already parsed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checks {
    pub(crate) postgres: Option<PostgresCheck>,
    pub(crate) redis: Option<RedisCheck>,
    pub(crate) http: Option<Url>,
    pub(crate) traffic: Option<TrafficCheck>,
}

#[derive(Clone)]
pub(crate) struct PostgresCheck {
    /// Kept for logs only, shown without its password.
    pub(crate) url: Url,
    pub(crate) config: tokio_postgres::Config,
}

#[derive(Clone)]
pub(crate) struct RedisCheck {
    /// Kept for logs only, shown without its password.
    pub(crate) url: Url,
    pub(crate) client: redis::Client,
}

#[derive(Debug, Clone)]
pub(crate) struct TrafficCheck {
    pub(crate) url: Url,
    pub(crate) window: Duration,
    pub(crate) max_error_ratio: f64,
    pub(crate) min_requests: u64,
    pub(crate) requests_metric: String,
    pub(crate) status_label: String,
    pub(crate) duration_metric: String,
}

/// `url` without its password, for logs and errors.
pub(crate) fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        // Only fails for URLs that cannot carry a password at all.
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

impl fmt::Debug for PostgresCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresCheck")
            .field("url", &redacted(&self.url))
            .finish()
    }
}

impl fmt::Debug for RedisCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCheck")
            .field("url", &redacted(&self.url))
            .finish()
    }
}
