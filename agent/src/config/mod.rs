//! The agent's configuration: what is written ([`AgentSettings`]), where it
//! is read from ([`AgentConfig::load`]: TOML file, `GREENLIGHT_` environment
//! variables, flags), and the checked result ([`AgentConfig`]), which only
//! [`AgentSettings::validate`] can make: an invalid configuration cannot exist.
//! A refusal names where the value came from (the file and the line it is
//! on, the environment variable, the flag), the key and the reason.

mod aggregators;
mod check_settings;
mod error;
mod load;
mod schema_needs;
mod settings;
mod stream_tls;
mod url_setting;
mod validate;
mod validate_checks;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use greenlight_proto::v1::Color;
use url::Url;

pub use error::ConfigError;
pub use greenlight_config_words::Position;
pub use load::{ENV_PREFIX, Overrides};
pub use schema_needs::SchemaSettings;
pub(crate) use schema_needs::{QualifiedName, SchemaNeeds};
pub use settings::{
    AgentSettings, ChecksSettings, DEFAULT_AGGREGATOR, HttpOptions, HttpSettings, PostgresSettings,
    ProcessSettings, RedisSettings, TlsSettings, TrafficSettings, TrafficSource, WebsocketSettings,
};
pub(crate) use stream_tls::AggregatorTls;
#[cfg(test)]
mod aggregator_tests;
#[cfg(test)]
mod check_tests;
#[cfg(test)]
mod load_tests;
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
    /// Every aggregator a report goes to, in the order written: at least
    /// one, each once, all of one scheme.
    pub(crate) aggregators: Vec<Url>,
    /// `Some` exactly when the aggregators are `https://`.
    pub(crate) aggregator_tls: Option<AggregatorTls>,
    /// Its bearer token's file, checked readable; read at each connect.
    pub(crate) token_file: Option<std::path::PathBuf>,
    pub(crate) deployment: String,
    pub(crate) color: Color,
    pub(crate) instance_id: String,
    pub(crate) backend_version: String,
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) buffer_reports: usize,
    /// Where `/health` and `/metrics` are served, if anywhere.
    pub(crate) listen: Option<SocketAddr>,
    /// The enabled checks, in report order.
    pub(crate) checks: Vec<CheckConfig>,
}

impl AgentConfig {
    /// Every aggregator reports go to (at least one).
    pub fn aggregators(&self) -> &[Url] {
        &self.aggregators
    }

    /// The aggregators as the streams address them (`scheme://host:port`).
    pub(crate) fn aggregator_addresses(&self) -> Vec<String> {
        self.aggregators
            .iter()
            .map(|url| url.origin().ascii_serialization())
            .collect()
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

    /// The per-probe time limit of checks that do not set their own.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Where the agent serves `/health` and `/metrics`, if anywhere.
    pub fn listen(&self) -> Option<SocketAddr> {
        self.listen
    }

    /// Names of the enabled checks, in the order they appear in reports.
    pub fn check_names(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .map(|check| check.target.name())
            .collect()
    }

    /// What this configuration means, a line per part, for
    /// `--check-config`.
    pub fn summary(&self) -> String {
        let duration = |d: Duration| humantime::format_duration(d).to_string();
        let mut lines = vec![
            format!(
                "agent {} of {} {}, reporting to {} every {} (buffer {} reports)",
                self.instance_id,
                self.deployment,
                greenlight_proto::names::color_name(self.color),
                self.aggregator_addresses().join(", "),
                duration(self.interval),
                self.buffer_reports
            ),
            match (&self.aggregator_tls, self.aggregators.len()) {
                (Some(tls), 1) => format!("stream to the aggregator: {}", tls.describe()),
                (None, 1) => "stream to the aggregator: plaintext (http://)".to_string(),
                (Some(tls), n) => format!(
                    "{n} streams, one per aggregator, each with its own buffer: {}",
                    tls.describe()
                ),
                (None, n) => format!(
                    "{n} streams, one per aggregator, each with its own buffer: plaintext (http://)"
                ),
            },
            match self.listen {
                Some(address) => format!("/health and /metrics on http://{address}"),
                None => "no /health or /metrics (no listen address)".to_string(),
            },
        ];
        for check in &self.checks {
            lines.push(format!(
                "check {}: every {}, timeout {}",
                check.target.name(),
                duration(check.schedule.interval),
                duration(check.schedule.timeout)
            ));
        }
        lines.join("\n")
    }

    /// The enabled check called `name`.
    #[cfg(test)]
    pub(crate) fn check(&self, name: &str) -> Option<&CheckConfig> {
        self.checks.iter().find(|check| check.target.name() == name)
    }
}

/// One enabled check: what it looks at and when.
#[derive(Debug, Clone)]
pub(crate) struct CheckConfig {
    pub(crate) schedule: Schedule,
    pub(crate) target: CheckTarget,
}

/// When a check runs: every `interval`, each run bounded by `timeout`
/// (never longer than `interval`, so runs do not pile up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
}

/// What a check looks at, already parsed.
#[derive(Debug, Clone)]
pub(crate) enum CheckTarget {
    Postgres(PostgresCheck),
    Redis(RedisCheck),
    Http(HttpCheck),
    Traffic(TrafficCheck),
    Websocket(Url),
    Process(ProcessCheck),
}

impl CheckTarget {
    /// The check's name in reports, logs and metrics.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            CheckTarget::Postgres(_) => "postgres",
            CheckTarget::Redis(_) => "redis",
            CheckTarget::Http(_) => "http",
            CheckTarget::Traffic(_) => "traffic",
            CheckTarget::Websocket(_) => "websocket",
            CheckTarget::Process(_) => "process",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct HttpCheck {
    pub(crate) url: Url,
    pub(crate) detailed_url: Option<Url>,
}

#[derive(Debug, Clone)]
pub(crate) struct ProcessCheck {
    pub(crate) locator: ProcessLocator,
    pub(crate) max_cpu_ratio: Option<f64>,
    pub(crate) max_resident_memory_bytes: Option<u64>,
}

/// How the backend process is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProcessLocator {
    PidFile(PathBuf),
    Name(String),
    /// The process that owns the socket listening on this TCP port.
    Port(u16),
}

#[derive(Clone)]
pub(crate) struct PostgresCheck {
    /// Kept for logs only, shown without its password.
    pub(crate) url: Url,
    pub(crate) config: tokio_postgres::Config,
    /// What this color's code needs from the database; `None`: not checked.
    pub(crate) schema: Option<SchemaNeeds>,
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
    pub(crate) source: TrafficSource,
    pub(crate) requests_metric: String,
    pub(crate) status_label: String,
    pub(crate) duration_metric: String,
    pub(crate) error_rate_metric: String,
    pub(crate) websocket_metric: String,
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
