//! Validation of the `[checks.*]` tables: each target parsed, each schedule
//! resolved against the agent's, each failure naming its key.

use super::SchemaSettings;
use super::check_settings::ScheduleSettings;
use super::settings::{ChecksSettings, ProcessSettings, TrafficSettings};
use super::url_setting::parse_url;
use super::{
    CheckConfig, CheckTarget, ConfigError, HttpCheck, PostgresCheck, ProcessCheck, ProcessLocator,
    RedisCheck, Schedule, TrafficCheck,
};

/// The enabled checks in report order; at least one is required.
pub(super) fn validate_checks(
    checks: ChecksSettings,
    agent: Schedule,
) -> Result<Vec<CheckConfig>, ConfigError> {
    let mut valid = Vec::new();
    let mut add = |name: &str, schedule: ScheduleSettings, target: CheckTarget| {
        if let Some(schedule) = resolve_schedule(name, schedule, agent)? {
            valid.push(CheckConfig { schedule, target });
        }
        Ok::<_, ConfigError>(())
    };
    if let Some(postgres) = checks.postgres {
        add(
            "postgres",
            postgres.schedule(),
            postgres_target(&postgres.url, postgres.schema.as_ref())?,
        )?;
    }
    if let Some(redis) = checks.redis {
        const KEY: &str = "checks.redis.url";
        let url = parse_url(KEY, &redis.url, &["redis", "rediss", "redis+unix", "unix"])?;
        let client = redis::Client::open(redis.url.as_str())
            .map_err(|err| ConfigError::key(KEY, err.to_string()))?;
        add(
            "redis",
            redis.schedule(),
            CheckTarget::Redis(RedisCheck { url, client }),
        )?;
    }
    if let Some(http) = checks.http {
        let options = checks.http_options;
        let url = parse_url("checks.http.url", &http.url, &["http", "https"])?;
        let detailed_url = match &options.detailed_url {
            Some(text) => Some(parse_url(
                "checks.http.detailed_url",
                text,
                &["http", "https"],
            )?),
            None => None,
        };
        add(
            "http",
            options.schedule(),
            CheckTarget::Http(HttpCheck { url, detailed_url }),
        )?;
    }
    if let Some(traffic) = checks.traffic {
        let schedule = traffic.schedule();
        add(
            "traffic",
            schedule,
            CheckTarget::Traffic(traffic_target(traffic)?),
        )?;
    }
    if let Some(websocket) = checks.websocket {
        let url = parse_url("checks.websocket.url", &websocket.url, &["ws", "wss"])?;
        add(
            "websocket",
            websocket.schedule(),
            CheckTarget::Websocket(url),
        )?;
    }
    if let Some(process) = checks.process {
        let schedule = process.schedule();
        add(
            "process",
            schedule,
            CheckTarget::Process(process_target(process)?),
        )?;
    }
    if valid.is_empty() {
        return Err(ConfigError::key(
            "checks",
            "no check is enabled: add at least one of [checks.postgres], [checks.redis], \
             [checks.http], [checks.traffic], [checks.websocket], [checks.process]",
        ));
    }
    Ok(valid)
}

/// The check's own schedule, falling back to the agent's: `None` when the
/// check is switched off. A check's timeout defaults to the agent's, cut to
/// 80% of the check's own interval when that is shorter.
fn resolve_schedule(
    check: &str,
    settings: ScheduleSettings,
    agent: Schedule,
) -> Result<Option<Schedule>, ConfigError> {
    let key = |name: &str| format!("checks.{check}.{name}");
    let interval = settings.interval.unwrap_or(agent.interval);
    if interval.is_zero() {
        return Err(ConfigError::key(
            key("interval"),
            "must be greater than zero, e.g. \"1s\"",
        ));
    }
    let timeout = match settings.timeout {
        Some(timeout) if timeout.is_zero() => {
            return Err(ConfigError::key(
                key("timeout"),
                "must be greater than zero, e.g. \"800ms\"",
            ));
        }
        Some(timeout) if timeout > interval => {
            return Err(ConfigError::key(
                key("timeout"),
                format!(
                    "{} is longer than this check's interval {}: a probe must finish before \
                     the next one starts",
                    humantime::format_duration(timeout),
                    humantime::format_duration(interval)
                ),
            ));
        }
        Some(timeout) => timeout,
        None => agent.timeout.min(interval.mul_f64(0.8)),
    };
    if settings.enabled == Some(false) {
        return Ok(None);
    }
    Ok(Some(Schedule { interval, timeout }))
}

fn postgres_target(
    text: &str,
    schema: Option<&SchemaSettings>,
) -> Result<CheckTarget, ConfigError> {
    const KEY: &str = "checks.postgres.url";
    let url = parse_url(KEY, text, &["postgres", "postgresql"])?;
    let config = text.parse::<tokio_postgres::Config>().map_err(|err| {
        ConfigError::key(
            KEY,
            format!("{err} (sslmode may be disable, prefer or require)"),
        )
    })?;
    let schema = schema.map(SchemaSettings::validate).transpose()?;
    Ok(CheckTarget::Postgres(PostgresCheck {
        url,
        config,
        schema,
    }))
}

fn traffic_target(traffic: TrafficSettings) -> Result<TrafficCheck, ConfigError> {
    let url = parse_url("checks.traffic.url", &traffic.url, &["http", "https"])?;
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
        (
            "checks.traffic.error_rate_metric",
            &traffic.error_rate_metric,
        ),
        ("checks.traffic.websocket_metric", &traffic.websocket_metric),
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
        source: traffic.source,
        requests_metric: traffic.requests_metric,
        status_label: traffic.status_label,
        duration_metric: traffic.duration_metric,
        error_rate_metric: traffic.error_rate_metric,
        websocket_metric: traffic.websocket_metric,
    })
}

fn process_target(process: ProcessSettings) -> Result<ProcessCheck, ConfigError> {
    let mut locators = Vec::new();
    if let Some(path) = process.pid_file {
        if path.as_os_str().is_empty() {
            return Err(ConfigError::key(
                "checks.process.pid_file",
                "must not be empty",
            ));
        }
        locators.push(ProcessLocator::PidFile(path));
    }
    if let Some(name) = process.name {
        if name.trim().is_empty() {
            return Err(ConfigError::key("checks.process.name", "must not be empty"));
        }
        locators.push(ProcessLocator::Name(name));
    }
    if let Some(port) = process.port {
        if port == 0 {
            return Err(ConfigError::key(
                "checks.process.port",
                "must be the backend's listening port, 1..65535",
            ));
        }
        locators.push(ProcessLocator::Port(port));
    }
    if locators.len() != 1 {
        return Err(ConfigError::key(
            "checks.process",
            "set exactly one of pid_file, name or port to say which process is the backend",
        ));
    }
    if let Some(ratio) = process.max_cpu_ratio {
        if !(ratio > 0.0 && ratio.is_finite()) {
            return Err(ConfigError::key(
                "checks.process.max_cpu_ratio",
                format!("must be above 0, as a share of one core (0.8 = 80%), not {ratio}"),
            ));
        }
    }
    if process.max_resident_memory_bytes == Some(0) {
        return Err(ConfigError::key(
            "checks.process.max_resident_memory_bytes",
            "must be above 0, e.g. 536870912 for 512 MiB",
        ));
    }
    Ok(ProcessCheck {
        locator: locators.remove(0),
        max_cpu_ratio: process.max_cpu_ratio,
        max_resident_memory_bytes: process.max_resident_memory_bytes,
    })
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the Prometheus data model's names.
fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_' || first == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}
