//! Once a second: each color's traffic figures into the chart series, and
//! the per-deployment gauges of /metrics (phase, decision, live color,
//! agents connected and fresh, the agents' dropped reports). A fixed pace
//! is right here: a chart samples time, and the engine is only read.

use std::sync::Arc;
use std::time::Duration;

use greenlight_proto::names::{COLORS, DECISIONS, PHASES, color_name, decision_name, phase_name};
use greenlight_proto::v1::{Color, Report, Verdict};
use metrics::gauge;
use tokio_util::sync::CancellationToken;

use super::board::Board;
use super::series::{Sample, sample_of};
use crate::engine::{AgentKey, fit_to_carry_traffic};
use crate::hub::Hub;

pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// One deployment as read under the engine's lock.
struct Reading {
    verdict: Verdict,
    reports: Vec<(AgentKey, bool, Option<Report>)>,
}

pub async fn run(
    hub: Arc<Hub>,
    board: Arc<Board>,
    upkeep: Option<metrics_exporter_prometheus::PrometheusHandle>,
    shutdown: CancellationToken,
) {
    let mut every = tokio::time::interval(SAMPLE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let (readings, now) = hub.read(|engine, now| {
            let readings: Vec<Reading> = engine
                .verdicts(now)
                .into_iter()
                .map(|verdict| Reading {
                    reports: engine.latest_reports(&verdict.deployment),
                    verdict,
                })
                .collect();
            (readings, now)
        });
        board.with(|state| {
            state
                .series
                .retain(|name| readings.iter().any(|r| r.verdict.deployment == name));
            for reading in &readings {
                for color in COLORS {
                    let reports = reading
                        .reports
                        .iter()
                        .filter(|(key, _, _)| key.color == color)
                        .filter_map(|(_, _, report)| report.as_ref());
                    let sample = sample_of(reports, now);
                    state
                        .series
                        .push(&reading.verdict.deployment, color, sample);
                    traffic_gauges(&reading.verdict.deployment, color, &sample);
                }
            }
        });
        for reading in &readings {
            verdict_gauges(&reading.verdict);
            for (key, _, report) in &reading.reports {
                if let Some(report) = report {
                    gauge!(
                        "greenlight_agent_dropped_reports",
                        "deployment" => key.deployment.clone(),
                        "color" => color_name(key.color),
                        "instance" => key.instance_id.clone(),
                    )
                    .set(report.dropped_reports as f64);
                }
            }
        }
        if let Some(handle) = &upkeep {
            handle.run_upkeep();
        }
    }
}

fn flag(on: bool) -> f64 {
    if on { 1.0 } else { 0.0 }
}

/// Phase and decision as state sets (1 for the current one, 0 for the
/// others), so a query can select `== 1` or sum over time.
fn verdict_gauges(verdict: &Verdict) {
    let name = verdict.deployment.clone();
    for phase in PHASES {
        gauge!("greenlight_deployment_phase", "deployment" => name.clone(), "phase" => phase_name(phase))
            .set(flag(verdict.phase() == phase));
    }
    for decision in DECISIONS {
        gauge!("greenlight_deployment_decision", "deployment" => name.clone(), "decision" => decision_name(decision))
            .set(flag(verdict.decision() == decision));
    }
    gauge!("greenlight_deployment_epoch", "deployment" => name.clone()).set(verdict.epoch as f64);
    for color in COLORS {
        let labels = [
            ("deployment", name.clone()),
            ("color", color_name(color).to_string()),
        ];
        let agents = || verdict.agents.iter().filter(move |a| a.color() == color);
        gauge!("greenlight_color_live", &labels).set(flag(verdict.live() == color));
        gauge!("greenlight_color_fit_for_traffic", &labels)
            .set(flag(fit_to_carry_traffic(verdict, color)));
        gauge!("greenlight_agents_connected", &labels)
            .set(agents().filter(|a| a.connected).count() as f64);
        gauge!("greenlight_agents_fresh", &labels).set(agents().filter(|a| a.fresh).count() as f64);
    }
}

fn traffic_gauges(deployment: &str, color: Color, sample: &Sample) {
    let labels = [
        ("deployment", deployment.to_string()),
        ("color", color_name(color).to_string()),
    ];
    if let Some(ratio) = sample.error_ratio {
        gauge!("greenlight_color_error_ratio", &labels).set(ratio);
    }
    if let Some(latency) = sample.mean_latency_seconds {
        gauge!("greenlight_color_mean_latency_seconds", &labels).set(latency);
    }
}
