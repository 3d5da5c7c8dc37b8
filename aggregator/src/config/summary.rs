//! What a configuration means, in words: `--check-config` prints it, so an
//! operator sees the defaults filled in and every deployment's rules.

use std::time::Duration;

use greenlight_proto::names::color_name;
use humantime_serde::re::humantime::format_duration;

use super::AggregatorConfig;
use crate::engine::DeploymentSettings;
use crate::hooks::{HookCommand, HookPoint};
use crate::traffic_source::{TrafficSource, TrafficSourceKind};

impl AggregatorConfig {
    /// One line per section, one per deployment.
    pub fn summary(&self) -> String {
        let mut lines = vec![format!("listen: {} (gRPC)", self.listen)];
        lines.push(match &self.tls {
            Some(tls) => format!("tls: {}", tls.describe()),
            None => "tls: none (plaintext gRPC: anyone who reaches the port is trusted)".into(),
        });
        lines.push(match &self.auth {
            Some(auth) => format!("auth: {}", auth.describe()),
            None => {
                "auth: none (no credentials asked: anyone who reaches the port can steer)".into()
            }
        });
        lines.push(match &self.redis {
            Some(redis) => format!(
                "redis: {} (verdict TTL {}, history capped at {}{})",
                redis.shown_url(),
                shown(redis.verdict_ttl),
                redis.history_max_len,
                match &redis.ca {
                    Some(ca) => format!(", server certificate checked against {}", ca.display()),
                    None => String::new(),
                }
            ),
            None => "redis: none (verdicts over gRPC only)".into(),
        });
        lines.push(match &self.http {
            Some(http) => format!(
                "http: {} (/health, /metrics, /api/v1/deployments, the status page; read-only, no credentials)",
                http.listen
            ),
            None => "http: off (no [http] listen)".into(),
        });
        lines.push(format!("defaults: {}", describe(&self.defaults)));
        for (name, settings) in &self.deployments {
            lines.push(format!("deployment {name}: {}", describe(settings)));
            lines.push(match self.traffic_sources.get(name) {
                Some(source) => format!("deployment {name} traffic source: {}", source_words(source)),
                None => format!(
                    "deployment {name} traffic source: none (live is where greenlight last switched)"
                ),
            });
        }
        for point in [HookPoint::Cutover, HookPoint::Rollback] {
            lines.push(match self.hooks.defaults.get(&point) {
                Some(hook) => format!("{} hook: {}", point.name(), hook_words(hook)),
                None => format!("{} hook: none (switch traffic yourself)", point.name()),
            });
        }
        for (point, hook) in &self.hooks.defaults {
            if !point.is_switch() {
                lines.push(format!("{} hook: {}", point.name(), hook_words(hook)));
            }
        }
        for name in self.deployments.keys() {
            let effective = self.hooks.effective(name);
            let words: Vec<String> = effective
                .iter()
                .map(|(point, hook, own)| {
                    format!(
                        "{} {} [{}]",
                        point.name(),
                        hook_words(hook),
                        if *own { "its own" } else { "default" }
                    )
                })
                .collect();
            lines.push(if words.is_empty() {
                format!("deployment {name} hooks: none")
            } else {
                format!("deployment {name} hooks: {}", words.join("; "))
            });
        }
        for (name, settings) in &self.deployments {
            let commands = self.hooks.gates.get(name);
            let words: Vec<String> = settings
                .gates
                .iter()
                .filter_map(|gate| {
                    let command = commands?.get(&gate.name)?;
                    Some(format!(
                        "{} ({}) {:?}, timeout {}",
                        gate.name,
                        gate.stage.name().replace('_', " "),
                        command.argv,
                        shown(command.timeout)
                    ))
                })
                .collect();
            if !words.is_empty() {
                lines.push(format!("deployment {name} gates: {}", words.join("; ")));
            }
        }
        lines.extend(self.alerts.describe());
        let limits = &self.limits;
        lines.push(format!(
            "limits: {} agent streams, {} watch streams, shutdown grace {}",
            limits.max_agent_streams,
            limits.max_watch_streams,
            shown(limits.shutdown_grace)
        ));
        lines.join("\n")
    }
}

/// A hook's argv and how it runs.
fn hook_words(hook: &HookCommand) -> String {
    let delay = if hook.delay.is_zero() {
        String::new()
    } else {
        format!(", {} after the phase is entered", shown(hook.delay))
    };
    format!(
        "{:?} (timeout {}, {} retries{delay})",
        hook.argv,
        shown(hook.timeout),
        hook.retries
    )
}

fn describe(settings: &DeploymentSettings) -> String {
    format!(
        "live {}, ready after {}, bake for {}, auto_cutover {}, dry_run {}, \
         rollback on: health failing > {}, error ratio > {} or mean latency > {} \
         over {} (min {} requests), postgres lost in {} reports, baseline {}; \
         clock skew warned above {}, switches {}, traffic drift alerted after {}",
        color_name(settings.live),
        shown(settings.ready_after),
        shown(settings.bake_for),
        settings.auto_cutover,
        settings.dry_run,
        shown(settings.health_failure_for),
        settings.max_error_ratio,
        shown(settings.max_mean_latency),
        shown(settings.traffic_window),
        settings.min_requests,
        settings.database_lost_samples,
        if settings.baseline.enabled {
            "on"
        } else {
            "off"
        },
        shown(settings.max_clock_skew),
        if settings.confirm_switch {
            "confirmed by the hooks"
        } else {
            "taken as done (no hooks)"
        },
        shown(settings.traffic_drift_after),
    )
}

fn source_words(source: &TrafficSource) -> String {
    match &source.kind {
        TrafficSourceKind::Haproxy {
            socket,
            backend,
            blue_server,
            green_server,
        } => format!(
            "HAProxy {socket}, backend {backend} (blue {blue_server}, green {green_server}), \
             read every {}",
            shown(source.poll)
        ),
        TrafficSourceKind::Nginx {
            site,
            blue_config,
            green_config,
        } => format!(
            "nginx site {} (blue {}, green {}), read every {}",
            site.display(),
            blue_config.display(),
            green_config.display(),
            shown(source.poll)
        ),
    }
}

/// `30s`, `1m 30s`: as durations are written in the file.
pub(super) fn shown(duration: Duration) -> String {
    format_duration(duration).to_string()
}
