//! One simulated agent: a Hello and a stream of realistic reports, shaped
//! like the real agent's (agent/src/reporter.rs) and the engine benchmark's
//! (aggregator/benches/engine.rs): five passing checks with their details
//! (postgres, redis, http, websocket, traffic) and traffic counters growing
//! at 100 requests per second with 0.5% errors. A fault (`Fault`) turns
//! it into a candidate the rollback rules catch.

use std::time::SystemTime;

use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::check_result::Detail;
use greenlight_proto::v1::{
    CheckResult, CheckStatus, Color, Hello, HttpDetail, PostgresDetail, RedisDetail, Report,
    TrafficCounters, TrafficDetail, WebsocketDetail,
};

/// Requests the simulated backend serves between two reports.
const REQUESTS_PER_REPORT: u64 = 100;
const ERROR_RATIO: f64 = 0.005;
const LATENCY_SECONDS: f64 = 0.015;

/// What goes wrong on a faulty candidate, each a rollback trigger of
/// docs/verdicts.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Every request a 5xx: the error ratio over the traffic window goes
    /// past `max_error_ratio` (5%), one breaching sample per report, and
    /// `error_ratio` fires after `hysteresis.consecutive` (3) in a row.
    ErrorRatio,
    /// The postgres check fails: `database_lost` after
    /// `database_lost_samples` (3) failing reports in a row.
    Database,
}

/// One agent's identity and its counters so far.
pub struct SimulatedAgent {
    hello: Hello,
    /// The last sequence sent; the next report carries one more.
    sequence: u64,
    requests: u64,
    errors: u64,
    /// Fractional errors carried to the next report, so the ratio is exact.
    error_carry: f64,
    duration_sum: f64,
    /// The fault its next reports show, if any.
    fault: Option<Fault>,
}

impl SimulatedAgent {
    /// Agent `instance` of `deployment`, on `color`, for the run `run_id`.
    pub fn new(
        deployment: String,
        color: Color,
        instance: String,
        run_id: String,
        interval_ms: u32,
    ) -> Self {
        SimulatedAgent {
            hello: Hello {
                deployment,
                color: color as i32,
                instance_id: instance,
                agent_version: env!("CARGO_PKG_VERSION").into(),
                backend_version: "2.4.1".into(),
                report_interval_ms: interval_ms,
                run_id,
            },
            sequence: 0,
            requests: 0,
            errors: 0,
            error_carry: 0.0,
            duration_sum: 0.0,
            fault: None,
        }
    }

    /// From the next report on, reports show `fault` (or none).
    pub fn set_fault(&mut self, fault: Option<Fault>) {
        self.fault = fault;
    }

    pub fn hello(&self) -> Hello {
        self.hello.clone()
    }

    pub fn instance_id(&self) -> &str {
        &self.hello.instance_id
    }

    /// The sequence the next report will carry.
    pub fn next_sequence(&self) -> u64 {
        self.sequence + 1
    }

    /// The next report, observed at `observed_at`; with `http_failing`
    /// its http check fails (503), which changes the verdict.
    pub fn next_report(&mut self, observed_at: SystemTime, http_failing: bool) -> Report {
        self.sequence += 1;
        self.requests += REQUESTS_PER_REPORT;
        if self.fault == Some(Fault::ErrorRatio) {
            self.errors += REQUESTS_PER_REPORT;
        } else {
            self.error_carry += REQUESTS_PER_REPORT as f64 * ERROR_RATIO;
            let whole = self.error_carry.floor();
            self.errors += whole as u64;
            self.error_carry -= whole;
        }
        self.duration_sum += REQUESTS_PER_REPORT as f64 * LATENCY_SECONDS;
        let jitter = (self.sequence % 7) as f64 * 0.0003;
        let mut checks = five_checks(jitter, http_failing, LATENCY_SECONDS);
        match self.fault {
            Some(Fault::Database) => {
                let postgres = &mut checks[0];
                postgres.set_status(CheckStatus::Fail);
                postgres.error = "connection refused (127.0.0.1:5432)".into();
            }
            // As the real agent would say it; the aggregator judges the
            // counters, not this check, while baking.
            Some(Fault::ErrorRatio) => {
                let traffic = &mut checks[4];
                traffic.set_status(CheckStatus::Fail);
                traffic.observed_value = 1.0;
                traffic.error = "error ratio 100% over the window (at most 5%)".into();
            }
            None => {}
        }
        Report {
            sequence: self.sequence,
            observed_at: Some(to_timestamp(observed_at)),
            checks,
            traffic: Some(TrafficCounters {
                requests_total: self.requests,
                errors_total: self.errors,
                request_duration_seconds_sum: self.duration_sum,
                request_duration_seconds_count: self.requests,
                websocket_connections: 40,
            }),
            dropped_reports: 0,
            traceparent: String::new(),
        }
    }
}

/// The five checks of a healthy agent (postgres, redis, http, websocket,
/// traffic) with their details, `jitter` added to each latency; http failing
/// with a 503 when asked. The engine's benchmark reports these too.
pub fn five_checks(jitter: f64, http_failing: bool, mean_latency_seconds: f64) -> Vec<CheckResult> {
    let mut checks = vec![
        passing(
            "postgres",
            0.0021 + jitter,
            "seconds",
            1.0,
            Detail::Postgres(PostgresDetail {
                connect_seconds: 0.0012,
                round_trip_seconds: 0.0009 + jitter,
                connections_in_use: 7,
                max_connections: 100,
            }),
        ),
        passing(
            "redis",
            0.0004 + jitter,
            "seconds",
            0.5,
            Detail::Redis(RedisDetail {
                round_trip_seconds: 0.0004 + jitter,
                used_memory_bytes: 48 << 20,
                connected_clients: 12,
                role: "master".into(),
            }),
        ),
        passing(
            "http",
            0.012 + jitter,
            "seconds",
            2.0,
            Detail::Http(HttpDetail {
                status_code: 200,
                latency_seconds: 0.012 + jitter,
            }),
        ),
        passing(
            "websocket",
            0.003 + jitter,
            "seconds",
            2.0,
            Detail::Websocket(WebsocketDetail {
                handshake_seconds: 0.002,
                ping_round_trip_seconds: 0.001 + jitter,
                active_connections: 40,
            }),
        ),
        passing(
            "traffic",
            ERROR_RATIO,
            "ratio",
            0.05,
            Detail::Traffic(TrafficDetail {
                error_ratio: ERROR_RATIO,
                window_requests: REQUESTS_PER_REPORT * 60,
                window_errors: 30,
                window_seconds: 60.0,
                mean_latency_seconds,
                p95_latency_seconds: 0.120,
                p99_latency_seconds: 0.250,
            }),
        ),
    ];
    if http_failing {
        let http = &mut checks[2];
        http.set_status(CheckStatus::Fail);
        http.error = "HTTP 503 from /healthz".into();
        http.detail = Some(Detail::Http(HttpDetail {
            status_code: 503,
            latency_seconds: 0.012 + jitter,
        }));
    }
    checks
}

fn passing(check: &str, observed: f64, unit: &str, threshold: f64, detail: Detail) -> CheckResult {
    let mut result = CheckResult {
        check: check.into(),
        duration_seconds: observed,
        observed_value: observed,
        observed_unit: unit.into(),
        threshold,
        detail: Some(detail),
        ..Default::default()
    };
    result.set_status(CheckStatus::Pass);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_carry_five_checks_consecutive_sequences_and_growing_counters() {
        let mut agent = SimulatedAgent::new("d".into(), Color::Green, "i".into(), "r".into(), 1000);
        let first = agent.next_report(SystemTime::now(), false);
        let second = agent.next_report(SystemTime::now(), true);
        assert_eq!((first.sequence, second.sequence), (1, 2));
        assert_eq!(first.checks.len(), 5);
        assert_eq!(second.checks[2].status(), CheckStatus::Fail);
        let (a, b) = (first.traffic.unwrap(), second.traffic.unwrap());
        assert!(b.requests_total > a.requests_total && b.errors_total >= a.errors_total);
    }

    #[test]
    fn faults_show_in_the_counters_or_the_postgres_check() {
        let mut agent = SimulatedAgent::new("d".into(), Color::Green, "i".into(), "r".into(), 1000);
        let before = agent.next_report(SystemTime::now(), false).traffic.unwrap();
        agent.set_fault(Some(Fault::ErrorRatio));
        let during = agent.next_report(SystemTime::now(), false).traffic.unwrap();
        assert_eq!(
            during.errors_total - before.errors_total,
            REQUESTS_PER_REPORT
        );
        agent.set_fault(Some(Fault::Database));
        let report = agent.next_report(SystemTime::now(), false);
        assert_eq!(report.checks[0].check, "postgres");
        assert_eq!(report.checks[0].status(), CheckStatus::Fail);
    }
}
