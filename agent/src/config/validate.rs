//! [`AgentSettings::validate`]: every rule a configuration must meet, each
//! failure naming its key.

use greenlight_proto::names::parse_color;
use reqwest::Url;

use super::settings::{AgentSettings, TrafficSettings};
use super::{AgentConfig, Checks, ConfigError, PostgresCheck, RedisCheck, TrafficCheck};

impl AgentSettings {
    /// Checks every setting and returns the configuration [`run`](crate::run)
    /// takes. The error names the first offending key.
    pub fn validate(self) -> Result<AgentConfig, ConfigError> {
        let aggregator = parse_url("aggregator", &self.aggregator, &["http"])?;
        if self.deployment.trim().is_empty() {
            return Err(ConfigError::key(
                "deployment",
                "required: the service's name, e.g. \"escashop\"",
            ));
        }
        let color = parse_color(&self.color).ok_or_else(|| {
            ConfigError::key(
                "color",
                format!("must be \"blue\" or \"green\", not {:?}", self.color),
            )
        })?;
        let instance_id = match self.instance_id {
            Some(id) if id.trim().is_empty() => {
                return Err(ConfigError::key("instance_id", "must not be empty"));
            }
            Some(id) => id,
            None => hostname().ok_or_else(|| {
                ConfigError::key(
                    "instance_id",
                    "not set, and this host's name could not be read: set it",
                )
            })?,
        };
        if self.interval.is_zero() {
            return Err(ConfigError::key(
                "interval",
                "must be greater than zero, e.g. \"1s\"",
            ));
        }
        let timeout = match self.timeout {
            Some(timeout) if timeout.is_zero() => {
                return Err(ConfigError::key(
                    "timeout",
                    "must be greater than zero, e.g. \"800ms\"",
                ));
            }
            Some(timeout) if timeout > self.interval => {
                return Err(ConfigError::key(
                    "timeout",
                    format!(
                        "{} is longer than interval {}: a probe must finish before the next round",
                        humantime::format_duration(timeout),
                        humantime::format_duration(self.interval)
                    ),
                ));
            }
            Some(timeout) => timeout,
            None => self.interval.mul_f64(0.8),
        };
        if self.buffer_reports == 0 {
            return Err(ConfigError::key(
                "buffer_reports",
                "must be at least 1 (600 keeps 10 minutes at a 1s interval)",
            ));
        }
        let checks = validate_checks(self.checks)?;
        Ok(AgentConfig {
            aggregator,
            deployment: self.deployment,
            color,
            instance_id,
            backend_version: self.backend_version,
            interval: self.interval,
            timeout,
            buffer_reports: self.buffer_reports,
            checks,
        })
    }
}

fn validate_checks(checks: super::ChecksSettings) -> Result<Checks, ConfigError> {
    let mut valid = Checks::default();
    if let Some(postgres) = checks.postgres {
        const KEY: &str = "checks.postgres.url";
        let url = parse_url(KEY, &postgres.url, &["postgres", "postgresql"])?;
        let config = postgres
            .url
            .parse::<tokio_postgres::Config>()
            .map_err(|err| ConfigError::key(KEY, err.to_string()))?;
        valid.postgres = Some(PostgresCheck { url, config });
    }
    if let Some(redis) = checks.redis {
        const KEY: &str = "checks.redis.url";
        let url = parse_url(KEY, &redis.url, &["redis", "redis+unix", "unix"])?;
        let client = redis::Client::open(redis.url.as_str())
            .map_err(|err| ConfigError::key(KEY, err.to_string()))?;
        valid.redis = Some(RedisCheck { url, client });
    }
    if let Some(http) = checks.http {
        valid.http = Some(parse_url("checks.http.url", &http.url, &["http"])?);
    }
    if let Some(traffic) = checks.traffic {
        valid.traffic = Some(validate_traffic(traffic)?);
    }
    if valid.postgres.is_none()
        && valid.redis.is_none()
        && valid.http.is_none()
        && valid.traffic.is_none()
    {
        return Err(ConfigError::key(
            "checks",
            "no check is enabled: add at least one of [checks.postgres], [checks.redis], \
             [checks.http], [checks.traffic]",
        ));
    }
    Ok(valid)
}

fn validate_traffic(traffic: TrafficSettings) -> Result<TrafficCheck, ConfigError> {
    let url = parse_url("checks.traffic.url", &traffic.url, &["http"])?;
    if traffic.window.is_zero() {
        return Err(ConfigError::key(
            "checks.traffic.window",
            "must be greater than zero, e.g. \"30s\"",
        ));
    }
    if !(0.0..=1.0).contains(&traffic.max_error_ratio) {
        return Err(ConfigError::key(
            "checks.traffic.max_error_ratio",
            format!(
                "must be a ratio between 0 and 1 (0.05 = 5%), not {}",
                traffic.max_error_ratio
            ),
        ));
    }
    for (key, name) in [
        ("checks.traffic.requests_metric", &traffic.requests_metric),
        ("checks.traffic.status_label", &traffic.status_label),
        ("checks.traffic.duration_metric", &traffic.duration_metric),
    ] {
        if !is_metric_name(name) {
            return Err(ConfigError::key(
                key,
                format!("{name:?} is not a Prometheus metric or label name"),
            ));
        }
    }
    Ok(TrafficCheck {
        url,
        window: traffic.window,
        max_error_ratio: traffic.max_error_ratio,
        min_requests: traffic.min_requests,
        requests_metric: traffic.requests_metric,
        status_label: traffic.status_label,
        duration_metric: traffic.duration_metric,
    })
}

/// Parses `text` as a URL whose scheme is one of `schemes`.
fn parse_url(key: &str, text: &str, schemes: &[&str]) -> Result<Url, ConfigError> {
    if text.trim().is_empty() {
        return Err(ConfigError::key(
            key,
            format!("required but missing: a {}:// URL", schemes[0]),
        ));
    }
    let url = Url::parse(text).map_err(|err| ConfigError::key(key, err.to_string()))?;
    if !schemes.contains(&url.scheme()) {
        let mut reason = format!(
            "scheme \"{}\" is not supported here; use {}",
            url.scheme(),
            schemes
                .iter()
                .map(|scheme| format!("{scheme}://"))
                .collect::<Vec<_>>()
                .join(" or ")
        );
        if matches!(url.scheme(), "https" | "rediss") {
            reason.push_str(" (this agent is built without TLS)");
        }
        return Err(ConfigError::key(key, reason));
    }
    if url.scheme() != "unix" && url.scheme() != "redis+unix" && url.host_str().is_none() {
        return Err(ConfigError::key(key, "the URL has no host"));
    }
    Ok(url)
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the Prometheus data model's names.
fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_' || first == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// This host's name, for the default instance id.
fn hostname() -> Option<String> {
    let from_kernel = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok();
    from_kernel
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
}
