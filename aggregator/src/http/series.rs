//! A bounded series per deployment and color of the traffic figures the
//! rollback triggers judge: error ratio and mean latency, averaged over
//! the color's agents. Pure: samples come in with their time.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime};

use greenlight_proto::v1::check_result::Detail;
use greenlight_proto::v1::{Color, Report};

/// How far back the chart looks.
pub const CHART_SPAN: Duration = Duration::from_secs(5 * 60);
/// A cap on samples per color whatever the sampling rate.
const MAX_SAMPLES: usize = 600;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at: SystemTime,
    /// `None` when no agent of the color had a traffic figure.
    pub error_ratio: Option<f64>,
    pub mean_latency_seconds: Option<f64>,
}

/// The color's sample from its agents' latest reports: the mean of the
/// traffic checks that have a figure.
pub fn sample_of<'a>(reports: impl IntoIterator<Item = &'a Report>, at: SystemTime) -> Sample {
    let mut ratios = Vec::new();
    let mut latencies = Vec::new();
    for report in reports {
        for check in &report.checks {
            if let Some(Detail::Traffic(traffic)) = &check.detail {
                if traffic.window_requests > 0 {
                    ratios.push(traffic.error_ratio);
                    latencies.push(traffic.mean_latency_seconds);
                }
            }
        }
    }
    Sample {
        at,
        error_ratio: mean(&ratios),
        mean_latency_seconds: mean(&latencies),
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64)
}

#[derive(Debug, Default)]
pub struct Series {
    by_color: BTreeMap<(String, i32), VecDeque<Sample>>,
}

impl Series {
    /// Adds a sample and forgets what is older than [`CHART_SPAN`].
    pub fn push(&mut self, deployment: &str, color: Color, sample: Sample) {
        let samples = self
            .by_color
            .entry((deployment.to_string(), color as i32))
            .or_default();
        samples.push_back(sample);
        while samples.len() > MAX_SAMPLES
            || samples.front().is_some_and(|first| {
                sample.at.duration_since(first.at).unwrap_or_default() > CHART_SPAN
            })
        {
            samples.pop_front();
        }
    }

    pub fn samples(&self, deployment: &str, color: Color) -> Vec<Sample> {
        self.by_color
            .get(&(deployment.to_string(), color as i32))
            .map(|samples| samples.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Forgets deployments no longer known.
    pub fn retain(&mut self, known: impl Fn(&str) -> bool) {
        self.by_color.retain(|(deployment, _), _| known(deployment));
    }
}

#[cfg(test)]
mod tests {
    use greenlight_proto::v1::{CheckResult, TrafficDetail};

    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    fn report(error_ratio: f64, latency: f64, requests: u64) -> Report {
        Report {
            checks: vec![CheckResult {
                check: "traffic".into(),
                detail: Some(Detail::Traffic(TrafficDetail {
                    error_ratio,
                    mean_latency_seconds: latency,
                    window_requests: requests,
                    ..Default::default()
                })),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_sample_averages_the_agents_with_traffic() {
        let reports = [
            report(0.1, 0.2, 50),
            report(0.3, 0.4, 50),
            report(0.9, 9.0, 0),
        ];
        let sample = sample_of(&reports, at(0));
        assert!((sample.error_ratio.unwrap() - 0.2).abs() < 1e-9);
        assert!((sample.mean_latency_seconds.unwrap() - 0.3).abs() < 1e-9);
        assert_eq!(sample_of(&[], at(0)).error_ratio, None);
    }

    #[test]
    fn the_series_forgets_what_is_older_than_the_span() {
        let mut series = Series::default();
        let sample = |t| Sample {
            at: at(t),
            error_ratio: Some(0.0),
            mean_latency_seconds: None,
        };
        series.push("escashop", Color::Green, sample(0));
        series.push("escashop", Color::Green, sample(100));
        series.push("escashop", Color::Green, sample(301));
        let kept: Vec<_> = series
            .samples("escashop", Color::Green)
            .iter()
            .map(|s| s.at)
            .collect();
        assert_eq!(kept, [at(100), at(301)]);
        assert!(series.samples("escashop", Color::Blue).is_empty());
        series.retain(|_| false);
        assert!(series.samples("escashop", Color::Green).is_empty());
    }
}
