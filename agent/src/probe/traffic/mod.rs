//! The `traffic` check: scrape the backend's Prometheus `/metrics`, keep
//! the last `window` of scrapes, and fail when the error ratio over it is
//! above the limit. With fewer requests than the minimum (`minimum`) the
//! check is inconclusive, neither pass nor fail: no traffic is not health.
//! A backend that only exposes an error-ratio gauge (the guide's
//! `error_rate`) is judged by that gauge instead.

mod minimum;
mod quantile;
mod sample;
mod window;

use std::time::Duration;

use greenlight_proto::v1::{
    CheckKind, CheckResult, CheckStatus, TrafficCounters, TrafficDetail, check_result::Detail,
};
use tokio::time::Instant;
use tracing::{info, warn};

pub(crate) use self::minimum::AggregatorMinRequests;
use self::minimum::MinRequests;
use self::sample::{MetricNames, TrafficSample, parse_sample};
use self::window::{TrafficWindow, WindowStats};
use super::http::{BodyError, Getter};
use super::{ActiveConnections, Observation, failed, passed, result_of};
use crate::config::{TrafficCheck, TrafficSource};

pub(super) const CHECK: CheckKind = CheckKind::Traffic;

/// A metrics page larger than this is refused, not parsed.
const MAX_METRICS_BYTES: usize = 16 * 1024 * 1024;

pub(crate) struct TrafficProbe {
    metrics: Getter,
    names: MetricNames,
    check: TrafficCheck,
    window: TrafficWindow,
    /// Below it the window's ratio is inconclusive.
    min_requests: MinRequests,
    /// Written from the backend's WebSocket gauge.
    connections: ActiveConnections,
    /// The page buffer, kept between rounds.
    body: Vec<u8>,
    /// The missing-metric warning is said once, not every round.
    warned_missing_metric: bool,
    /// The counters of the latest report: the next may not take errors
    /// back alone.
    reported: Option<TrafficCounters>,
}

/// What the error ratio is judged from in one round.
enum Judged {
    /// The window's counters, and the minimum request count in force.
    Window(WindowStats, u64),
    Gauge(f64),
    /// `source = "gauge"` but the backend does not expose it.
    GaugeMissing,
}

impl TrafficProbe {
    pub(crate) fn new(
        check: TrafficCheck,
        connections: ActiveConnections,
        min_requests: AggregatorMinRequests,
    ) -> Self {
        TrafficProbe {
            metrics: Getter::new(&check.url),
            names: MetricNames::new(
                &check.requests_metric,
                &check.status_label,
                &check.duration_metric,
                &check.error_rate_metric,
                &check.websocket_metric,
            ),
            window: TrafficWindow::new(check.window),
            min_requests: MinRequests::new(check.min_requests, min_requests),
            check,
            connections,
            body: Vec::new(),
            warned_missing_metric: false,
            reported: None,
        }
    }

    pub(crate) async fn check(&mut self) -> Observation {
        let started = Instant::now();
        if let Err(error) = self.scrape().await {
            return failed(CHECK, error, started.elapsed()).into();
        }
        let body = std::mem::take(&mut self.body);
        // The page is Prometheus text; anything else parses as no metrics.
        let text = std::str::from_utf8(&body).unwrap_or("");
        let observation = self.read_page(text, Instant::now(), started);
        self.body = body;
        observation
    }

    /// Judges the page scraped at `at` (the round started at `started`):
    /// the window moves on, the result and the counters come out. Pure but
    /// for the shared WebSocket count.
    pub(crate) fn read_page(&mut self, text: &str, at: Instant, started: Instant) -> Observation {
        let sample = parse_sample(text, &self.names);
        if let Some(count) = sample.websocket_connections {
            self.connections.set(count.round() as u64);
        }
        let use_gauge = match self.check.source {
            TrafficSource::Counters => false,
            TrafficSource::Gauge => true,
            TrafficSource::Auto => !sample.requests_seen && sample.error_rate.is_some(),
        };
        if !use_gauge && !sample.requests_seen && !self.warned_missing_metric {
            warn!(
                url = %self.check.url,
                metric = %self.check.requests_metric,
                "the requests metric is not in the backend's metrics; counting no traffic \
                 (check checks.traffic.requests_metric if requests are being served)"
            );
            self.warned_missing_metric = true;
        }
        let counters = counters(&sample, self.reported.as_ref());
        self.reported = Some(counters);
        let gauge = sample.error_rate;
        let stats = self.window.observe(at, sample);
        if stats.restarted {
            info!(url = %self.check.url, "traffic counters went down (backend restarted?); window restarted");
        }
        let judged = match (use_gauge, gauge) {
            (false, _) => Judged::Window(stats, self.min_requests.current()),
            (true, Some(ratio)) => Judged::Gauge(ratio),
            (true, None) => Judged::GaugeMissing,
        };
        Observation {
            results: vec![self.judge(judged, stats, started.elapsed())],
            counters: Some(counters),
        }
    }

    /// Fails on too many errors; with fewer requests than the minimum,
    /// inconclusive (1 error in 3 requests is not a 33% error rate). A gauge
    /// is taken at its word.
    fn judge(&self, judged: Judged, stats: WindowStats, took: Duration) -> CheckResult {
        let limit = self.check.max_error_ratio;
        let (ratio, mut result) = match judged {
            Judged::Window(stats, min_requests) if stats.requests < min_requests => {
                let error = format!(
                    "only {} requests in the last {:.0}s (at least {min_requests} needed)",
                    stats.requests, stats.seconds
                );
                let status = CheckStatus::Inconclusive;
                (stats.error_ratio, result_of(CHECK, status, error, took))
            }
            Judged::Window(stats, _) if stats.error_ratio > limit => {
                let error = format!(
                    "error ratio {:.3} over the last {:.0}s ({} of {} requests failed) is above {limit}",
                    stats.error_ratio, stats.seconds, stats.errors, stats.requests
                );
                (stats.error_ratio, failed(CHECK, error, took))
            }
            Judged::Window(stats, _) => (stats.error_ratio, passed(CHECK, took)),
            Judged::Gauge(value) if !(0.0..=1.0).contains(&value) => {
                let error = format!(
                    "gauge {} is {value}, which is no error ratio (0 to 1)",
                    self.check.error_rate_metric
                );
                (value.clamp(0.0, 1.0), failed(CHECK, error, took))
            }
            Judged::Gauge(ratio) if ratio > limit => {
                let error = format!(
                    "error ratio {ratio:.3} (gauge {}) is above {limit}",
                    self.check.error_rate_metric
                );
                (ratio, failed(CHECK, error, took))
            }
            Judged::Gauge(ratio) => (ratio, passed(CHECK, took)),
            Judged::GaugeMissing => {
                let error = format!(
                    "the backend's metrics have no {} gauge (checks.traffic.source = \"gauge\")",
                    self.check.error_rate_metric
                );
                (0.0, failed(CHECK, error, took))
            }
        };
        result.observed_value = ratio;
        result.observed_unit = "ratio".to_string();
        result.threshold = limit;
        result.detail = Some(Detail::Traffic(TrafficDetail {
            error_ratio: ratio,
            window_requests: stats.requests,
            window_errors: stats.errors,
            window_seconds: stats.seconds,
            mean_latency_seconds: stats.mean_latency_seconds,
            p95_latency_seconds: stats.p95_latency_seconds,
            p99_latency_seconds: stats.p99_latency_seconds,
        }));
        result
    }

    /// Reads the metrics page into the kept buffer, or says why it could not.
    async fn scrape(&mut self) -> Result<(), String> {
        let fetched = self.metrics.get(&mut self.body, MAX_METRICS_BYTES).await?;
        if !fetched.status.is_success() {
            return Err(format!("HTTP {} from the metrics endpoint", fetched.status));
        }
        match fetched.body {
            Ok(()) => Ok(()),
            Err(BodyError::Failed(error)) => Err(error),
            Err(BodyError::TooLarge) => {
                // Not kept: a normal page is a few kilobytes.
                self.body = Vec::new();
                Err(format!(
                    "the metrics page is larger than {MAX_METRICS_BYTES} bytes"
                ))
            }
        }
    }

    /// After a timeout: the connection may be mid-response.
    pub(crate) fn forget_connection(&mut self) {
        self.metrics.forget_connection();
    }
}

/// The report's cumulative counters, from one scrape. The aggregator
/// takes counters back only all together (the backend restarted): while
/// requests did not go back, a 5xx count that went back alone (its series
/// reset or vanished by itself) stays at the count `previous` reported
/// until it passes it again. Errors never exceed requests.
fn counters(sample: &TrafficSample, previous: Option<&TrafficCounters>) -> TrafficCounters {
    let requests_total = sample.requests.round() as u64;
    let mut errors_total = sample.errors.round() as u64;
    if let Some(previous) = previous.filter(|p| requests_total >= p.requests_total) {
        errors_total = errors_total.max(previous.errors_total);
    }
    TrafficCounters {
        requests_total,
        errors_total: errors_total.min(requests_total),
        request_duration_seconds_sum: sample.duration_sum,
        request_duration_seconds_count: sample.duration_count.round() as u64,
        websocket_connections: sample.websocket_connections.unwrap_or(0.0).round() as u64,
    }
}

#[cfg(test)]
mod tests;
