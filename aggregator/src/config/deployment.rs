//! `[defaults]` and `[deployments.<name>]`: the rules' knobs, each
//! deployment's laid over the defaults, which are laid over the guide's
//! (`DeploymentSettings::default()`). A deployment may also say where its
//! traffic really goes (`[deployments.<name>.traffic_source]`).

use std::time::Duration;

use greenlight_proto::names::parse_color;
use humantime_serde::re::humantime::format_duration;
use serde::Deserialize;

use super::ConfigError;
use crate::engine::DeploymentSettings;
use crate::traffic_source::{RawTrafficSource, TrafficSource};

/// The longest duration a rule may wait for or measure over.
const MAX_RULE_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// The shortest readiness window: shorter, one healthy report would make
/// the candidate READY, and the gate would judge nothing.
const MIN_READY_AFTER: Duration = Duration::from_secs(1);

/// One `[defaults]` or `[deployments.<name>]` section as written; what is
/// left out is inherited.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeployment {
    live: Option<String>,
    #[serde(default, with = "humantime_serde")]
    ready_after: Option<Duration>,
    stale_after_intervals: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    forget_after: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    bake_for: Option<Duration>,
    auto_cutover: Option<bool>,
    dry_run: Option<bool>,
    #[serde(default, with = "humantime_serde")]
    health_failure_for: Option<Duration>,
    max_error_ratio: Option<f64>,
    #[serde(default, with = "humantime_serde")]
    max_mean_latency: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    traffic_window: Option<Duration>,
    min_requests: Option<u64>,
    database_lost_samples: Option<u32>,
    rollback_on_missing_data: Option<bool>,
    #[serde(default, with = "humantime_serde")]
    restore_grace: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    max_clock_skew: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    traffic_drift_after: Option<Duration>,
    hysteresis: Option<RawHysteresis>,
    baseline: Option<RawBaseline>,
    /// Only under `[deployments.<name>]`: one load balancer per deployment.
    traffic_source: Option<RawTrafficSource>,
    /// Only under `[deployments.<name>]`: this deployment's own hooks,
    /// each replacing the `[hooks]` default of its name.
    pub(super) hooks: Option<super::hooks::RawHooks>,
    /// Only under `[deployments.<name>]`: its test gates.
    pub(super) gates: Option<Vec<super::gates::RawGate>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHysteresis {
    consecutive: Option<u32>,
    k: Option<u32>,
    n: Option<u32>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    enabled: Option<bool>,
    z_critical: Option<f64>,
    min_increase: Option<f64>,
}

impl RawDeployment {
    /// `[defaults]` over the guide's defaults. A traffic source there would
    /// point every deployment at one load balancer's backend: refused.
    pub(super) fn defaults(self) -> Result<DeploymentSettings, ConfigError> {
        if self.traffic_source.is_some() {
            return Err(ConfigError::key(
                "defaults.traffic_source",
                "a traffic source belongs to one deployment; \
                 write it as [deployments.<name>.traffic_source]",
            ));
        }
        if self.hooks.is_some() {
            return Err(ConfigError::key(
                "defaults.hooks",
                "default hooks are written as [hooks.<name>]; \
                 a deployment's own as [deployments.<name>.hooks.<name>]",
            ));
        }
        if self.gates.is_some() {
            return Err(ConfigError::key(
                "defaults.gates",
                "test gates belong to one deployment: write them as [[deployments.<name>.gates]]",
            ));
        }
        self.apply(DeploymentSettings::default(), "defaults")
    }

    /// `[deployments.<name>]` (`prefix`) over `defaults`, and its traffic
    /// source if it has one.
    pub(super) fn deployment(
        mut self,
        defaults: &DeploymentSettings,
        prefix: &str,
    ) -> Result<(DeploymentSettings, Option<TrafficSource>), ConfigError> {
        let source = self
            .traffic_source
            .take()
            .map(|raw| {
                raw.validate().map_err(|(key, reason)| {
                    ConfigError::key(format!("{prefix}.traffic_source.{key}"), reason)
                })
            })
            .transpose()?;
        Ok((self.apply(defaults.clone(), prefix)?, source))
    }

    fn apply(
        self,
        mut settings: DeploymentSettings,
        prefix: &str,
    ) -> Result<DeploymentSettings, ConfigError> {
        let key = |name: &str| format!("{prefix}.{name}");
        let fail = |name: &str, reason: String| ConfigError::key(key(name), reason);
        if let Some(live) = self.live {
            settings.live = parse_color(&live).ok_or_else(|| {
                fail(
                    "live",
                    format!("{live:?} is not a color; use blue or green"),
                )
            })?;
        }
        // Every duration is added to the clock, and the sums are written as
        // RFC 3339 times: a duration longer than any deployment takes is a
        // typo, and ten thousand years would overflow both.
        for (name, value) in [
            ("ready_after", self.ready_after),
            ("forget_after", self.forget_after),
            ("bake_for", self.bake_for),
            ("health_failure_for", self.health_failure_for),
            ("max_mean_latency", self.max_mean_latency),
            ("traffic_window", self.traffic_window),
            ("restore_grace", self.restore_grace),
            ("max_clock_skew", self.max_clock_skew),
            ("traffic_drift_after", self.traffic_drift_after),
        ] {
            if value.is_some_and(|value| value > MAX_RULE_DURATION) {
                return Err(fail(name, "must be at most 365 days".into()));
            }
        }
        if let Some(ready_after) = self.ready_after {
            if ready_after < MIN_READY_AFTER {
                return Err(fail(
                    "ready_after",
                    format!(
                        "{} is too short: the candidate must stay healthy for at least {} \
                         before it is READY (the default is 30s)",
                        format_duration(ready_after),
                        format_duration(MIN_READY_AFTER)
                    ),
                ));
            }
            settings.ready_after = ready_after;
        }
        if let Some(intervals) = self.stale_after_intervals {
            if intervals == 0 {
                return Err(fail("stale_after_intervals", "must be at least 1".into()));
            }
            settings.stale_after_intervals = intervals;
        }
        // Durations a rule waits for or measures over: zero would make the
        // rule fire, or judge, on nothing.
        for (name, value, into) in [
            (
                "forget_after",
                self.forget_after,
                &mut settings.forget_after,
            ),
            ("bake_for", self.bake_for, &mut settings.bake_for),
            (
                "health_failure_for",
                self.health_failure_for,
                &mut settings.health_failure_for,
            ),
            (
                "max_mean_latency",
                self.max_mean_latency,
                &mut settings.max_mean_latency,
            ),
            (
                "traffic_window",
                self.traffic_window,
                &mut settings.traffic_window,
            ),
            (
                "max_clock_skew",
                self.max_clock_skew,
                &mut settings.max_clock_skew,
            ),
            (
                "traffic_drift_after",
                self.traffic_drift_after,
                &mut settings.traffic_drift_after,
            ),
        ] {
            match value {
                Some(value) if value.is_zero() => {
                    return Err(fail(name, "must be more than 0s".into()));
                }
                Some(value) => *into = value,
                None => {}
            }
        }
        if let Some(grace) = self.restore_grace {
            settings.restore_grace = grace;
        }
        let ratio = |name: &str, value: f64| {
            if (0.0..=1.0).contains(&value) {
                Ok(value)
            } else {
                Err(fail(
                    name,
                    format!("{value} is not a ratio between 0 and 1"),
                ))
            }
        };
        if let Some(value) = self.max_error_ratio {
            settings.max_error_ratio = ratio("max_error_ratio", value)?;
        }
        if let Some(value) = self.min_requests {
            settings.min_requests = value;
        }
        if let Some(value) = self.database_lost_samples {
            if value == 0 {
                return Err(fail("database_lost_samples", "must be at least 1".into()));
            }
            settings.database_lost_samples = value;
        }
        settings.auto_cutover = self.auto_cutover.unwrap_or(settings.auto_cutover);
        settings.dry_run = self.dry_run.unwrap_or(settings.dry_run);
        settings.rollback_on_missing_data = self
            .rollback_on_missing_data
            .unwrap_or(settings.rollback_on_missing_data);
        if let Some(raw) = self.hysteresis {
            let rule = &mut settings.hysteresis;
            rule.consecutive = raw.consecutive.unwrap_or(rule.consecutive);
            rule.k = raw.k.unwrap_or(rule.k);
            rule.n = raw.n.unwrap_or(rule.n);
            let within = |value: u32| (1..=64).contains(&value);
            if !within(rule.consecutive) || !within(rule.k) || !within(rule.n) || rule.k > rule.n {
                return Err(fail(
                    "hysteresis",
                    format!(
                        "consecutive {}, k {}, n {}: each must be 1..=64 and k <= n",
                        rule.consecutive, rule.k, rule.n
                    ),
                ));
            }
        }
        if let Some(raw) = self.baseline {
            let baseline = &mut settings.baseline;
            baseline.enabled = raw.enabled.unwrap_or(baseline.enabled);
            if let Some(z) = raw.z_critical {
                if !(z.is_finite() && z > 0.0) {
                    return Err(fail(
                        "baseline.z_critical",
                        format!("{z} must be a positive number (2.326 is p < 0.01)"),
                    ));
                }
                baseline.z_critical = z;
            }
            if let Some(increase) = raw.min_increase {
                baseline.min_increase = ratio("baseline.min_increase", increase)?;
            }
        }
        Ok(settings)
    }
}
