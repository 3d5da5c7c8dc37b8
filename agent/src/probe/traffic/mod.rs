//! The `traffic` check: scrape the backend's Prometheus `/metrics`, keep
//! the last `window` of scrapes, and fail when the error ratio over it is
//! above the limit, once there were enough requests to judge. A backend
//! that only exposes an error-ratio gauge (the guide's `error_rate`) is
//! judged by that gauge instead.

mod quantile;
mod sample;
mod window;

use std::time::Duration;

use greenlight_proto::v1::{TrafficCounters, TrafficDetail, check_result::Detail};
use tokio::time::Instant;
use tracing::{info, warn};

use self::sample::{MetricNames, TrafficSample, parse_sample};
use self::window::{TrafficWindow, WindowStats};
use super::http::{BodyError, Getter};
use super::{ActiveConnections, Observation, failed, passed};
use crate::config::{TrafficCheck, TrafficSource};

pub(super) const CHECK: &str = "traffic";

/// A metrics page larger than this is refused, not parsed.
const MAX_METRICS_BYTES: usize = 16 * 1024 * 1024;

pub(crate) struct TrafficProbe {
    metrics: Getter,
    names: MetricNames,
    check: TrafficCheck,
    window: TrafficWindow,
    /// Written from the backend's WebSocket gauge.
    connections: ActiveConnections,
    /// The page buffer, kept between rounds.
    body: Vec<u8>,
    /// The missing-metric warning is said once, not every round.
    warned_missing_metric: bool,
}

/// What the error ratio is judged from in one round.
enum Judged {
    Window(WindowStats),
    Gauge(f64),
    /// `source = "gauge"` but the backend does not expose it.
    GaugeMissing,
}

impl TrafficProbe {
    pub(crate) fn new(check: TrafficCheck, connections: ActiveConnections) -> Self {
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
            check,
            connections,
            body: Vec::new(),
            warned_missing_metric: false,
        }
    }

    pub(crate) async fn check(&mut self) -> Observation {
        let started = Instant::now();
        if let Err(error) = self.scrape().await {
            return failed(CHECK, error, started.elapsed()).into();
        }
        // The page is Prometheus text; anything else parses as no metrics.
        let text = std::str::from_utf8(&self.body).unwrap_or("");
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
        let counters = counters(&sample);
        let gauge = sample.error_rate;
        let stats = self.window.observe(Instant::now(), sample);
        if stats.restarted {
            info!(url = %self.check.url, "traffic counters went down (backend restarted?); window restarted");
        }
        let judged = match (use_gauge, gauge) {
            (false, _) => Judged::Window(stats),
            (true, Some(ratio)) => Judged::Gauge(ratio),
            (true, None) => Judged::GaugeMissing,
        };
        Observation {
            results: vec![self.judge(judged, stats, started.elapsed())],
            counters: Some(counters),
        }
    }

    /// Fails on too many errors, once the window holds enough requests to
    /// say so (a gauge is taken at its word); passes (inconclusively) with
    /// fewer.
    fn judge(
        &self,
        judged: Judged,
        stats: WindowStats,
        took: Duration,
    ) -> greenlight_proto::v1::CheckResult {
        let limit = self.check.max_error_ratio;
        let (ratio, error) = match judged {
            Judged::Window(stats) => {
                let too_many =
                    stats.requests >= self.check.min_requests && stats.error_ratio > limit;
                let error = too_many.then(|| {
                    format!(
                        "error ratio {:.3} over the last {:.0}s ({} of {} requests failed) is above {limit}",
                        stats.error_ratio, stats.seconds, stats.errors, stats.requests
                    )
                });
                (stats.error_ratio, error)
            }
            Judged::Gauge(ratio) => {
                let error = (ratio > limit).then(|| {
                    format!(
                        "error ratio {ratio:.3} (gauge {}) is above {limit}",
                        self.check.error_rate_metric
                    )
                });
                (ratio, error)
            }
            Judged::GaugeMissing => (
                0.0,
                Some(format!(
                    "the backend's metrics have no {} gauge (checks.traffic.source = \"gauge\")",
                    self.check.error_rate_metric
                )),
            ),
        };
        let mut result = match error {
            Some(error) => failed(CHECK, error, took),
            None => passed(CHECK, took),
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

/// The report's cumulative counters, from one scrape.
fn counters(sample: &TrafficSample) -> TrafficCounters {
    TrafficCounters {
        requests_total: sample.requests.round() as u64,
        errors_total: sample.errors.round() as u64,
        request_duration_seconds_sum: sample.duration_sum,
        request_duration_seconds_count: sample.duration_count.round() as u64,
        websocket_connections: sample.websocket_connections.unwrap_or(0.0).round() as u64,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use greenlight_proto::v1::CheckStatus;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::config::TrafficSettings;
    use crate::probe::{Probe, closed_port};

    /// Serves whatever text `page` holds at any path, one request per
    /// connection.
    async fn metrics_server(page: Arc<Mutex<String>>) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let body = page.lock().unwrap().clone();
                tokio::spawn(async move {
                    let mut request = vec![0; 4096];
                    let _ = socket.read(&mut request).await;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\
                         content-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                });
            }
        });
        port
    }

    fn page(ok: u64, bad: u64) -> String {
        format!(
            "http_requests_total{{code=\"200\"}} {ok}\nhttp_requests_total{{code=\"502\"}} {bad}\n"
        )
    }

    fn probe_for(port: u16, min_requests: u64) -> Probe {
        probe_with(TrafficSettings {
            min_requests,
            ..TrafficSettings::new(format!("http://127.0.0.1:{port}/metrics"))
        })
    }

    fn probe_with(traffic: TrafficSettings) -> Probe {
        let mut settings = crate::config::test_settings();
        settings.checks.traffic = Some(traffic);
        let check = crate::probe::check_config(settings, "traffic");
        Probe::new(&check, &ActiveConnections::new()).unwrap()
    }

    #[tokio::test]
    async fn fails_on_errors_above_the_limit_with_enough_requests() {
        let text = Arc::new(Mutex::new(page(100, 0)));
        let port = metrics_server(text.clone()).await;
        let mut probe = probe_for(port, 20);
        let timeout = Duration::from_millis(500);

        let first = probe.observe(timeout).await;
        assert_eq!(
            first.result().status(),
            CheckStatus::Pass,
            "{}",
            first.result().error
        );
        assert_eq!(first.counters.unwrap().requests_total, 100);

        // 3 errors in 10 requests: 30%, but too few requests to judge.
        *text.lock().unwrap() = page(107, 3);
        let few = probe.observe(timeout).await.result().clone();
        assert_eq!(few.status(), CheckStatus::Pass);
        assert!((few.observed_value - 0.3).abs() < 1e-9);
        assert_eq!(few.observed_unit, "ratio");
        assert_eq!(few.threshold, 0.05);

        // 13 errors in 40 requests within the window: fail.
        *text.lock().unwrap() = page(127, 13);
        let many = probe.observe(timeout).await;
        assert_eq!(many.result().status(), CheckStatus::Fail);
        assert!(
            many.result().error.contains("13 of 40"),
            "{}",
            many.result().error
        );
        let counters = many.counters.unwrap();
        assert_eq!((counters.requests_total, counters.errors_total), (140, 13));
    }

    #[tokio::test]
    async fn unreachable_metrics_fail() {
        let mut probe = probe_for(closed_port().await, 20);
        let observation = probe.observe(Duration::from_millis(500)).await;
        assert_eq!(observation.result().status(), CheckStatus::Fail);
        assert_eq!(observation.result().error, "connection refused");
        assert_eq!(observation.counters, None);
    }

    #[tokio::test]
    async fn a_backend_restart_starts_the_window_over() {
        let text = Arc::new(Mutex::new(page(5000, 500)));
        let port = metrics_server(text.clone()).await;
        let mut probe = probe_for(port, 20);
        let timeout = Duration::from_millis(500);
        probe.observe(timeout).await;
        // The backend restarts: its counters begin again near zero. Taken
        // naively the difference is negative, or (against the old totals) a
        // 10% ratio that is history.
        *text.lock().unwrap() = page(30, 0);
        let restarted = probe.observe(timeout).await.result().clone();
        assert_eq!(restarted.status(), CheckStatus::Pass, "{}", restarted.error);
        assert_eq!(restarted.observed_value, 0.0);
        // From the new baseline: 10 errors in 50 requests.
        *text.lock().unwrap() = page(70, 10);
        let after = probe.observe(timeout).await.result().clone();
        assert_eq!(after.status(), CheckStatus::Fail);
        assert!((after.observed_value - 0.2).abs() < 1e-9, "{}", after.error);
        assert!(after.error.contains("10 of 50"), "{}", after.error);
    }

    #[tokio::test]
    async fn the_guides_error_rate_gauge_is_judged_alone() {
        let text = Arc::new(Mutex::new(
            "error_rate 0.02\nwebsocket_connections 4\n".to_string(),
        ));
        let port = metrics_server(text.clone()).await;
        let mut probe = probe_for(port, 20);
        let timeout = Duration::from_millis(500);
        let calm = probe.observe(timeout).await;
        assert_eq!(calm.result().status(), CheckStatus::Pass);
        assert_eq!(calm.result().observed_value, 0.02);
        assert_eq!(calm.counters.unwrap().websocket_connections, 4);

        *text.lock().unwrap() = "error_rate 0.12\n".to_string();
        let bad = probe.observe(timeout).await.result().clone();
        assert_eq!(bad.status(), CheckStatus::Fail);
        assert_eq!(bad.observed_value, 0.12);
        assert_eq!(bad.threshold, 0.05);
        assert!(bad.error.contains("gauge error_rate"), "{}", bad.error);
    }

    #[tokio::test]
    async fn source_gauge_fails_without_the_gauge() {
        let text = Arc::new(Mutex::new(page(10, 0)));
        let port = metrics_server(text).await;
        let mut probe = probe_with(TrafficSettings {
            source: crate::config::TrafficSource::Gauge,
            ..TrafficSettings::new(format!("http://127.0.0.1:{port}/metrics"))
        });
        let result = probe
            .observe(Duration::from_millis(500))
            .await
            .result()
            .clone();
        assert_eq!(result.status(), CheckStatus::Fail);
        assert!(
            result.error.contains("no error_rate gauge"),
            "{}",
            result.error
        );
    }
}
