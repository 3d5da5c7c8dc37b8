//! What the load balancer says about where traffic goes, when it is read
//! (a traffic source), against what greenlight believes.

use std::time::{Duration, SystemTime};

use greenlight_proto::v1::Color;

#[derive(Debug, Clone, Default)]
pub struct TrafficSeen {
    /// The color the load balancer last said, and since when it has said it.
    pub observed: Option<(Color, SystemTime)>,
    /// When greenlight itself last moved traffic (a switch it confirmed):
    /// a reading that disagrees soon after is the load balancer's lag.
    own_switch_at: Option<SystemTime>,
}

/// What a reading that disagrees with the verdict means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disagreement {
    /// Too soon after our own switch to tell: wait.
    Settling,
    /// We switched, and the load balancer never followed.
    Drift { switched_at: SystemTime },
    /// Someone else moved traffic.
    External,
}

impl TrafficSeen {
    pub fn observe(&mut self, color: Color, now: SystemTime) {
        match self.observed {
            Some((seen, _)) if seen == color => {}
            _ => self.observed = Some((color, now)),
        }
    }

    pub fn own_switch(&mut self, now: SystemTime) {
        self.own_switch_at = Some(now);
    }

    pub fn judge(&self, now: SystemTime, drift_after: Duration) -> Disagreement {
        let Some((_, seen_since)) = self.observed else {
            return Disagreement::External;
        };
        match self.own_switch_at {
            // The reading has not changed since before our switch.
            Some(switched_at) if seen_since <= switched_at => {
                if now < switched_at + drift_after {
                    Disagreement::Settling
                } else {
                    Disagreement::Drift { switched_at }
                }
            }
            _ => Disagreement::External,
        }
    }

    /// When a disagreement now would turn into drift (for waking).
    pub fn settles_at(&self, drift_after: Duration) -> Option<SystemTime> {
        self.own_switch_at.map(|at| at + drift_after)
    }
}
