//! `[limits]`: the aggregator's bounds on what others can make it hold,
//! and on how long it takes to stop. A stream beyond a cap is refused
//! (RESOURCE_EXHAUSTED) rather than starving the streams already served.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// Validated limits: every one is above zero.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Concurrent agent report streams.
    pub max_agent_streams: usize,
    /// Concurrent `Watch` streams (the CLI's `watch`, `wait`, dashboards).
    pub max_watch_streams: usize,
    /// On SIGTERM, how long publishing and hooks get to drain.
    pub shutdown_grace: Duration,
    /// The largest gRPC message decoded; beyond it RESOURCE_EXHAUSTED.
    pub max_message_bytes: usize,
    /// Sustained reports per second one agent stream may send.
    pub max_reports_per_second: u32,
    /// Reports one stream may send at once (a replay after a reconnect:
    /// at least the agent's `buffer_reports`, 600 by default).
    pub report_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_agent_streams: 1000,
            max_watch_streams: 1000,
            shutdown_grace: Duration::from_secs(5),
            max_message_bytes: greenlight_proto::limits::DEFAULT_MAX_MESSAGE_BYTES,
            max_reports_per_second: 20,
            report_burst: 1000,
        }
    }
}

/// The section as written; what is left out keeps its default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    max_agent_streams: Option<usize>,
    max_watch_streams: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    shutdown_grace: Option<Duration>,
    max_message_bytes: Option<usize>,
    max_reports_per_second: Option<u32>,
    report_burst: Option<u32>,
}

impl RawLimits {
    pub(super) fn validate(self) -> Result<Limits, ConfigError> {
        let defaults = Limits::default();
        let cap = |name: &str, value: Option<usize>, default: usize| match value {
            Some(0) => Err(ConfigError::key(
                format!("limits.{name}"),
                format!("must be at least 1 (the default is {default})"),
            )),
            Some(value) => Ok(value),
            None => Ok(default),
        };
        let shutdown_grace = match self.shutdown_grace {
            Some(grace) if grace.is_zero() => {
                return Err(ConfigError::key(
                    "limits.shutdown_grace",
                    "must be more than 0s (the default is 5s)",
                ));
            }
            Some(grace) => grace,
            None => defaults.shutdown_grace,
        };
        Ok(Limits {
            max_agent_streams: cap(
                "max_agent_streams",
                self.max_agent_streams,
                defaults.max_agent_streams,
            )?,
            max_watch_streams: cap(
                "max_watch_streams",
                self.max_watch_streams,
                defaults.max_watch_streams,
            )?,
            shutdown_grace,
            max_message_bytes: cap(
                "max_message_bytes",
                self.max_message_bytes,
                defaults.max_message_bytes,
            )?,
            max_reports_per_second: cap(
                "max_reports_per_second",
                self.max_reports_per_second.map(|n| n as usize),
                defaults.max_reports_per_second as usize,
            )? as u32,
            report_burst: cap(
                "report_burst",
                self.report_burst.map(|n| n as usize),
                defaults.report_burst as usize,
            )? as u32,
        })
    }
}
