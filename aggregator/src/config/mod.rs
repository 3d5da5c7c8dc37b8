//! The aggregator's configuration: a TOML file, overridden by
//! `GREENLIGHT_AGGREGATOR_*` environment variables, overridden by flags.
//! Validated when loaded: an invalid config cannot exist, and the error
//! names where the bad value came from (the file, the environment variable
//! or the flag), the key and the reason.
//!
//! # Layout
//! - `load`: the file, the environment and the flags merged (figment), and
//!   which of them a bad value came from.
//! - `error`: [`ConfigError`] and its [`Origin`].
//! - where and why in words (the line and column, figment's kinds without
//!   backticks): the `greenlight-config-words` crate, shared with the agent.
//! - `redis`: `[redis]`, the URL parsed once ([`RedisSettings`]).
//! - `redis_url`: the URL's forms (one server, Sentinel, Cluster), parsed.
//! - `ha`: `[ha]`, leadership through Redis leases ([`HaSettings`]).
//! - `deployment`: `[defaults]`, `[deployments.<name>]` and each
//!   deployment's `traffic_source`.
//! - `gates`: each deployment's test gates (`[[deployments.<name>.gates]]`).
//! - `hooks`: `[hooks.*]` (cutover, rollback, and one per phase) and each
//!   deployment's own (`[deployments.<name>.hooks.*]`).
//! - `limits`: `[limits]` ([`Limits`]).
//! - `http`: `[http]`, the HTTP face's address ([`HttpSettings`]).
//! - `tls`: `[tls]`, the files read once ([`TlsSettings`]).
//! - `auth`: `[auth]`, the tokens file read once ([`AuthSettings`]).
//! - `alerts`: `[alerts]` and its `[[alerts.sink]]` entries ([`AlertSettings`]).
//! - `summary`: what a config means, in words (`--check-config`).

mod alerts;
mod auth;
mod deployment;
mod error;
mod gates;
mod ha;
mod hooks;
mod http;
mod limits;
mod load;
mod redis;
mod redis_url;
mod summary;
#[cfg(test)]
mod tests;
mod tls;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

pub use self::auth::AuthSettings;
pub use self::error::{ConfigError, Origin};
pub use self::ha::HaSettings;
pub use self::http::HttpSettings;
pub use self::limits::Limits;
pub use self::load::{ENV_PREFIX, Overrides, RedisOverride};
pub use self::redis::RedisSettings;
pub use self::redis_url::{Auth, ClusterEndpoint, RedisEndpoint, SentinelEndpoint};
pub use self::tls::TlsSettings;
use crate::alerts::AlertSettings;
use crate::engine::{DeploymentSettings, validate_deployment_name};
use crate::hooks::{HookPoint, HookSettings};
use crate::traffic_source::TrafficSource;
pub use greenlight_config_words::Position;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7070";

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct AggregatorConfig {
    /// gRPC: agent streams, VerdictService, grpc.health.v1, reflection.
    pub listen: SocketAddr,
    /// TLS on `listen`; `None` serves plaintext gRPC.
    pub tls: Option<TlsSettings>,
    /// Who may call; `None`: nobody is asked for credentials.
    pub auth: Option<AuthSettings>,
    /// Where verdicts are published; `None` runs without Redis.
    pub redis: Option<RedisSettings>,
    /// `[ha]`: leaders per deployment through Redis leases; `None`, this
    /// aggregator leads every deployment it knows.
    pub ha: Option<HaSettings>,
    /// Settings for deployments not named in `deployments`.
    pub defaults: DeploymentSettings,
    pub deployments: BTreeMap<String, DeploymentSettings>,
    /// Accepted for older configs; unused (the engine says when it needs waking).
    pub tick: Duration,
    /// Commands run when a cutover or rollback is decided, or a phase
    /// entered: the defaults and each deployment's own.
    pub hooks: HookSettings,
    /// Per deployment, where to read where traffic really goes.
    pub traffic_sources: BTreeMap<String, TrafficSource>,
    /// Caps on concurrent streams, and the shutdown drain.
    pub limits: Limits,
    /// Where alerts go; no sinks: alerts are only logged and written to Redis.
    pub alerts: AlertSettings,
    /// `/health`, `/metrics`, the JSON API and the status page; `None`: off.
    pub http: Option<HttpSettings>,
    /// Whose saved states to restore from Redis at start: `None`, every
    /// deployment found there (an aggregator that owns its Redis); `Some`,
    /// only these (the demo, on a Redis that may hold real deployments it
    /// must not touch). Not a file key.
    pub restore_only: Option<BTreeSet<String>>,
}

impl AggregatorConfig {
    /// A configuration for tests and the demo: everything default.
    pub fn for_listen(listen: SocketAddr) -> Self {
        AggregatorConfig {
            listen,
            tls: None,
            auth: None,
            redis: None,
            ha: None,
            defaults: DeploymentSettings::default(),
            deployments: BTreeMap::new(),
            tick: default_tick(),
            hooks: HookSettings::default(),
            traffic_sources: BTreeMap::new(),
            limits: Limits::default(),
            alerts: AlertSettings::default(),
            http: None,
            restore_only: None,
        }
    }
}

/// The whole file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_listen")]
    listen: String,
    tls: Option<tls::RawTls>,
    auth: Option<auth::RawAuth>,
    redis: Option<redis::RawRedis>,
    ha: Option<ha::RawHa>,
    #[serde(default)]
    defaults: deployment::RawDeployment,
    #[serde(default)]
    deployments: BTreeMap<String, deployment::RawDeployment>,
    #[serde(default = "default_tick", with = "humantime_serde")]
    tick: Duration,
    #[serde(default)]
    hooks: hooks::RawHooks,
    #[serde(default)]
    limits: limits::RawLimits,
    #[serde(default)]
    alerts: alerts::RawAlerts,
    http: Option<http::RawHttp>,
}

fn default_listen() -> String {
    DEFAULT_LISTEN.into()
}

fn default_tick() -> Duration {
    Duration::from_millis(250)
}

impl RawConfig {
    /// Every section checked; an error names its key (the loader adds where
    /// the value came from).
    fn validate(self) -> Result<AggregatorConfig, ConfigError> {
        let listen: SocketAddr = self.listen.parse().map_err(|error| {
            ConfigError::key(
                "listen",
                format!(
                    "{:?} is not an address like 127.0.0.1:7070 ({error})",
                    self.listen
                ),
            )
        })?;
        if self.tick.is_zero() || self.tick > Duration::from_secs(5) {
            return Err(ConfigError::key("tick", "must be between 1ms and 5s"));
        }
        let tls = self.tls.map(tls::RawTls::validate).transpose()?;
        let auth = self
            .auth
            .map(|auth| auth.validate(tls.as_ref()))
            .transpose()?;
        let redis = self.redis.map(redis::RawRedis::validate).transpose()?;
        let ha = self
            .ha
            .map(|raw| raw.validate(redis.is_some()))
            .transpose()?;
        let http = self.http.map(|raw| raw.validate(listen)).transpose()?;
        let mut hooks = HookSettings {
            defaults: self.hooks.validate("hooks")?,
            deployments: BTreeMap::new(),
            gates: BTreeMap::new(),
        };
        // With a hook the switch is the hook's to carry out and report: the
        // engine waits for its outcome before it says where traffic is.
        // Without one an operator switches, and the decision is taken as done.
        let mut defaults = self.defaults.defaults()?;
        defaults.confirm_switch = [HookPoint::Cutover, HookPoint::Rollback]
            .iter()
            .any(|point| hooks.defaults.contains_key(point));
        let mut deployments = BTreeMap::new();
        let mut traffic_sources = BTreeMap::new();
        for (name, mut raw) in self.deployments {
            let prefix = format!("deployments.{name}");
            validate_deployment_name(&name).map_err(|reason| ConfigError::key(&prefix, reason))?;
            if let Some(own) = raw.hooks.take() {
                let own = own.validate(&format!("{prefix}.hooks"))?;
                if !own.is_empty() {
                    hooks.deployments.insert(name.clone(), own);
                }
            }
            let gates = raw
                .gates
                .take()
                .map(|raw| gates::validate(raw, &prefix))
                .transpose()?;
            let (mut settings, source) = raw.deployment(&defaults, &prefix)?;
            settings.confirm_switch = hooks.switches(&name);
            if let Some((specs, commands)) = gates {
                settings.gates = specs;
                if !commands.is_empty() {
                    hooks.gates.insert(name.clone(), commands);
                }
            }
            if let Some(source) = source {
                traffic_sources.insert(name.clone(), source);
            }
            deployments.insert(name, settings);
        }
        Ok(AggregatorConfig {
            listen,
            tls,
            auth,
            redis,
            ha,
            defaults,
            deployments,
            tick: self.tick,
            hooks,
            traffic_sources,
            limits: self.limits.validate()?,
            alerts: self.alerts.validate()?,
            http,
            restore_only: None,
        })
    }
}
