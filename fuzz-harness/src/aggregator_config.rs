//! `aggregator_config`: the aggregator's TOML, as `greenlight-aggregator
//! --config` reads it (without the environment and flags). A refused
//! config must explain itself; an accepted one must be described
//! (`--check-config`) and must make an engine that works for each of its
//! deployments: agents of both colors report, a forced cutover, then time
//! runs on from deadline to deadline through the bake.
//!
//! The input: the TOML text (anything not UTF-8 is no config).

use std::time::{Duration, SystemTime};

use greenlight_aggregator::AggregatorConfig;
use greenlight_aggregator::engine::SwitchOutcome;
use greenlight_proto::names::other_color;
use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::{CheckKind, CheckResult, CheckStatus, Hello, Report, TrafficCounters};

use crate::aggregator::{Watched, start};

/// Deadlines followed after the cutover: the bake's end comes within a
/// few (agents go stale at each one, which is a deadline too).
const WAKEUPS: usize = 6;

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match AggregatorConfig::from_toml(text) {
        Ok(config) => {
            let _ = config.summary();
            works(config);
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

/// Runs a short deployment through the engine the config makes.
fn works(config: AggregatorConfig) {
    let mut now = start();
    let mut watched = Watched::new(config.defaults.clone(), config.deployments.clone(), now);
    let mut names: Vec<String> = config.deployments.keys().cloned().collect();
    names.push("unconfigured".into());
    for name in &names {
        let settings = config.deployments.get(name).unwrap_or(&config.defaults);
        let mut agents = Vec::new();
        for (index, color) in [settings.live, other_color(settings.live)]
            .into_iter()
            .enumerate()
        {
            let hello = Hello {
                deployment: name.clone(),
                color: color as i32,
                instance_id: format!("{index}"),
                report_interval_ms: 1000,
                run_id: "run".into(),
                ..Default::default()
            };
            let connection = index as u64 + 1;
            let (key, _) = watched
                .engine
                .hello(&hello, connection, now)
                .expect("a good Hello");
            agents.push(key);
        }
        let mut sequence = 0;
        let mut report = |watched: &mut Watched, now: SystemTime| {
            sequence += 1;
            for key in &agents {
                watched.engine.report(key, passing(sequence, now), now);
            }
        };
        report(&mut watched, now);
        now += Duration::from_secs(1);
        let cutover = watched.engine.cutover(name, true, "fuzz", now);
        let outputs = watched.outputs();
        if cutover.is_ok() && settings.confirm_switch {
            if let Some(action) = outputs.actions.last() {
                watched
                    .engine
                    .switch_finished(name, action.epoch, SwitchOutcome::Succeeded, now);
            }
        }
        for _ in 0..WAKEUPS {
            let Some(deadline) = watched.engine.next_deadline() else {
                break;
            };
            now = now.max(deadline);
            report(&mut watched, now);
            watched.engine.tick(now);
            watched.outputs();
        }
        let _ = watched.engine.rollback(name, "fuzz", "fuzz", now);
        watched.outputs();
    }
    let _ = watched.engine.verdicts(now);
    watched.restart(now);
}

/// A report of a healthy backend serving 100 requests a second.
fn passing(sequence: u64, now: SystemTime) -> Report {
    let http = CheckResult {
        check: "http".into(),
        kind: CheckKind::Http as i32,
        status: CheckStatus::Pass as i32,
        duration_seconds: 0.003,
        ..Default::default()
    };
    Report {
        sequence,
        observed_at: Some(to_timestamp(now)),
        checks: vec![http],
        traffic: Some(TrafficCounters {
            requests_total: sequence * 100,
            errors_total: 0,
            request_duration_seconds_sum: sequence as f64 * 5.0,
            request_duration_seconds_count: sequence * 100,
            websocket_connections: 0,
        }),
        dropped_reports: 0,
        traceparent: String::new(),
    }
}
