//! The probes: each looks at one thing the backend depends on or does, and
//! answers with [`CheckResult`]s (one for the check, and one per component
//! for a backend that reports its own). A probe keeps what it can reuse
//! between runs (connections, clients, the traffic window); the
//! [`runner`](crate::runner) bounds each run by the check's timeout.

mod http;
mod postgres;
mod process;
mod redis;
mod traffic;
mod web_tls;
mod websocket;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use greenlight_proto::names::check_kind_name;
use greenlight_proto::v1::{CheckKind, CheckResult, CheckStatus, TrafficCounters};
use tokio::time::Instant;

use crate::config::{CheckConfig, CheckTarget};
use crate::error_text::timed_out;

pub(crate) use self::http::HttpProbe;
#[cfg(feature = "fuzzing")]
pub(crate) use self::http::results_for_bodies as health_results_for_bodies;
pub(crate) use self::postgres::PostgresProbe;
pub(crate) use self::process::ProcessProbe;
pub(crate) use self::redis::RedisProbe;
pub(crate) use self::traffic::{AggregatorMinRequests, TrafficProbe};
pub(crate) use self::websocket::WebsocketProbe;

/// A probe could not be set up (before any probing happens).
#[derive(Debug, thiserror::Error)]
pub enum ProbeSetupError {
    #[error("cannot read this host's process table for the process check: {0}")]
    ProcessTable(String),
}

/// One enabled check with the state it keeps between runs.
pub(crate) enum Probe {
    Postgres(PostgresProbe),
    Redis(RedisProbe),
    Http(HttpProbe),
    /// Boxed: it keeps its window and metric names, several times the
    /// others' size.
    Traffic(Box<TrafficProbe>),
    Websocket(WebsocketProbe),
    Process(ProcessProbe),
}

/// What one probe saw in one run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observation {
    /// The check's own result first, then one per component it reports.
    pub(crate) results: Vec<CheckResult>,
    /// Only the traffic probe scrapes counters; they go into the report.
    pub(crate) counters: Option<TrafficCounters>,
}

impl From<CheckResult> for Observation {
    fn from(result: CheckResult) -> Self {
        Observation {
            results: vec![result],
            counters: None,
        }
    }
}

#[cfg(test)]
impl Observation {
    /// The check's own result.
    pub(crate) fn result(&self) -> &CheckResult {
        &self.results[0]
    }
}

/// The backend's open WebSocket connections as it last reported them (its
/// metrics gauge, or `/health/detailed`): the traffic and http probes write
/// it, the websocket probe reads it.
#[derive(Debug, Clone)]
pub(crate) struct ActiveConnections(Arc<AtomicU64>);

impl ActiveConnections {
    /// Nothing reported it yet.
    const UNKNOWN: u64 = u64::MAX;

    pub(crate) fn new() -> Self {
        ActiveConnections(Arc::new(AtomicU64::new(Self::UNKNOWN)))
    }

    pub(crate) fn set(&self, connections: u64) {
        self.0
            .store(connections.min(Self::UNKNOWN - 1), Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> Option<u64> {
        let value = self.0.load(Ordering::Relaxed);
        (value != Self::UNKNOWN).then_some(value)
    }
}

impl Probe {
    /// The probe for one enabled check. `connections` and `min_requests`
    /// are shared with the other probes and the stream (see their types).
    pub(crate) fn new(
        check: &CheckConfig,
        connections: &ActiveConnections,
        min_requests: &AggregatorMinRequests,
    ) -> Result<Probe, ProbeSetupError> {
        Ok(match &check.target {
            CheckTarget::Postgres(target) => Probe::Postgres(PostgresProbe::new(target)),
            CheckTarget::Redis(target) => Probe::Redis(RedisProbe::new(target)),
            CheckTarget::Http(target) => Probe::Http(HttpProbe::new(target, connections.clone())),
            CheckTarget::Traffic(target) => Probe::Traffic(Box::new(TrafficProbe::new(
                target.clone(),
                connections.clone(),
                min_requests.clone(),
            ))),
            CheckTarget::Websocket(url) => {
                Probe::Websocket(WebsocketProbe::new(url.clone(), connections.clone()))
            }
            CheckTarget::Process(target) => Probe::Process(ProcessProbe::new(target.clone())?),
        })
    }

    pub(crate) fn name(&self) -> &'static str {
        check_kind_name(self.kind())
    }

    pub(crate) fn kind(&self) -> CheckKind {
        match self {
            Probe::Postgres(_) => postgres::CHECK,
            Probe::Redis(_) => redis::CHECK,
            Probe::Http(_) => http::CHECK,
            Probe::Traffic(_) => traffic::CHECK,
            Probe::Websocket(_) => websocket::CHECK,
            Probe::Process(_) => process::CHECK,
        }
    }

    /// Runs the probe once; past `timeout` it gives up with a failure
    /// "timed out after ..." and forgets any half-used connection.
    pub(crate) async fn observe(&mut self, timeout: Duration) -> Observation {
        let started = Instant::now();
        let outcome = tokio::time::timeout(timeout, async {
            match self {
                Probe::Postgres(probe) => probe.check().await,
                Probe::Redis(probe) => probe.check().await.into(),
                Probe::Http(probe) => probe.check().await,
                Probe::Traffic(probe) => probe.check().await,
                Probe::Websocket(probe) => probe.check().await.into(),
                Probe::Process(probe) => probe.check().await.into(),
            }
        })
        .await;
        match outcome {
            Ok(observation) => observation,
            Err(_) => {
                match self {
                    Probe::Postgres(probe) => probe.forget_connection(),
                    Probe::Redis(probe) => probe.forget_connection(),
                    Probe::Http(probe) => probe.forget_connections(),
                    Probe::Traffic(probe) => probe.forget_connection(),
                    Probe::Websocket(_) | Probe::Process(_) => {}
                }
                failed(self.kind(), timed_out(timeout), started.elapsed()).into()
            }
        }
    }
}

/// When to refresh the figures a check reports but does not judge (memory,
/// connection counts, the host's load): every `EVERY` rounds, the first
/// round included, repeated in between. They need no one-second
/// resolution, and asking for them every round cost as much as the check
/// itself (bench/agent-footprint.sh).
#[derive(Debug)]
pub(crate) struct Extras {
    rounds_since: u32,
}

impl Extras {
    const EVERY: u32 = 10;

    pub(crate) fn new() -> Extras {
        Extras {
            rounds_since: Self::EVERY,
        }
    }

    /// Whether this round refreshes them; counts the round.
    pub(crate) fn due(&mut self) -> bool {
        let due = self.rounds_since >= Self::EVERY;
        if due {
            self.rounds_since = 0;
        }
        self.rounds_since += 1;
        due
    }
}

/// A passing result of the check `kind` that took `took`.
pub(crate) fn passed(kind: CheckKind, took: Duration) -> CheckResult {
    result_of(kind, CheckStatus::Pass, String::new(), took)
}

/// A failing result of the check `kind`, with `error` saying why.
pub(crate) fn failed(kind: CheckKind, error: impl Into<String>, took: Duration) -> CheckResult {
    result_of(kind, CheckStatus::Fail, error.into(), took)
}

/// Every result names its check twice: `kind` for the aggregator, which
/// refuses a kind it does not know, and `check` for people and older
/// aggregators, which know only the name.
pub(crate) fn result_of(
    kind: CheckKind,
    status: CheckStatus,
    error: String,
    took: Duration,
) -> CheckResult {
    CheckResult {
        check: check_kind_name(kind).to_string(),
        kind: kind as i32,
        status: status as i32,
        error,
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

/// The validated check `name` of `settings`, for probe tests.
#[cfg(test)]
pub(crate) fn check_config(settings: crate::AgentSettings, name: &str) -> CheckConfig {
    settings.validate().unwrap().check(name).unwrap().clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_are_due_on_the_first_round_and_every_tenth() {
        let mut extras = Extras::new();
        let due: Vec<bool> = (0..21).map(|_| extras.due()).collect();
        let rounds: Vec<usize> = (0..21).filter(|&round| due[round]).collect();
        assert_eq!(rounds, [0, 10, 20]);
    }
}
