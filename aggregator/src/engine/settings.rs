//! The rules' knobs for one deployment. Defaults come from the deployment
//! guide and DESIGN.md; the aggregator's config overrides them.

use std::time::Duration;

use greenlight_proto::v1::Color;

#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentSettings {
    /// The color that carries user traffic now; the other is the candidate.
    pub live: Color,
    /// How long the candidate must stay healthy before it is READY.
    pub ready_after: Duration,
    /// An agent is stale after this many missed report intervals.
    pub stale_after_intervals: u32,
    /// A disconnected agent is forgotten after this long (a replaced
    /// container must not block readiness forever).
    pub forget_after: Duration,
}

impl Default for DeploymentSettings {
    fn default() -> Self {
        DeploymentSettings {
            live: Color::Blue,
            ready_after: Duration::from_secs(30),
            stale_after_intervals: 3,
            forget_after: Duration::from_secs(600),
        }
    }
}
