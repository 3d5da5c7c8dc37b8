//! The `traffic` check: scrape the backend's Prometheus `/metrics`, keep
//! the last `window` of scrapes, and fail when the error ratio over it is
//! above the limit, once there were enough requests to judge.

mod quantile;
mod sample;
mod window;

use std::time::Duration;

use greenlight_proto::v1::{TrafficCounters, TrafficDetail, check_result::Detail};
use tokio::time::Instant;
use tracing::{info, warn};

use self::sample::{MetricNames, TrafficSample, parse_sample};
use self::window::{TrafficWindow, WindowStats};
use super::http::probe_client;
use super::{Observation, ProbeSetupError, failed, passed};
use crate::config::TrafficCheck;
use crate::error_text::describe;

pub(super) const CHECK: &str = "traffic";

/// A metrics page larger than this is refused, not parsed.
const MAX_METRICS_BYTES: usize = 16 * 1024 * 1024;

pub(crate) struct TrafficProbe {
    client: reqwest::Client,
    check: TrafficCheck,
    window: TrafficWindow,
    /// The missing-metric warning is said once, not every round.
    warned_missing_metric: bool,
}

impl TrafficProbe {
    pub(crate) fn new(check: TrafficCheck, timeout: Duration) -> Result<Self, ProbeSetupError> {
        Ok(TrafficProbe {
            client: probe_client(CHECK, timeout)?,
            window: TrafficWindow::new(check.window),
            check,
            warned_missing_metric: false,
        })
    }

    pub(crate) async fn check(&mut self) -> Observation {
        let started = Instant::now();
        let text = match self.scrape().await {
            Ok(text) => text,
            Err(error) => return failed(CHECK, error, started.elapsed()).into(),
        };
        let names = MetricNames {
            requests: &self.check.requests_metric,
            status_label: &self.check.status_label,
            duration: &self.check.duration_metric,
        };
        let sample = parse_sample(&text, names);
        if !sample.requests_seen && !self.warned_missing_metric {
            warn!(
                url = %self.check.url,
                metric = %self.check.requests_metric,
                "the requests metric is not in the backend's metrics; counting no traffic \
                 (check checks.traffic.requests_metric if requests are being served)"
            );
            self.warned_missing_metric = true;
        }
        let counters = counters(&sample);
        let stats = self.window.observe(Instant::now(), sample);
        if stats.restarted {
            info!(url = %self.check.url, "traffic counters went down (backend restarted?); window restarted");
        }
        Observation {
            result: self.judge(&stats, started.elapsed()),
            counters: Some(counters),
        }
    }

    /// Fails on too many errors, once the window holds enough requests to
    /// say so; passes (inconclusively) with fewer.
    fn judge(&self, stats: &WindowStats, took: Duration) -> greenlight_proto::v1::CheckResult {
        let limit = self.check.max_error_ratio;
        let too_many_errors =
            stats.requests >= self.check.min_requests && stats.error_ratio > limit;
        let mut result = if too_many_errors {
            failed(
                CHECK,
                format!(
                    "error ratio {:.3} over the last {:.0}s ({} of {} requests failed) is above {limit}",
                    stats.error_ratio, stats.seconds, stats.errors, stats.requests
                ),
                took,
            )
        } else {
            passed(CHECK, took)
        };
        result.observed_value = stats.error_ratio;
        result.observed_unit = "ratio".to_string();
        result.threshold = limit;
        result.detail = Some(Detail::Traffic(TrafficDetail {
            error_ratio: stats.error_ratio,
            window_requests: stats.requests,
            window_errors: stats.errors,
            window_seconds: stats.seconds,
            mean_latency_seconds: stats.mean_latency_seconds,
            p95_latency_seconds: stats.p95_latency_seconds,
            p99_latency_seconds: stats.p99_latency_seconds,
        }));
        result
    }

    /// The metrics page as text, or why it could not be had.
    async fn scrape(&self) -> Result<String, String> {
        let mut response = self
            .client
            .get(self.check.url.clone())
            .send()
            .await
            .map_err(|error| describe(&error))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("HTTP {status} from the metrics endpoint"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| describe(&error))? {
            if body.len() + chunk.len() > MAX_METRICS_BYTES {
                return Err(format!(
                    "the metrics page is larger than {MAX_METRICS_BYTES} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| "the metrics page is not UTF-8 text".to_string())
    }
}

/// The report's cumulative counters, from one scrape.
fn counters(sample: &TrafficSample) -> TrafficCounters {
    TrafficCounters {
        requests_total: sample.requests.round() as u64,
        errors_total: sample.errors.round() as u64,
        request_duration_seconds_sum: sample.duration_sum,
        request_duration_seconds_count: sample.duration_count.round() as u64,
        websocket_connections: 0,
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
        let mut settings = crate::config::test_settings();
        settings.checks.traffic = Some(TrafficSettings {
            min_requests,
            ..TrafficSettings::new(format!("http://127.0.0.1:{port}/metrics"))
        });
        let config = settings.validate().unwrap();
        let check = config.checks.traffic.clone().unwrap();
        Probe::Traffic(TrafficProbe::new(check, Duration::from_millis(500)).unwrap())
    }

    #[tokio::test]
    async fn fails_on_errors_above_the_limit_with_enough_requests() {
        let text = Arc::new(Mutex::new(page(100, 0)));
        let port = metrics_server(text.clone()).await;
        let mut probe = probe_for(port, 20);
        let timeout = Duration::from_millis(500);

        let first = probe.observe(timeout).await;
        assert_eq!(
            first.result.status(),
            CheckStatus::Pass,
            "{}",
            first.result.error
        );
        assert_eq!(first.counters.unwrap().requests_total, 100);

        // 3 errors in 10 requests: 30%, but too few requests to judge.
        *text.lock().unwrap() = page(107, 3);
        let few = probe.observe(timeout).await.result;
        assert_eq!(few.status(), CheckStatus::Pass);
        assert!((few.observed_value - 0.3).abs() < 1e-9);
        assert_eq!(few.observed_unit, "ratio");
        assert_eq!(few.threshold, 0.05);

        // 13 errors in 40 requests within the window: fail.
        *text.lock().unwrap() = page(127, 13);
        let many = probe.observe(timeout).await;
        assert_eq!(many.result.status(), CheckStatus::Fail);
        assert!(
            many.result.error.contains("13 of 40"),
            "{}",
            many.result.error
        );
        let counters = many.counters.unwrap();
        assert_eq!((counters.requests_total, counters.errors_total), (140, 13));
    }

    #[tokio::test]
    async fn unreachable_metrics_fail() {
        let mut probe = probe_for(closed_port().await, 20);
        let observation = probe.observe(Duration::from_millis(500)).await;
        assert_eq!(observation.result.status(), CheckStatus::Fail);
        assert_eq!(observation.result.error, "connection refused");
        assert_eq!(observation.counters, None);
    }
}
