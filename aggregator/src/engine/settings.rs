//! The rules' knobs for one deployment. Defaults come from the deployment
//! guide and DESIGN.md; the aggregator's config overrides them.

use std::time::Duration;

use greenlight_proto::v1::Color;

use super::gates::GateSpec;

#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentSettings {
    /// The color that carries user traffic at start; the other is the candidate.
    pub live: Color,
    /// How long the candidate must stay healthy before it is READY.
    pub ready_after: Duration,
    /// An agent is stale after this many missed report intervals.
    pub stale_after_intervals: u32,
    /// A disconnected agent is forgotten after this long (a replaced
    /// container must not block readiness forever).
    pub forget_after: Duration,
    /// After cutover, how long the rollback triggers stay armed before the
    /// deployment is Verified (the guide's 5-minute monitor).
    pub bake_for: Duration,
    /// Cut over by itself when READY. Off by default: a person (or a CI
    /// job) calls cutover.
    pub auto_cutover: bool,
    /// Decide and explain, never act.
    pub dry_run: bool,
    /// Roll back when a health check has failed continuously this long.
    pub health_failure_for: Duration,
    /// Roll back above this error ratio (0..1) over `traffic_window`.
    pub max_error_ratio: f64,
    /// Roll back above this mean response time over `traffic_window`.
    pub max_mean_latency: Duration,
    /// The sliding window of the traffic rules and of the baseline.
    pub traffic_window: Duration,
    /// Fewer requests than this in the window is inconclusive: 1 error in 3
    /// requests is not a 33% error rate.
    pub min_requests: u64,
    /// Consecutive failing postgres samples that mean "database lost".
    pub database_lost_samples: u32,
    /// When a breached traffic rule counts as a trigger.
    pub hysteresis: HysteresisSettings,
    pub baseline: BaselineSettings,
    /// Missing data alone gives HOLD; with this on, a candidate silent for
    /// `health_failure_for` rolls back.
    pub rollback_on_missing_data: bool,
    /// After a restart, how long the candidate's agents have to reconnect
    /// before their absence counts as missing data.
    pub restore_grace: Duration,
    /// An agent whose clock is further than this from the aggregator's is
    /// named in a `clock_skew` warning (its times are mapped either way).
    pub max_clock_skew: Duration,
    /// A hook carries the switch out and reports back: Baking and
    /// RolledBack are entered only when it succeeded. Off when no hook is
    /// configured (the operator switches; the decision is taken as done).
    pub confirm_switch: bool,
    /// Where traffic really goes disagreeing with the verdict for this long
    /// raises a `traffic_drift` alert.
    pub traffic_drift_after: Duration,
    /// Test gates: READY needs every `before_cutover` one passed; an
    /// `after_cutover` one failing rolls back.
    pub gates: Vec<GateSpec>,
}

/// A traffic rule fires when the last `consecutive` samples breached, or
/// when at least `k` of the last `n` did. One bad sample fires nothing; a
/// check flapping every other sample fires nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HysteresisSettings {
    pub consecutive: u32,
    pub k: u32,
    pub n: u32,
}

/// The regression test against the old side's pre-cutover error ratio: a
/// one-sided two-proportion z-test, and a minimum effect size so that a
/// statistically real but tiny increase does not roll back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineSettings {
    pub enabled: bool,
    /// z above which the increase is significant (2.326: p < 0.01).
    pub z_critical: f64,
    /// Minimum absolute increase of the error ratio (0.01 = one point).
    pub min_increase: f64,
}

impl Default for DeploymentSettings {
    fn default() -> Self {
        DeploymentSettings {
            live: Color::Blue,
            ready_after: Duration::from_secs(30),
            stale_after_intervals: 3,
            forget_after: Duration::from_secs(600),
            bake_for: Duration::from_secs(300),
            auto_cutover: false,
            dry_run: false,
            health_failure_for: Duration::from_secs(120),
            max_error_ratio: 0.05,
            max_mean_latency: Duration::from_secs(5),
            traffic_window: Duration::from_secs(60),
            min_requests: 50,
            database_lost_samples: 3,
            hysteresis: HysteresisSettings {
                consecutive: 3,
                k: 6,
                n: 10,
            },
            baseline: BaselineSettings {
                enabled: true,
                z_critical: 2.326,
                min_increase: 0.01,
            },
            rollback_on_missing_data: false,
            restore_grace: Duration::from_secs(15),
            max_clock_skew: Duration::from_secs(30),
            confirm_switch: false,
            traffic_drift_after: Duration::from_secs(30),
            gates: Vec::new(),
        }
    }
}
