//! The probes: each looks at one thing the backend depends on or does, and
//! answers with a [`CheckResult`]. Every probe runs under the configured
//! timeout, and all probes of a round run at once, so one hung dependency
//! neither stalls the others nor delays the report.

mod http;
mod postgres;
mod redis;
mod traffic;

use std::time::Duration;

use futures::future::join_all;
use greenlight_proto::v1::{CheckResult, CheckStatus, TrafficCounters};
use tokio::time::Instant;

use crate::config::Checks;
use crate::error_text::timed_out;

pub(crate) use self::http::HttpProbe;
pub(crate) use self::postgres::PostgresProbe;
pub(crate) use self::redis::RedisProbe;
pub(crate) use self::traffic::TrafficProbe;

/// A probe could not be set up (before any probing happens).
#[derive(Debug, thiserror::Error)]
pub enum ProbeSetupError {
    #[error("cannot build the HTTP client for the {check} check: {source}")]
    HttpClient {
        check: &'static str,
        #[source]
        source: reqwest::Error,
    },
}

/// One enabled check with the state it keeps between rounds (open
/// connections, the traffic window).
#[expect(
    clippy::large_enum_variant,
    reason = "at most four probes, made once per process: size does not matter"
)]
pub(crate) enum Probe {
    Postgres(PostgresProbe),
    Redis(RedisProbe),
    Http(HttpProbe),
    Traffic(TrafficProbe),
}

/// What one probe saw in one round.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observation {
    pub(crate) result: CheckResult,
    /// Only the traffic probe scrapes counters; they go into the report.
    pub(crate) counters: Option<TrafficCounters>,
}

impl From<CheckResult> for Observation {
    fn from(result: CheckResult) -> Self {
        Observation {
            result,
            counters: None,
        }
    }
}

impl Probe {
    /// The probes for every enabled check, in report order.
    pub(crate) fn for_checks(
        checks: &Checks,
        timeout: Duration,
    ) -> Result<Vec<Probe>, ProbeSetupError> {
        let mut probes = Vec::new();
        if let Some(check) = &checks.postgres {
            probes.push(Probe::Postgres(PostgresProbe::new(check)));
        }
        if let Some(check) = &checks.redis {
            probes.push(Probe::Redis(RedisProbe::new(check)));
        }
        if let Some(url) = &checks.http {
            probes.push(Probe::Http(HttpProbe::new(url.clone(), timeout)?));
        }
        if let Some(check) = &checks.traffic {
            probes.push(Probe::Traffic(TrafficProbe::new(check.clone(), timeout)?));
        }
        Ok(probes)
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Probe::Postgres(_) => postgres::CHECK,
            Probe::Redis(_) => redis::CHECK,
            Probe::Http(_) => http::CHECK,
            Probe::Traffic(_) => traffic::CHECK,
        }
    }

    /// Runs the probe once; past `timeout` it gives up with a failure
    /// "timed out after ..." and forgets any half-used connection.
    pub(crate) async fn observe(&mut self, timeout: Duration) -> Observation {
        let started = Instant::now();
        let outcome = tokio::time::timeout(timeout, async {
            match self {
                Probe::Postgres(probe) => probe.check().await.into(),
                Probe::Redis(probe) => probe.check().await.into(),
                Probe::Http(probe) => probe.check().await.into(),
                Probe::Traffic(probe) => probe.check().await,
            }
        })
        .await;
        match outcome {
            Ok(observation) => observation,
            Err(_) => {
                match self {
                    Probe::Postgres(probe) => probe.forget_connection(),
                    Probe::Redis(probe) => probe.forget_connection(),
                    Probe::Http(_) | Probe::Traffic(_) => {}
                }
                failed(self.name(), timed_out(timeout), started.elapsed()).into()
            }
        }
    }
}

/// Runs every probe once, all at the same time; results keep probe order.
pub(crate) async fn run_round(probes: &mut [Probe], timeout: Duration) -> Vec<Observation> {
    join_all(probes.iter_mut().map(|probe| probe.observe(timeout))).await
}

/// A passing result of `check` that took `took`.
pub(crate) fn passed(check: &str, took: Duration) -> CheckResult {
    CheckResult {
        check: check.to_string(),
        status: CheckStatus::Pass as i32,
        duration_seconds: took.as_secs_f64(),
        ..CheckResult::default()
    }
}

/// A failing result of `check`, with `error` saying why.
pub(crate) fn failed(check: &str, error: impl Into<String>, took: Duration) -> CheckResult {
    CheckResult {
        check: check.to_string(),
        status: CheckStatus::Fail as i32,
        error: error.into(),
        duration_seconds: took.as_secs_f64(),
        ..CheckResult::default()
    }
}

/// A port on loopback that nothing listens on (bound, then released).
#[cfg(test)]
pub(crate) async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}
