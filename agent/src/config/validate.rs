//! [`AgentSettings::validate`]: every rule a configuration must meet, each
//! failure naming its key.

use std::net::SocketAddr;

use greenlight_proto::hello_check::check_hello;
use greenlight_proto::names::parse_color;

use super::aggregators::parse_aggregators;
use super::settings::AgentSettings;
use super::validate_checks::validate_checks;
use super::{AgentConfig, ConfigError, Schedule};

impl AgentSettings {
    /// Checks every setting and returns the configuration [`run`](crate::run)
    /// takes. The error names the first offending key.
    pub fn validate(self) -> Result<AgentConfig, ConfigError> {
        let aggregators = parse_aggregators(&self.aggregator)?;
        // One scheme for all (checked): the first says which.
        let aggregator_tls = self.tls.validate(aggregators[0].scheme() == "https")?;
        if let Some(path) = &self.token_file {
            crate::stream::read_token(path)
                .map_err(|reason| ConfigError::key("token_file", reason))?;
        }
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
        let listen = match &self.listen {
            Some(text) => Some(text.trim().parse::<SocketAddr>().map_err(|_| {
                ConfigError::key(
                    "listen",
                    format!("{text:?} is not an address: write host:port, e.g. \"127.0.0.1:7072\""),
                )
            })?),
            None => None,
        };
        let agent = Schedule {
            interval: self.interval,
            timeout,
        };
        let checks = validate_checks(self.checks, agent)?;
        let config = AgentConfig {
            aggregators,
            aggregator_tls,
            token_file: self.token_file,
            deployment: self.deployment,
            color,
            instance_id,
            backend_version: self.backend_version,
            interval: self.interval,
            timeout,
            buffer_reports: self.buffer_reports,
            listen,
            checks,
        };
        hello_is_let_in(&config)?;
        Ok(config)
    }
}

/// The Hello `config` makes must pass the aggregator's rules, or the agent
/// would start only to be refused at every connection (found by fuzzing:
/// a deployment named `escasho[` started, and was never let in).
fn hello_is_let_in(config: &AgentConfig) -> Result<(), ConfigError> {
    let Err(problem) = check_hello(&crate::hello(config)) else {
        return Ok(());
    };
    let key = match problem.field {
        "hello.deployment" => "deployment",
        "hello.instance_id" => "instance_id",
        "hello.backend_version" => "backend_version",
        "hello.report_interval_ms" => "interval",
        other => other,
    };
    Err(ConfigError::key(
        key,
        format!(
            "{} (the aggregator refuses it in the Hello)",
            problem.reason
        ),
    ))
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
