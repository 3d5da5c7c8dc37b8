//! Another aggregator's saved state, taken over (this aggregator became
//! the deployment's leader) or followed (it stands by). The agents this
//! aggregator hears stay; the phase, the bake and its deadline, the
//! baseline, the last action and the gates are the leader's.

use std::time::SystemTime;

use super::core::Engine;
use super::saved::{RestoreError, SavedState};

impl Engine {
    /// Puts `saved` (the leader's state, read from Redis) into deployment
    /// `name`. `epoch` is the floor of its next verdicts: a leader passes
    /// the epoch its lease came with, above every epoch published before,
    /// so a deposed leader's late verdict never outranks the new one's. A
    /// switch that was in flight is decided again, as after a restart.
    pub fn adopt(
        &mut self,
        name: &str,
        saved: &SavedState,
        epoch: u64,
        now: SystemTime,
    ) -> Result<(), RestoreError> {
        self.last_now = self.last_now.max(now);
        let deployment = self.deployment_mut(name, now);
        saved
            .restore(deployment, now, epoch.max(deployment.epoch))
            .map_err(|error| RestoreError::about(name, error))?;
        if deployment.life.stage().switching().is_some() {
            self.redo_switch(name, now);
        } else {
            self.evaluate(name, now);
        }
        Ok(())
    }
}

impl Engine {
    /// A new term without a saved state to take over: the next verdict's
    /// epoch is above `epoch`.
    pub fn raise_epoch(&mut self, name: &str, epoch: u64, now: SystemTime) {
        self.last_now = self.last_now.max(now);
        let deployment = self.deployment_mut(name, now);
        deployment.epoch = deployment.epoch.max(epoch);
        deployment.signature = None;
        self.evaluate(name, now);
    }
}
