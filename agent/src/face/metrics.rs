//! The agent's `/metrics` in Prometheus text format 0.0.4, prefix
//! `greenlight_agent_`, base units. The stream series come twice: totals
//! over every aggregator under their first names (with one aggregator,
//! exactly its figures), and per aggregator as `greenlight_agent_stream_*`
//! with an `aggregator` label. Rendered by hand from the agent's own
//! counters: a dozen series do not need a registry, and a global recorder
//! (the `metrics` crate's) would be shared by every agent a test or the demo
//! runs in one process. Pure: a snapshot in, text out.

use std::fmt::Write as _;

use greenlight_proto::v1::CheckStatus;

use super::{AggregatorSnapshot, Snapshot};
use crate::histogram::{BOUNDS, HistogramSnapshot};

/// Content type of the text exposition format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders every series. `durations` is one histogram per check, in the
/// order of `snapshot.checks`.
pub(crate) fn render(snapshot: &Snapshot, durations: &[HistogramSnapshot]) -> String {
    let mut out = String::with_capacity(4096);
    // Writing to a String cannot fail.
    let _ = render_into(&mut out, snapshot, durations);
    out
}

fn render_into(
    out: &mut String,
    snapshot: &Snapshot,
    durations: &[HistogramSnapshot],
) -> std::fmt::Result {
    let name = "greenlight_agent_probe_duration_seconds";
    writeln!(
        out,
        "# HELP {name} How long each probe run took, timeouts included."
    )?;
    writeln!(out, "# TYPE {name} histogram")?;
    for ((check, _), histogram) in snapshot.checks.iter().zip(durations) {
        for (bound, count) in BOUNDS.iter().zip(&histogram.cumulative) {
            writeln!(
                out,
                "{name}_bucket{{check=\"{check}\",le=\"{bound}\"}} {count}"
            )?;
        }
        writeln!(
            out,
            "{name}_bucket{{check=\"{check}\",le=\"+Inf\"}} {}",
            histogram.count
        )?;
        writeln!(
            out,
            "{name}_sum{{check=\"{check}\"}} {}",
            histogram.sum_seconds
        )?;
        writeln!(out, "{name}_count{{check=\"{check}\"}} {}", histogram.count)?;
    }

    let name = "greenlight_agent_check_up";
    writeln!(
        out,
        "# HELP {name} 1 while the check's newest result passes (or warns), 0 while it fails or has none."
    )?;
    writeln!(out, "# TYPE {name} gauge")?;
    for (check, latest) in &snapshot.checks {
        let Some(latest) = latest else {
            writeln!(out, "{name}{{check=\"{check}\",component=\"\"}} 0")?;
            continue;
        };
        for result in &latest.observation.results {
            let up = u8::from(result.status() != CheckStatus::Fail);
            let component = escape(&result.component);
            writeln!(
                out,
                "{name}{{check=\"{check}\",component=\"{component}\"}} {up}"
            )?;
        }
    }

    // Totals over every aggregator (with one, exactly its figures), then
    // the same per aggregator, labelled with its address.
    let aggregators = &snapshot.aggregators;
    let connected = aggregators.iter().filter(|a| a.connected).count();
    let waiting: usize = aggregators.iter().map(|a| a.outbox_reports).sum();
    let dropped: u64 = aggregators.iter().map(|a| a.dropped).sum();
    let reconnects: u64 = aggregators.iter().map(|a| a.reconnects).sum();
    let totals: [(&str, &str, &str, f64); 5] = [
        (
            "greenlight_agent_reports_total",
            "counter",
            "Reports made (the newest sequence number).",
            snapshot.reports as f64,
        ),
        (
            "greenlight_agent_reports_dropped_total",
            "counter",
            "Reports dropped unsent because an aggregator's outbox was full, summed over the aggregators.",
            dropped as f64,
        ),
        (
            "greenlight_agent_outbox_reports",
            "gauge",
            "Reports waiting for an aggregator's acknowledgement, summed over the aggregators.",
            waiting as f64,
        ),
        (
            "greenlight_agent_aggregator_connected",
            "gauge",
            "Aggregators whose report stream is up (1 or 0 with one aggregator).",
            connected as f64,
        ),
        (
            "greenlight_agent_reconnects_total",
            "counter",
            "Connection attempts after the first, summed over the aggregators.",
            reconnects as f64,
        ),
    ];
    for (name, kind, help, value) in totals {
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} {kind}")?;
        writeln!(out, "{name} {value}")?;
    }

    type Figure = fn(&AggregatorSnapshot) -> f64;
    let per_aggregator: [(&str, &str, &str, Figure); 4] = [
        (
            "greenlight_agent_stream_connected",
            "gauge",
            "1 while the report stream to this aggregator is up.",
            |a| f64::from(u8::from(a.connected)),
        ),
        (
            "greenlight_agent_stream_outbox_reports",
            "gauge",
            "Reports waiting for this aggregator's acknowledgement.",
            |a| a.outbox_reports as f64,
        ),
        (
            "greenlight_agent_stream_reports_dropped_total",
            "counter",
            "Reports this aggregator will never get: dropped unsent because its outbox was full.",
            |a| a.dropped as f64,
        ),
        (
            "greenlight_agent_stream_reconnects_total",
            "counter",
            "Connection attempts to this aggregator after the first.",
            |a| a.reconnects as f64,
        ),
    ];
    for (name, kind, help, figure) in per_aggregator {
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} {kind}")?;
        for aggregator in aggregators {
            let address = escape(&aggregator.address);
            writeln!(
                out,
                "{name}{{aggregator=\"{address}\"}} {}",
                figure(aggregator)
            )?;
        }
    }
    Ok(())
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use greenlight_proto::v1::CheckKind;

    use super::*;
    use crate::face::{AggregatorSnapshot, Identity};
    use crate::histogram::Histogram;
    use crate::probe::{Observation, failed, passed};
    use crate::runner::Latest;

    #[test]
    fn renders_every_series_and_parses_back() {
        let histogram = Histogram::default();
        histogram.observe(Duration::from_millis(3));
        let mut database = failed(CheckKind::Http, "down", Duration::ZERO);
        database.component = "data\"base".into();
        let snapshot = Snapshot {
            identity: Identity {
                deployment: "escashop".into(),
                color: "green".into(),
                instance_id: "green-1".into(),
            },
            checks: vec![
                (
                    "http",
                    Some(Latest {
                        observation: Observation {
                            results: vec![passed(CheckKind::Http, Duration::ZERO), database],
                            counters: None,
                        },
                        at: SystemTime::now(),
                        next_run: tokio::time::Instant::now(),
                    }),
                ),
                ("redis", None),
            ],
            aggregators: vec![
                AggregatorSnapshot {
                    address: "http://10.0.0.5:7070".into(),
                    connected: false,
                    outbox_reports: 7,
                    dropped: 2,
                    reconnects: 4,
                },
                AggregatorSnapshot {
                    address: "http://10.0.0.6:7070".into(),
                    connected: true,
                    outbox_reports: 1,
                    dropped: 0,
                    reconnects: 1,
                },
            ],
            reports: 9,
            now: SystemTime::now(),
        };
        let text = render(
            &snapshot,
            &[histogram.snapshot(), Histogram::default().snapshot()],
        );
        for line in [
            "greenlight_agent_probe_duration_seconds_bucket{check=\"http\",le=\"0.005\"} 1",
            "greenlight_agent_probe_duration_seconds_count{check=\"http\"} 1",
            "greenlight_agent_probe_duration_seconds_count{check=\"redis\"} 0",
            "greenlight_agent_check_up{check=\"http\",component=\"\"} 1",
            "greenlight_agent_check_up{check=\"http\",component=\"data\\\"base\"} 0",
            "greenlight_agent_check_up{check=\"redis\",component=\"\"} 0",
            "greenlight_agent_reports_total 9",
            "greenlight_agent_reports_dropped_total 2",
            "greenlight_agent_outbox_reports 8",
            "greenlight_agent_aggregator_connected 1",
            "greenlight_agent_reconnects_total 5",
            "greenlight_agent_stream_connected{aggregator=\"http://10.0.0.5:7070\"} 0",
            "greenlight_agent_stream_connected{aggregator=\"http://10.0.0.6:7070\"} 1",
            "greenlight_agent_stream_outbox_reports{aggregator=\"http://10.0.0.5:7070\"} 7",
            "greenlight_agent_stream_reports_dropped_total{aggregator=\"http://10.0.0.5:7070\"} 2",
            "greenlight_agent_stream_reconnects_total{aggregator=\"http://10.0.0.6:7070\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        let lines = text.lines().map(|line| Ok(line.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
        assert!(scrape.samples.len() >= 10);
    }
}
