//! One scrape of the backend's `/metrics`, reduced to the counters the
//! traffic check needs. Parsing is `prometheus-parse`'s; this only picks and
//! sums.

use prometheus_parse::{Scrape, Value};

/// The metric names to look for (from `[checks.traffic]`), with the
/// derived series names made once rather than every scrape.
#[derive(Debug, Clone)]
pub(crate) struct MetricNames {
    /// Counter of handled requests, e.g. `http_requests_total`.
    requests: String,
    /// Label holding the HTTP status, e.g. `code`.
    status_label: String,
    /// Histogram or summary of durations, e.g. `http_request_duration_seconds`.
    duration: String,
    duration_sum: String,
    duration_count: String,
    duration_bucket: String,
    /// A gauge holding the error ratio, e.g. `error_rate`.
    error_rate: String,
    /// A gauge of open WebSocket connections.
    websockets: String,
}

impl MetricNames {
    pub(crate) fn new(
        requests: &str,
        status_label: &str,
        duration: &str,
        error_rate: &str,
        websockets: &str,
    ) -> Self {
        MetricNames {
            requests: requests.to_string(),
            status_label: status_label.to_string(),
            duration: duration.to_string(),
            duration_sum: format!("{duration}_sum"),
            duration_count: format!("{duration}_count"),
            duration_bucket: format!("{duration}_bucket"),
            error_rate: error_rate.to_string(),
            websockets: websockets.to_string(),
        }
    }
}

/// Cumulative counters as one scrape showed them, summed over label sets.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TrafficSample {
    pub(crate) requests: f64,
    /// Requests whose status label starts with `5`.
    pub(crate) errors: f64,
    pub(crate) duration_sum: f64,
    pub(crate) duration_count: f64,
    /// Cumulative histogram buckets `(upper bound, count)`, ascending, `+Inf`
    /// last; empty when the duration metric is not a histogram.
    pub(crate) buckets: Vec<(f64, f64)>,
    /// Whether the requests metric appeared at all: a backend that has not
    /// served a request yet often does not expose it.
    pub(crate) requests_seen: bool,
    /// The error-ratio gauge (the worst label set), if exposed.
    pub(crate) error_rate: Option<f64>,
    /// The open-WebSockets gauge (summed), if exposed.
    pub(crate) websocket_connections: Option<f64>,
}

impl MetricNames {
    /// Whether a line of the page can matter: a sample of one of these
    /// metrics or the `# TYPE` line of one. Only those reach the parser,
    /// whose regular expressions would otherwise run over every line of the
    /// page (most of it often the runtime's `go_*` or `process_*` families).
    fn wanted(&self, line: &str) -> bool {
        let line = line.trim_start();
        let name = match line.strip_prefix('#') {
            Some(comment) => {
                let mut words = comment.split_ascii_whitespace();
                if words.next() != Some("TYPE") {
                    return false;
                }
                words.next().unwrap_or("")
            }
            None => line
                .split(|c: char| c == '{' || c.is_ascii_whitespace())
                .next()
                .unwrap_or(""),
        };
        [
            &self.requests,
            &self.duration,
            &self.duration_bucket,
            &self.duration_sum,
            &self.duration_count,
            &self.error_rate,
            &self.websockets,
        ]
        .iter()
        .any(|wanted| wanted.as_str() == name)
    }
}

/// Picks the traffic counters out of Prometheus text exposition.
pub(crate) fn parse_sample(text: &str, names: &MetricNames) -> TrafficSample {
    let lines = text
        .lines()
        .filter(|line| names.wanted(line))
        .map(|line| Ok(line.to_string()));
    // Reading from a string cannot fail; the parser skips lines it cannot read.
    let Ok(scrape) = Scrape::parse(lines) else {
        return TrafficSample::default();
    };
    let mut sample = TrafficSample::default();
    for metric in &scrape.samples {
        let name = metric.metric.as_str();
        if name == names.requests {
            let Some(value) = counter(&metric.value) else {
                continue;
            };
            sample.requests_seen = true;
            add(&mut sample.requests, value);
            let status = metric.labels.get(&names.status_label).unwrap_or("");
            if status.starts_with('5') {
                add(&mut sample.errors, value);
            }
        } else if name == names.error_rate {
            if let Some(value) = scalar(&metric.value) {
                sample.error_rate = Some(sample.error_rate.map_or(value, |worst| worst.max(value)));
            }
        } else if name == names.websockets {
            if let Some(value) = scalar(&metric.value) {
                *sample.websocket_connections.get_or_insert(0.0) += value;
            }
        } else if name == names.duration_sum {
            add(
                &mut sample.duration_sum,
                counter(&metric.value).unwrap_or(0.0),
            );
        } else if name == names.duration_count {
            add(
                &mut sample.duration_count,
                counter(&metric.value).unwrap_or(0.0),
            );
        } else if name == names.duration {
            // A typed histogram: the parser folds its `_bucket` lines into one
            // sample per label set, named after the histogram.
            if let Value::Histogram(counts) = &metric.value {
                for bucket in counts {
                    add_bucket(&mut sample.buckets, bucket.less_than, bucket.count);
                }
            }
        } else if name == names.duration_bucket {
            // An untyped histogram (no `# TYPE` line): buckets stay lines.
            let bound = metric.labels.get("le").and_then(parse_bound);
            if let (Some(bound), Some(count)) = (bound, scalar(&metric.value)) {
                add_bucket(&mut sample.buckets, bound, count);
            }
        }
    }
    sample
        .buckets
        .sort_by(|left, right| left.0.total_cmp(&right.0));
    if sample.duration_count == 0.0 {
        // Some exporters leave out `_count`; the `+Inf` bucket is the same.
        if let Some(&(bound, count)) = sample.buckets.last() {
            if bound == f64::INFINITY {
                sample.duration_count = count;
            }
        }
    }
    sample
}

/// A counter's value: finite and never negative (a negative "counter"
/// would make errors outnumber requests, or a negative duration sum).
fn counter(value: &Value) -> Option<f64> {
    scalar(value).filter(|value| *value >= 0.0)
}

/// Adds a counter's value to a total that stays finite: the sum of many
/// huge values is the largest number, not infinity.
fn add(total: &mut f64, value: f64) {
    *total = (*total + value).min(f64::MAX);
}

fn scalar(value: &Value) -> Option<f64> {
    match value {
        Value::Counter(value) | Value::Gauge(value) | Value::Untyped(value) => {
            value.is_finite().then_some(*value)
        }
        Value::Histogram(_) | Value::Summary(_) => None,
    }
}

fn parse_bound(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        other => other.parse().ok(),
    }
}

/// Adds a bucket's count. A bound that is no duration (`le="nan"`, a
/// negative one) or a count that is no count is left out: either would
/// make a quantile NaN or negative.
fn add_bucket(buckets: &mut Vec<(f64, f64)>, bound: f64, count: f64) {
    if !(count.is_finite() && count >= 0.0) || bound.is_nan() || bound < 0.0 {
        return;
    }
    match buckets.iter_mut().find(|(existing, _)| *existing == bound) {
        Some((_, total)) => add(total, count),
        None => buckets.push((bound, count)),
    }
}

#[cfg(test)]
pub(crate) fn test_names() -> MetricNames {
    MetricNames::new(
        "http_requests_total",
        "code",
        "http_request_duration_seconds",
        "error_rate",
        "websocket_connections",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPED: &str = r#"
# HELP http_requests_total Requests handled.
# TYPE http_requests_total counter
http_requests_total{method="GET",code="200"} 90
http_requests_total{method="POST",code="201"} 4
http_requests_total{method="GET",code="503"} 5
http_requests_total{method="GET",code="500"} 1
http_requests_total{method="GET",code="404"} 3
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{route="/a",le="0.1"} 50
http_request_duration_seconds_bucket{route="/a",le="0.5"} 90
http_request_duration_seconds_bucket{route="/a",le="+Inf"} 100
http_request_duration_seconds_sum{route="/a"} 12.5
http_request_duration_seconds_count{route="/a"} 100
http_request_duration_seconds_bucket{route="/b",le="0.1"} 0
http_request_duration_seconds_bucket{route="/b",le="0.5"} 2
http_request_duration_seconds_bucket{route="/b",le="+Inf"} 3
http_request_duration_seconds_sum{route="/b"} 1.5
http_request_duration_seconds_count{route="/b"} 3
process_cpu_seconds_total 1.5
# TYPE websocket_connections gauge
websocket_connections 7
# TYPE error_rate gauge
error_rate 0.12
"#;

    #[test]
    fn only_the_wanted_families_reach_the_parser() {
        let names = test_names();
        let kept: Vec<&str> = TYPED.lines().filter(|line| names.wanted(line)).collect();
        assert_eq!(kept.len(), 21, "{kept:#?}");
        assert!(!kept.iter().any(|line| line.contains("process_cpu")));
        assert!(!kept.iter().any(|line| line.starts_with("# HELP")));
        assert!(names.wanted("  http_requests_total 5"));
        assert!(!names.wanted("http_requests_total_created 5"));
        assert!(!names.wanted("# TYPE go_goroutines gauge"));
    }

    #[test]
    fn sums_requests_errors_and_histogram() {
        let sample = parse_sample(TYPED, &test_names());
        assert!(sample.requests_seen);
        assert_eq!(sample.requests, 103.0);
        assert_eq!(sample.errors, 6.0);
        assert_eq!(sample.duration_sum, 14.0);
        assert_eq!(sample.duration_count, 103.0);
        assert_eq!(
            sample.buckets,
            vec![(0.1, 50.0), (0.5, 92.0), (f64::INFINITY, 103.0)]
        );
        assert_eq!(sample.websocket_connections, Some(7.0));
        assert_eq!(sample.error_rate, Some(0.12));
    }

    #[test]
    fn the_guides_error_rate_gauge_alone() {
        let sample = parse_sample("error_rate 0.031\n", &test_names());
        assert!(!sample.requests_seen);
        assert_eq!(sample.error_rate, Some(0.031));
    }

    #[test]
    fn untyped_text_works_too() {
        let text = "http_requests_total{code=\"500\"} 2\n\
                    http_requests_total{code=\"200\"} 8\n\
                    http_request_duration_seconds_bucket{le=\"1\"} 9\n\
                    http_request_duration_seconds_bucket{le=\"+Inf\"} 10\n\
                    http_request_duration_seconds_sum 3\n";
        let sample = parse_sample(text, &test_names());
        assert_eq!((sample.requests, sample.errors), (10.0, 2.0));
        assert_eq!(sample.buckets, vec![(1.0, 9.0), (f64::INFINITY, 10.0)]);
        assert_eq!(sample.duration_count, 10.0, "taken from the +Inf bucket");
    }

    #[test]
    fn values_no_counter_has_are_left_out() {
        // Each of these made a report the aggregator refuses (errors above
        // requests, a negative sum, a NaN quantile), so the agent went stale
        // instead of judging. `le="nan"` and negative sums were found by an
        // earlier fuzzing; the prometheus_intake harness checks them all.
        let text = "http_requests_total{code=\"200\"} -5\n\
                    http_requests_total{code=\"500\"} 3\n\
                    http_request_duration_seconds_sum -2\n\
                    http_request_duration_seconds_count -1\n\
                    http_request_duration_seconds_bucket{le=\"nan\"} 3\n\
                    http_request_duration_seconds_bucket{le=\"-1\"} 1\n\
                    http_request_duration_seconds_bucket{le=\"+Inf\"} -3\n";
        let sample = parse_sample(text, &test_names());
        assert_eq!((sample.requests, sample.errors), (3.0, 3.0));
        assert_eq!((sample.duration_sum, sample.duration_count), (0.0, 0.0));
        assert_eq!(sample.buckets, vec![]);
    }

    #[test]
    fn huge_counters_add_up_to_a_finite_total() {
        let text = "http_requests_total{code=\"500\"} 1e308\n\
                    http_requests_total{code=\"502\"} 1e308\n\
                    http_request_duration_seconds_sum{a=\"1\"} 1e308\n\
                    http_request_duration_seconds_sum{a=\"2\"} 1e308\n";
        let sample = parse_sample(text, &test_names());
        assert_eq!(sample.requests, f64::MAX);
        assert_eq!(sample.errors, f64::MAX);
        assert_eq!(sample.duration_sum, f64::MAX);
    }

    #[test]
    fn missing_metric_is_no_traffic() {
        let sample = parse_sample("process_cpu_seconds_total 1.5\n", &test_names());
        assert!(!sample.requests_seen);
        assert_eq!(sample, TrafficSample::default());
    }
}
