//! The agent's settings as written: the TOML file, `GREENLIGHT_` environment
//! variables and flags all deserialize into [`AgentSettings`]. Nothing here is
//! checked yet; [`AgentSettings::validate`](super::AgentSettings::validate)
//! turns it into an [`AgentConfig`](super::AgentConfig).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::check_settings::HttpTable;
pub use super::check_settings::{
    HttpOptions, HttpSettings, PostgresSettings, ProcessSettings, RedisSettings, TrafficSettings,
    TrafficSource, WebsocketSettings,
};
pub use super::stream_tls::TlsSettings;

/// Default aggregator address: the aggregator's gRPC port on this host.
pub const DEFAULT_AGGREGATOR: &str = "http://127.0.0.1:7070";

/// Everything the agent can be told. Build it in code (fields are public, and
/// [`Default`] fills the optional ones) or load it with
/// [`AgentConfig::load`](super::AgentConfig::load).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentSettings {
    /// gRPC address of greenlight-aggregator: `http://host:port`
    /// (plaintext) or `https://host:port` (TLS, see `tls`). Several,
    /// separated by commas (in a file also an array), when aggregators run
    /// side by side: every report goes to each.
    #[serde(deserialize_with = "super::aggregators::one_or_many")]
    pub aggregator: String,
    /// TLS of the stream to an `https://` aggregator: its CA, and this
    /// agent's certificate and key for mutual TLS.
    pub tls: TlsSettings,
    /// A file holding this agent's bearer token, for an aggregator with
    /// `[auth]` that knows agents by token. Read again at every reconnect,
    /// so a rotated token is picked up without a restart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
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
    /// Where the agent serves its own `/health` and `/metrics`
    /// (`host:port`); `None` serves nothing.
    pub listen: Option<String>,
    /// Which probes run; a check is on when its table is present.
    pub checks: ChecksSettings,
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            aggregator: DEFAULT_AGGREGATOR.to_string(),
            tls: TlsSettings::default(),
            token_file: None,
            deployment: String::new(),
            color: String::new(),
            instance_id: None,
            backend_version: String::new(),
            interval: Duration::from_secs(1),
            timeout: None,
            buffer_reports: 600,
            listen: None,
            checks: ChecksSettings::default(),
        }
    }
}

/// The `[checks.*]` tables: a check is on when its table is present (and
/// does not say `enabled = false`).
///
/// `[checks.http]` is split in two here: [`HttpSettings`] holds its URL and
/// [`HttpOptions`] everything else, so that code which only names the URL
/// (`HttpSettings { url }`, as the demo writes it) keeps compiling. In a
/// file it is one table; [`ChecksTables`] is that shape.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(from = "ChecksTables", into = "ChecksTables")]
pub struct ChecksSettings {
    pub postgres: Option<PostgresSettings>,
    pub redis: Option<RedisSettings>,
    pub http: Option<HttpSettings>,
    /// The rest of `[checks.http]`; ignored without `http`.
    pub http_options: HttpOptions,
    pub traffic: Option<TrafficSettings>,
    pub websocket: Option<WebsocketSettings>,
    pub process: Option<ProcessSettings>,
}

/// `[checks.*]` as a file writes them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ChecksTables {
    #[serde(skip_serializing_if = "Option::is_none")]
    postgres: Option<PostgresSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<RedisSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<HttpTable>,
    #[serde(skip_serializing_if = "Option::is_none")]
    traffic: Option<TrafficSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    websocket: Option<WebsocketSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    process: Option<ProcessSettings>,
}

impl From<ChecksTables> for ChecksSettings {
    fn from(tables: ChecksTables) -> Self {
        let (http, http_options) = match tables.http {
            Some(table) => {
                let (settings, options) = table.split();
                (Some(settings), options)
            }
            None => (None, HttpOptions::default()),
        };
        ChecksSettings {
            postgres: tables.postgres,
            redis: tables.redis,
            http,
            http_options,
            traffic: tables.traffic,
            websocket: tables.websocket,
            process: tables.process,
        }
    }
}

impl From<ChecksSettings> for ChecksTables {
    fn from(settings: ChecksSettings) -> Self {
        ChecksTables {
            postgres: settings.postgres,
            redis: settings.redis,
            http: settings
                .http
                .map(|http| HttpTable::join(http, settings.http_options)),
            traffic: settings.traffic,
            websocket: settings.websocket,
            process: settings.process,
        }
    }
}
