//! When a deployment must next be looked at without an event: the core
//! says when it needs waking; the shell does not poll it.

use std::time::SystemTime;

use super::deployment::Deployment;
use super::stage::Stage;

impl Deployment {
    /// The earliest instant after `after` at which time alone can change
    /// this deployment's verdict.
    pub fn next_deadline(&self, after: SystemTime) -> Option<SystemTime> {
        let settings = &self.settings;
        let agents = self
            .agents
            .values()
            .map(|agent| agent.next_change(settings.stale_after_intervals, settings.forget_after));
        let readiness = match self.life.stage() {
            Stage::PreCutover(_) => self
                .candidate_healthy_since
                .map(|since| since + settings.ready_after),
            _ => None,
        };
        let bake = match self.life.stage() {
            Stage::Baking(bake) if bake.held_since.is_none() => Some(bake.deadline),
            _ => None,
        };
        let drift = self.seen.settles_at(settings.traffic_drift_after);
        agents
            .chain(
                [readiness, bake, self.life.grace_until, drift]
                    .into_iter()
                    .flatten(),
            )
            .filter(|at| *at > after)
            .min()
    }
}
