//! The sliding window over recent scrapes: what the traffic check judges is
//! the change of the counters over the last `window`, not their totals since
//! the backend started. Pure: time comes in as an argument.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::quantile::{bucket_delta, histogram_quantile};
use super::sample::TrafficSample;

/// Scrapes kept at most, whatever the window and interval: a tiny interval
/// with a long window shortens the window instead of growing memory.
const MAX_SCRAPES: usize = 4096;

/// What happened within the window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct WindowStats {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    /// `errors / requests`, 0 without requests.
    pub(crate) error_ratio: f64,
    /// Time between the oldest and newest scrape compared.
    pub(crate) seconds: f64,
    /// `Δsum / Δcount` of the duration metric; 0 without observations.
    pub(crate) mean_latency_seconds: f64,
    /// From the histogram buckets; 0 when the metric is not a histogram.
    pub(crate) p95_latency_seconds: f64,
    pub(crate) p99_latency_seconds: f64,
    /// A counter went down (the backend restarted): the window started over.
    pub(crate) restarted: bool,
}

#[derive(Debug)]
pub(crate) struct TrafficWindow {
    span: Duration,
    /// Oldest first. The front is the newest scrape at least `span` old (the
    /// baseline), or the oldest one while the window is still filling.
    scrapes: VecDeque<(Instant, TrafficSample)>,
}

impl TrafficWindow {
    pub(crate) fn new(span: Duration) -> Self {
        TrafficWindow {
            span,
            scrapes: VecDeque::new(),
        }
    }

    /// Adds the scrape taken at `at` and returns the window's statistics.
    pub(crate) fn observe(&mut self, at: Instant, sample: TrafficSample) -> WindowStats {
        let restarted = self
            .scrapes
            .back()
            .is_some_and(|(_, last)| went_down(last, &sample));
        if restarted {
            self.scrapes.clear();
        }
        self.scrapes.push_back((at, sample));
        while self.scrapes.len() > MAX_SCRAPES
            || self
                .scrapes
                .get(1)
                .is_some_and(|(second, _)| at.saturating_duration_since(*second) >= self.span)
        {
            self.scrapes.pop_front();
        }
        let mut stats = self.stats();
        stats.restarted = restarted;
        stats
    }

    fn stats(&self) -> WindowStats {
        let (Some((start, old)), Some((end, new))) = (self.scrapes.front(), self.scrapes.back())
        else {
            return WindowStats::default();
        };
        let requests = (new.requests - old.requests).max(0.0);
        // A 5xx series can grow while another shrinks without any total
        // going down: more errors than requests would be refused.
        let errors = (new.errors - old.errors).max(0.0).min(requests);
        let count = new.duration_count - old.duration_count;
        let buckets = bucket_delta(&new.buckets, &old.buckets);
        WindowStats {
            requests: requests.round() as u64,
            errors: errors.round() as u64,
            error_ratio: if requests > 0.0 {
                (errors / requests).min(1.0)
            } else {
                0.0
            },
            seconds: end.saturating_duration_since(*start).as_secs_f64(),
            mean_latency_seconds: if count > 0.0 {
                (new.duration_sum - old.duration_sum).max(0.0) / count
            } else {
                0.0
            },
            p95_latency_seconds: histogram_quantile(0.95, &buckets),
            p99_latency_seconds: histogram_quantile(0.99, &buckets),
            restarted: false,
        }
    }
}

/// A cumulative counter that decreased: the process behind it restarted.
fn went_down(before: &TrafficSample, after: &TrafficSample) -> bool {
    after.requests < before.requests
        || after.errors < before.errors
        || after.duration_count < before.duration_count
        || after.duration_sum < before.duration_sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::traffic::sample::{parse_sample, test_names};

    /// Prometheus text with `ok` 200s and `bad` 500s so far.
    fn scrape(ok: u64, bad: u64) -> TrafficSample {
        let text = format!(
            "# TYPE http_requests_total counter\n\
             http_requests_total{{code=\"200\"}} {ok}\n\
             http_requests_total{{code=\"500\"}} {bad}\n\
             http_request_duration_seconds_sum {}\n\
             http_request_duration_seconds_count {}\n",
            (ok + bad) as f64 * 0.2,
            ok + bad
        );
        parse_sample(&text, &test_names())
    }

    fn seconds(start: Instant, n: u64) -> Instant {
        start + Duration::from_secs(n)
    }

    #[test]
    fn ratio_is_over_the_window_not_the_totals() {
        let t0 = Instant::now();
        let mut window = TrafficWindow::new(Duration::from_secs(30));
        // A long clean history...
        let first = window.observe(t0, scrape(10_000, 0));
        assert_eq!(first.requests, 0, "one scrape has no window yet");
        window.observe(seconds(t0, 10), scrape(10_100, 0));
        window.observe(seconds(t0, 20), scrape(10_200, 0));
        window.observe(seconds(t0, 30), scrape(10_300, 0));
        // ...then 10% errors over the last 30 s.
        window.observe(seconds(t0, 40), scrape(10_390, 10));
        window.observe(seconds(t0, 50), scrape(10_480, 20));
        let stats = window.observe(seconds(t0, 60), scrape(10_570, 30));
        assert_eq!(stats.requests, 300);
        assert_eq!(stats.errors, 30);
        assert!((stats.error_ratio - 0.1).abs() < 1e-9);
        assert_eq!(stats.seconds, 30.0);
        assert!((stats.mean_latency_seconds - 0.2).abs() < 1e-9);
    }

    #[test]
    fn counter_reset_restarts_the_window() {
        let t0 = Instant::now();
        let mut window = TrafficWindow::new(Duration::from_secs(30));
        window.observe(t0, scrape(1000, 100));
        window.observe(seconds(t0, 1), scrape(1100, 100));
        let stats = window.observe(seconds(t0, 2), scrape(5, 5));
        assert!(stats.restarted);
        assert_eq!((stats.requests, stats.errors), (0, 0));
        let stats = window.observe(seconds(t0, 3), scrape(25, 10));
        assert!(!stats.restarted);
        assert_eq!((stats.requests, stats.errors), (25, 5));
        assert!((stats.error_ratio - 0.2).abs() < 1e-9);
    }

    #[test]
    fn few_requests_give_a_ratio_the_check_may_ignore() {
        let t0 = Instant::now();
        let mut window = TrafficWindow::new(Duration::from_secs(30));
        window.observe(t0, scrape(0, 0));
        let stats = window.observe(seconds(t0, 1), scrape(2, 1));
        assert_eq!(stats.requests, 3);
        assert!((stats.error_ratio - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn errors_never_outnumber_requests() {
        // Found by an earlier fuzzing of the traffic window: the 200 series
        // shrank while the 500 series grew; no total went down, so no
        // restart, and the window counted 50 errors in 0 requests.
        let t0 = Instant::now();
        let mut window = TrafficWindow::new(Duration::from_secs(30));
        window.observe(t0, scrape(100, 0));
        let stats = window.observe(seconds(t0, 1), scrape(50, 50));
        assert!(!stats.restarted);
        assert_eq!((stats.requests, stats.errors), (0, 0));
        assert_eq!(stats.error_ratio, 0.0);
    }

    #[test]
    fn window_shorter_than_the_history_keeps_a_baseline() {
        let t0 = Instant::now();
        let mut window = TrafficWindow::new(Duration::from_secs(2));
        for n in 0..10 {
            window.observe(seconds(t0, n), scrape(n * 10, 0));
        }
        assert_eq!(window.scrapes.len(), 3, "baseline + the scrapes within 2 s");
        let stats = window.observe(seconds(t0, 10), scrape(100, 0));
        assert_eq!(stats.requests, 20);
    }
}
