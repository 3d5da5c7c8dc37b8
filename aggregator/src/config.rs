//! The aggregator's configuration: a TOML file, overridden by
//! `GREENLIGHT_AGGREGATOR_*` environment variables, overridden by flags.
//! Validated when loaded: an invalid config cannot exist, and the error
//! names the file, the key and the reason.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use greenlight_proto::names::parse_color;
use serde::{Deserialize, Serialize};

use crate::engine::{DeploymentSettings, validate_deployment_name};
use crate::hooks::{HookCommand, HookSettings, PLACEHOLDERS};
use crate::traffic_source::TrafficSource;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7070";
const ENV_PREFIX: &str = "GREENLIGHT_AGGREGATOR_";

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct AggregatorConfig {
    /// gRPC: agent streams, VerdictService, grpc.health.v1, reflection.
    pub listen: SocketAddr,
    /// Where verdicts are published; `None` runs without Redis.
    pub redis: Option<RedisSettings>,
    /// Settings for deployments not named in `deployments`.
    pub defaults: DeploymentSettings,
    pub deployments: BTreeMap<String, DeploymentSettings>,
    /// How often time-driven rules (staleness, windows) are re-evaluated.
    pub tick: Duration,
    /// Commands run when a cutover or rollback is decided.
    pub hooks: HookSettings,
    /// Per deployment, where to read where traffic really goes.
    pub traffic_sources: BTreeMap<String, TrafficSource>,
}

#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: String,
    /// TTL of `greenlight:<deployment>:verdict`, refreshed while we live.
    pub verdict_ttl: Duration,
    /// Cap of `greenlight:<deployment>:history` (approximate, MAXLEN ~).
    pub history_max_len: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("{origin}: key {key:?}: {reason}")]
pub struct ConfigError {
    /// The file, "environment" or "flags".
    pub origin: String,
    pub key: String,
    pub reason: String,
}

/// Flags that override the file and environment.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisOverride>,
}

#[derive(Debug, Serialize)]
pub struct RedisOverride {
    pub url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_listen")]
    listen: String,
    redis: Option<RawRedis>,
    #[serde(default)]
    defaults: RawDeployment,
    #[serde(default)]
    deployments: BTreeMap<String, RawDeployment>,
    #[serde(default = "default_tick", with = "humantime_serde")]
    tick: Duration,
    #[serde(default)]
    hooks: RawHooks,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHooks {
    cutover: Option<RawHook>,
    rollback: Option<RawHook>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHook {
    /// argv: the program, then its arguments; placeholders allowed.
    command: Vec<String>,
    #[serde(default = "default_hook_timeout", with = "humantime_serde")]
    timeout: Duration,
    #[serde(default = "default_hook_retries")]
    retries: u32,
    #[serde(default = "default_hook_backoff", with = "humantime_serde")]
    backoff: Duration,
}

fn default_hook_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_hook_retries() -> u32 {
    2
}
fn default_hook_backoff() -> Duration {
    Duration::from_secs(1)
}

impl RawHook {
    fn validate(self, key: &str) -> Result<HookCommand, (String, String)> {
        let Some(program) = self.command.first() else {
            return Err((
                format!("{key}.command"),
                "must name a program, e.g. [\"deploy/switch-traffic\", \"{direction}\"]".into(),
            ));
        };
        if program.trim().is_empty() {
            return Err((format!("{key}.command"), "the program is empty".into()));
        }
        for arg in &self.command {
            let mut rest = arg.as_str();
            while let Some(open) = rest.find('{') {
                let Some(close) = rest[open..].find('}') else {
                    break;
                };
                let word = &rest[open..open + close + 1];
                if !PLACEHOLDERS.contains(&word) {
                    return Err((
                        format!("{key}.command"),
                        format!(
                            "unknown placeholder {word} in {arg:?}; known: {}",
                            PLACEHOLDERS.join(", ")
                        ),
                    ));
                }
                rest = &rest[open + close + 1..];
            }
        }
        if self.timeout.is_zero() {
            return Err((format!("{key}.timeout"), "must be more than 0s".into()));
        }
        if self.retries > 10 {
            return Err((
                format!("{key}.retries"),
                format!("{} is too many; at most 10", self.retries),
            ));
        }
        Ok(HookCommand {
            argv: self.command,
            timeout: self.timeout,
            retries: self.retries,
            backoff: self.backoff,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedis {
    url: String,
    #[serde(default = "default_ttl", with = "humantime_serde")]
    verdict_ttl: Duration,
    #[serde(default = "default_history")]
    history_max_len: u64,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeployment {
    live: Option<String>,
    #[serde(default, with = "humantime_serde")]
    ready_after: Option<Duration>,
    stale_after_intervals: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    forget_after: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    bake_for: Option<Duration>,
    auto_cutover: Option<bool>,
    dry_run: Option<bool>,
    #[serde(default, with = "humantime_serde")]
    health_failure_for: Option<Duration>,
    max_error_ratio: Option<f64>,
    #[serde(default, with = "humantime_serde")]
    max_mean_latency: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    traffic_window: Option<Duration>,
    min_requests: Option<u64>,
    database_lost_samples: Option<u32>,
    rollback_on_missing_data: Option<bool>,
    #[serde(default, with = "humantime_serde")]
    restore_grace: Option<Duration>,
    hysteresis: Option<RawHysteresis>,
    baseline: Option<RawBaseline>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHysteresis {
    consecutive: Option<u32>,
    k: Option<u32>,
    n: Option<u32>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    enabled: Option<bool>,
    z_critical: Option<f64>,
    min_increase: Option<f64>,
}

fn default_listen() -> String {
    DEFAULT_LISTEN.into()
}
fn default_tick() -> Duration {
    Duration::from_millis(250)
}
fn default_ttl() -> Duration {
    Duration::from_secs(15)
}
fn default_history() -> u64 {
    10_000
}

impl AggregatorConfig {
    /// Loads `file` (if any), then the environment, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Self, ConfigError> {
        let origin = file
            .map(|path| path.display().to_string())
            .unwrap_or_else(|| "environment".into());
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError {
                    origin,
                    key: String::new(),
                    reason: "no such file (give the path of a TOML config)".into(),
                });
            }
            figment = figment.merge(Toml::file_exact(PathBuf::from(path)));
        }
        let raw: RawConfig = figment
            .merge(Env::prefixed(ENV_PREFIX).split("__"))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|error| from_figment(error, &origin))?;
        raw.validate(&origin)
    }

    /// A configuration for tests and the demo: everything default.
    pub fn for_listen(listen: SocketAddr) -> Self {
        AggregatorConfig {
            listen,
            redis: None,
            defaults: DeploymentSettings::default(),
            deployments: BTreeMap::new(),
            tick: default_tick(),
            hooks: HookSettings::default(),
            traffic_sources: BTreeMap::new(),
        }
    }
}

impl AggregatorConfig {
    /// What the config means, in words, for `--check-config`.
    pub fn summary(&self) -> String {
        let describe = |settings: &DeploymentSettings| {
            format!(
                "live {}, ready after {:?}, bake for {:?}, auto_cutover {}, dry_run {}, \
                 rollback on: health failing > {:?}, error ratio > {} or mean latency > {:?} \
                 over {:?} (min {} requests), postgres lost in {} reports, baseline {}",
                greenlight_proto::names::color_name(settings.live),
                settings.ready_after,
                settings.bake_for,
                settings.auto_cutover,
                settings.dry_run,
                settings.health_failure_for,
                settings.max_error_ratio,
                settings.max_mean_latency,
                settings.traffic_window,
                settings.min_requests,
                settings.database_lost_samples,
                if settings.baseline.enabled {
                    "on"
                } else {
                    "off"
                },
            )
        };
        let mut lines = vec![format!("listen: {} (gRPC)", self.listen)];
        lines.push(match &self.redis {
            Some(redis) => format!(
                "redis: {} (verdict TTL {:?}, history capped at {})",
                redis.url, redis.verdict_ttl, redis.history_max_len
            ),
            None => "redis: none (verdicts over gRPC only)".into(),
        });
        lines.push(format!("defaults: {}", describe(&self.defaults)));
        for (name, settings) in &self.deployments {
            lines.push(format!("deployment {name}: {}", describe(settings)));
        }
        for (action, hook) in [
            ("cutover", &self.hooks.cutover),
            ("rollback", &self.hooks.rollback),
        ] {
            lines.push(match hook {
                Some(hook) => format!(
                    "{action} hook: {:?} (timeout {:?}, {} retries)",
                    hook.argv, hook.timeout, hook.retries
                ),
                None => format!("{action} hook: none (switch traffic yourself)"),
            });
        }
        lines.join("\n")
    }
}

fn from_figment(error: figment::Error, origin: &str) -> ConfigError {
    let source = match error.metadata.as_ref().and_then(|m| m.source.as_ref()) {
        Some(figment::Source::File(path)) => path.display().to_string(),
        Some(other) => other.to_string(),
        None => error
            .metadata
            .as_ref()
            .map(|m| m.name.to_string())
            .unwrap_or_else(|| origin.to_string()),
    };
    ConfigError {
        origin: source,
        key: error.path.join("."),
        reason: error.kind.to_string(),
    }
}

impl RawConfig {
    fn validate(self, origin: &str) -> Result<AggregatorConfig, ConfigError> {
        let fail = |key: &str, reason: String| ConfigError {
            origin: origin.to_string(),
            key: key.to_string(),
            reason,
        };
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            fail(
                "listen",
                format!("{:?} is not an address like 127.0.0.1:7070", self.listen),
            )
        })?;
        if self.tick.is_zero() || self.tick > Duration::from_secs(5) {
            return Err(fail("tick", "must be between 1ms and 5s".into()));
        }
        let redis = self
            .redis
            .map(|redis| {
                if !(redis.url.starts_with("redis://") || redis.url.starts_with("rediss://")) {
                    return Err(fail(
                        "redis.url",
                        format!("{:?} must start with redis:// or rediss://", redis.url),
                    ));
                }
                if redis.verdict_ttl < Duration::from_secs(1) {
                    return Err(fail("redis.verdict_ttl", "must be at least 1s".into()));
                }
                if redis.history_max_len == 0 {
                    return Err(fail("redis.history_max_len", "must be at least 1".into()));
                }
                Ok(RedisSettings {
                    url: redis.url,
                    verdict_ttl: redis.verdict_ttl,
                    history_max_len: redis.history_max_len,
                })
            })
            .transpose()?;
        let defaults = self
            .defaults
            .apply(DeploymentSettings::default(), "defaults")
            .map_err(|(key, reason)| fail(&key, reason))?;
        let mut deployments = BTreeMap::new();
        for (name, raw) in self.deployments {
            let prefix = format!("deployments.{name}");
            validate_deployment_name(&name).map_err(|reason| fail(&prefix, reason))?;
            let settings = raw
                .apply(defaults.clone(), &prefix)
                .map_err(|(key, reason)| fail(&key, reason))?;
            deployments.insert(name, settings);
        }
        let hooks = HookSettings {
            cutover: self
                .hooks
                .cutover
                .map(|hook| hook.validate("hooks.cutover"))
                .transpose()
                .map_err(|(key, reason)| fail(&key, reason))?,
            rollback: self
                .hooks
                .rollback
                .map(|hook| hook.validate("hooks.rollback"))
                .transpose()
                .map_err(|(key, reason)| fail(&key, reason))?,
        };
        Ok(AggregatorConfig {
            listen,
            redis,
            defaults,
            deployments,
            tick: self.tick,
            hooks,
            traffic_sources: BTreeMap::new(),
        })
    }
}

impl RawDeployment {
    fn apply(
        self,
        mut settings: DeploymentSettings,
        prefix: &str,
    ) -> Result<DeploymentSettings, (String, String)> {
        let key = |name: &str| format!("{prefix}.{name}");
        if let Some(live) = self.live {
            settings.live = parse_color(&live).ok_or_else(|| {
                (
                    key("live"),
                    format!("{live:?} is not a color; use blue or green"),
                )
            })?;
        }
        if let Some(ready_after) = self.ready_after {
            settings.ready_after = ready_after;
        }
        if let Some(intervals) = self.stale_after_intervals {
            if intervals == 0 {
                return Err((key("stale_after_intervals"), "must be at least 1".into()));
            }
            settings.stale_after_intervals = intervals;
        }
        let positive = |name: &str, value: Option<Duration>, into: &mut Duration| match value {
            Some(value) if value.is_zero() => Err((key(name), "must be more than 0s".to_string())),
            Some(value) => {
                *into = value;
                Ok(())
            }
            None => Ok(()),
        };
        positive(
            "forget_after",
            self.forget_after,
            &mut settings.forget_after,
        )?;
        positive("bake_for", self.bake_for, &mut settings.bake_for)?;
        positive(
            "health_failure_for",
            self.health_failure_for,
            &mut settings.health_failure_for,
        )?;
        positive(
            "max_mean_latency",
            self.max_mean_latency,
            &mut settings.max_mean_latency,
        )?;
        positive(
            "traffic_window",
            self.traffic_window,
            &mut settings.traffic_window,
        )?;
        if let Some(grace) = self.restore_grace {
            settings.restore_grace = grace;
        }
        let ratio = |name: &str, value: f64| {
            if (0.0..=1.0).contains(&value) {
                Ok(value)
            } else {
                Err((key(name), format!("{value} is not a ratio between 0 and 1")))
            }
        };
        if let Some(value) = self.max_error_ratio {
            settings.max_error_ratio = ratio("max_error_ratio", value)?;
        }
        if let Some(value) = self.min_requests {
            settings.min_requests = value;
        }
        if let Some(value) = self.database_lost_samples {
            if value == 0 {
                return Err((key("database_lost_samples"), "must be at least 1".into()));
            }
            settings.database_lost_samples = value;
        }
        settings.auto_cutover = self.auto_cutover.unwrap_or(settings.auto_cutover);
        settings.dry_run = self.dry_run.unwrap_or(settings.dry_run);
        settings.rollback_on_missing_data = self
            .rollback_on_missing_data
            .unwrap_or(settings.rollback_on_missing_data);
        if let Some(raw) = self.hysteresis {
            let rule = &mut settings.hysteresis;
            rule.consecutive = raw.consecutive.unwrap_or(rule.consecutive);
            rule.k = raw.k.unwrap_or(rule.k);
            rule.n = raw.n.unwrap_or(rule.n);
            let within = |value: u32| (1..=64).contains(&value);
            if !within(rule.consecutive) || !within(rule.k) || !within(rule.n) || rule.k > rule.n {
                return Err((
                    key("hysteresis"),
                    format!(
                        "consecutive {}, k {}, n {}: each must be 1..=64 and k <= n",
                        rule.consecutive, rule.k, rule.n
                    ),
                ));
            }
        }
        if let Some(raw) = self.baseline {
            let baseline = &mut settings.baseline;
            baseline.enabled = raw.enabled.unwrap_or(baseline.enabled);
            if let Some(z) = raw.z_critical {
                if !(z.is_finite() && z > 0.0) {
                    return Err((
                        key("baseline.z_critical"),
                        format!("{z} must be a positive number (2.326 is p < 0.01)"),
                    ));
                }
                baseline.z_critical = z;
            }
            if let Some(increase) = raw.min_increase {
                baseline.min_increase = ratio("baseline.min_increase", increase)?;
            }
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<AggregatorConfig, ConfigError> {
        let dir = tempfile_dir();
        let path = dir.join("aggregator.toml");
        std::fs::write(&path, text).unwrap();
        AggregatorConfig::load(Some(&path), Overrides::default())
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "greenlight-config-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_full_config_loads() {
        let config = load_text(
            r#"
            listen = "127.0.0.1:9000"
            [redis]
            url = "redis://127.0.0.1:6380"
            [defaults]
            ready_after = "45s"
            [deployments.escashop]
            live = "green"
            "#,
        )
        .unwrap();
        assert_eq!(config.listen.port(), 9000);
        let escashop = &config.deployments["escashop"];
        assert_eq!(escashop.live, greenlight_proto::v1::Color::Green);
        assert_eq!(escashop.ready_after, Duration::from_secs(45));
    }

    #[test]
    fn errors_name_the_file_the_key_and_the_reason() {
        let cases = [
            ("[defaults]\nready_after = \"soon\"", "defaults.ready_after"),
            (
                "[deployments.escashop]\nlive = \"purple\"",
                "deployments.escashop.live",
            ),
            (
                "[deployments.escashop]\ncolour = \"blue\"",
                "deployments.escashop",
            ),
            ("listen = \"nowhere\"", "listen"),
            ("[redis]\nurl = \"http://x\"", "redis.url"),
        ];
        for (text, key) in cases {
            let error = load_text(text).unwrap_err();
            assert!(error.origin.ends_with("aggregator.toml"), "{error}");
            assert!(error.key.starts_with(key), "{text}: {error}");
            assert!(!error.reason.is_empty());
        }
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let error = AggregatorConfig::load(
            Some(Path::new("/nonexistent/agg.toml")),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(error.reason.contains("no such file"));
    }
}
