//! What a run measured, as one JSON object (`--json`) or a table with
//! each figure beside issue 14's target.

use serde::Serialize;

pub const TARGET_ACCEPTED_PER_SECOND: f64 = 100_000.0;
pub const TARGET_RSS_PER_AGENT_BYTES: f64 = 64.0 * 1024.0;
pub const TARGET_GET_VERDICT_TO_REDIS_P99: f64 = 3.0;
pub const TARGET_PUBLICATION_P99_MS: f64 = 50.0;

#[derive(Debug, Serialize)]
pub struct Figures {
    pub agents_requested: u32,
    pub agents_connected: u32,
    pub connect_failures: u32,
    pub first_connect_error: Option<String>,
    pub rate_per_agent: f64,
    pub duration_seconds: f64,
    pub deployments: u32,
    /// Seconds the fleet took to connect and be welcomed.
    pub connect_seconds: f64,
    pub reports_sent: u64,
    pub reports_accepted: u64,
    pub reports_rejected: u64,
    /// Ticks skipped because an agent's queue was full.
    pub ticks_skipped: u64,
    pub streams_lost: u64,
    pub accepted_per_second: f64,
    pub target_accepted_per_second: f64,
    pub aggregator: Option<AggregatorUsage>,
    pub target_rss_per_agent_bytes: f64,
    pub get_verdict: Latency,
    pub get_verdict_failed: u64,
    pub get_verdict_first_error: Option<String>,
    pub redis_get: Option<RedisGetFigures>,
    pub get_verdict_p99_over_redis_get_p99: Option<f64>,
    pub target_get_verdict_p99_over_redis_get_p99: f64,
    pub publication: Option<Latency>,
    pub publication_unreadable: u64,
    /// Verdicts read on the channels, marker or not.
    pub publications: u64,
    /// Marker reports whose verdict was not seen published by the end.
    pub marker_reports_unpublished: u64,
    pub target_publication_p99_ms: f64,
    /// What could not be measured, and why.
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct AggregatorUsage {
    /// Mean cores busy while the fleet reported (1.0 = one core).
    pub cpu_cores: f64,
    pub rss_before_bytes: u64,
    pub rss_connected_bytes: u64,
    /// (RSS with every agent connected - RSS before) / agents connected.
    pub rss_per_agent_bytes: f64,
}

#[derive(Debug, Serialize)]
pub struct RedisGetFigures {
    pub command: String,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl Latency {
    pub fn of(mut micros: Vec<u64>) -> Latency {
        micros.sort_unstable();
        Latency {
            samples: micros.len(),
            p50_ms: percentile(&micros, 0.50),
            p99_ms: percentile(&micros, 0.99),
        }
    }
}

/// The nearest-rank percentile of sorted `micros`, in milliseconds.
pub(crate) fn percentile(sorted: &[u64], quantile: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0)
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn ms(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.3} ms"))
}

impl Figures {
    /// The table people read: each figure, its target, met or missed.
    pub fn table(&self) -> String {
        let mut out = format!(
            "greenlight-bench: {} of {} agents connected in {:.1} s, {} deployment(s), {}/s each for {:.0} s\n",
            self.agents_connected,
            self.agents_requested,
            self.connect_seconds,
            self.deployments,
            self.rate_per_agent,
            self.duration_seconds
        );
        out += &format!(
            "reports: {} sent, {} accepted, {} rejected, {} ticks skipped, {} streams lost\n\n",
            self.reports_sent,
            self.reports_accepted,
            self.reports_rejected,
            self.ticks_skipped,
            self.streams_lost
        );
        let mut row = |figure: &str, measured: String, target: String, verdict: &str| {
            out += &format!("{figure:<34} {measured:>16}   target {target:<22} {verdict}\n");
        };
        row(
            "reports accepted per second",
            format!("{:.0}", self.accepted_per_second),
            format!(">= {:.0}", self.target_accepted_per_second),
            met(self.accepted_per_second >= self.target_accepted_per_second),
        );
        if let Some(usage) = &self.aggregator {
            row(
                "aggregator CPU (cores)",
                format!("{:.2}", usage.cpu_cores),
                "-".into(),
                "",
            );
            row(
                "aggregator RSS, all connected",
                format!("{:.1} MiB", usage.rss_connected_bytes as f64 / 1048576.0),
                "-".into(),
                "",
            );
            row(
                "RSS per connected agent",
                format!("{:.1} KiB", usage.rss_per_agent_bytes / 1024.0),
                "<= 64 KiB (at 10,000)".into(),
                met(usage.rss_per_agent_bytes <= self.target_rss_per_agent_bytes),
            );
        }
        row(
            "GetVerdict p50",
            ms(self.get_verdict.p50_ms),
            "-".into(),
            "",
        );
        let ratio = self.get_verdict_p99_over_redis_get_p99;
        row(
            "GetVerdict p99",
            ms(self.get_verdict.p99_ms),
            "<= 3x Redis GET p99".into(),
            ratio.map_or("", |r| {
                met(r <= self.target_get_verdict_p99_over_redis_get_p99)
            }),
        );
        if let Some(redis) = &self.redis_get {
            row(
                "Redis GET p99 (reference)",
                ms(Some(redis.p99_ms)),
                "-".into(),
                "",
            );
            row(
                "GetVerdict p99 / Redis GET p99",
                ratio.map_or("-".into(), |r| format!("{r:.1}x")),
                "<= 3x".into(),
                "",
            );
        }
        if let Some(publication) = &self.publication {
            row(
                "arrival-to-publication p50",
                ms(publication.p50_ms),
                format!(
                    "({} timed, {} unseen)",
                    publication.samples, self.marker_reports_unpublished
                ),
                "",
            );
            row(
                "arrival-to-publication p99",
                ms(publication.p99_ms),
                "< 50 ms".into(),
                publication
                    .p99_ms
                    .map_or("", |p| met(p < self.target_publication_p99_ms)),
            );
        }
        for note in &self.notes {
            out += &format!("note: {note}\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let latency = Latency::of((1..=100).map(|ms| ms * 1000).collect());
        assert_eq!((latency.p50_ms, latency.p99_ms), (Some(50.0), Some(99.0)));
        assert_eq!(Latency::of(vec![]).p99_ms, None);
    }
}
