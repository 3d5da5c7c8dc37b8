//! Traffic counters and their Prometheus text rendering.
//!
//! Hand-written rather than a `metrics` recorder because several simulated
//! backends share one process in tests, and a recorder is process-global.

use crate::error_window::ErrorWindow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Upper bounds of the latency histogram, in seconds (Prometheus defaults).
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Content type of Prometheus text exposition format 0.0.4.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Everything `/metrics` reports about one backend.
#[derive(Debug)]
pub(crate) struct Metrics {
    traffic: Mutex<Traffic>,
    /// Open WebSocket connections; shared with `/health/detailed`.
    websockets: AtomicU64,
    /// Origin for the error window's seconds.
    started: Instant,
}

#[derive(Debug, Default)]
struct Traffic {
    /// Work requests by status code; 200 and 500 are always present so a
    /// scraper sees both series from the first scrape.
    by_code: BTreeMap<u16, u64>,
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    bucket_counts: [u64; BUCKETS.len() + 1],
    duration_sum: f64,
    count: u64,
    errors: ErrorWindow,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let traffic = Traffic {
            by_code: BTreeMap::from([(200, 0), (500, 0)]),
            ..Traffic::default()
        };
        Self {
            traffic: Mutex::new(traffic),
            websockets: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    fn second_now(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Counts one answered work request.
    pub(crate) fn record(&self, code: u16, elapsed: Duration) {
        let second = self.second_now();
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(BUCKETS.len());
        let mut traffic = self.traffic.lock().expect("metrics lock poisoned");
        *traffic.by_code.entry(code).or_insert(0) += 1;
        traffic.bucket_counts[bucket] += 1;
        traffic.duration_sum += seconds;
        traffic.count += 1;
        traffic.errors.record(second, code >= 500);
    }

    /// Marks a WebSocket connection open until the guard is dropped, so the
    /// gauge stays right however the connection ends.
    pub(crate) fn open_websocket(self: &Arc<Self>) -> WebSocketGuard {
        self.websockets.fetch_add(1, Ordering::Relaxed);
        WebSocketGuard(Arc::clone(self))
    }

    pub(crate) fn open_websockets(&self) -> u64 {
        self.websockets.load(Ordering::Relaxed)
    }

    /// Renders Prometheus text format 0.0.4.
    pub(crate) fn render(&self) -> String {
        let second = self.second_now();
        let traffic = self.traffic.lock().expect("metrics lock poisoned");
        let mut out = String::with_capacity(2048);
        // Writing to a String cannot fail.
        let _ = render_into(&mut out, &traffic, second, self.open_websockets());
        out
    }
}

fn render_into(
    out: &mut String,
    traffic: &Traffic,
    second: u64,
    websockets: u64,
) -> std::fmt::Result {
    writeln!(
        out,
        "# HELP http_requests_total Work requests answered, by HTTP status code."
    )?;
    writeln!(out, "# TYPE http_requests_total counter")?;
    for (code, count) in &traffic.by_code {
        writeln!(out, "http_requests_total{{code=\"{code}\"}} {count}")?;
    }

    let name = "http_request_duration_seconds";
    writeln!(
        out,
        "# HELP {name} Time to answer a work request, injected latency included."
    )?;
    writeln!(out, "# TYPE {name} histogram")?;
    let mut cumulative = 0;
    for (i, count) in traffic.bucket_counts.iter().enumerate() {
        cumulative += count;
        match BUCKETS.get(i) {
            Some(le) => writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}")?,
            None => writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}")?,
        }
    }
    writeln!(out, "{name}_sum {}", traffic.duration_sum)?;
    writeln!(out, "{name}_count {}", traffic.count)?;

    writeln!(
        out,
        "# HELP websocket_connections Open WebSocket connections."
    )?;
    writeln!(out, "# TYPE websocket_connections gauge")?;
    writeln!(out, "websocket_connections {websockets}")?;

    writeln!(
        out,
        "# HELP error_rate Share of work requests answered 5xx over the last 10 seconds."
    )?;
    writeln!(out, "# TYPE error_rate gauge")?;
    writeln!(out, "error_rate {}", traffic.errors.ratio(second))
}

/// Holds one count in the `websocket_connections` gauge.
#[derive(Debug)]
pub(crate) struct WebSocketGuard(Arc<Metrics>);

impl Drop for WebSocketGuard {
    fn drop(&mut self) {
        self.0.websockets.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_match() {
        let metrics = Metrics::new();
        metrics.record(200, Duration::from_millis(3));
        metrics.record(500, Duration::from_millis(300));
        metrics.record(200, Duration::from_secs(20));
        let text = metrics.render();
        for line in [
            "http_requests_total{code=\"200\"} 2",
            "http_requests_total{code=\"500\"} 1",
            "http_request_duration_seconds_bucket{le=\"0.005\"} 1",
            "http_request_duration_seconds_bucket{le=\"0.25\"} 1",
            "http_request_duration_seconds_bucket{le=\"0.5\"} 2",
            "http_request_duration_seconds_bucket{le=\"10\"} 2",
            "http_request_duration_seconds_bucket{le=\"+Inf\"} 3",
            "http_request_duration_seconds_count 3",
            "websocket_connections 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(text.contains("\nerror_rate 0.333"), "{text}");
    }

    #[test]
    fn websocket_guard_counts_while_alive() {
        let metrics = Arc::new(Metrics::new());
        let guard = metrics.open_websocket();
        assert_eq!(metrics.open_websockets(), 1);
        drop(guard);
        assert_eq!(metrics.open_websockets(), 0);
    }
}
