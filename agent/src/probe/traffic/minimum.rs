//! How many requests the traffic window must hold before its error ratio
//! means anything. The aggregator judges the same traffic with its own
//! `min_requests`; when the two differ, the agent's `/health` says pass (or
//! fail) where the verdict says inconclusive. So the aggregator says its
//! minimum in the Welcome, and the traffic check takes it over its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::info;

/// The aggregator's minimum as its last Welcome said it: the stream writes
/// it, the traffic check reads it. Zero means "not said" (no Welcome yet,
/// or an aggregator from before `Welcome.min_requests`).
#[derive(Debug, Clone, Default)]
pub(crate) struct AggregatorMinRequests(Arc<AtomicU64>);

impl AggregatorMinRequests {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// What a Welcome said; 0 gives the agent's own minimum back.
    pub(crate) fn set(&self, min_requests: u64) {
        self.0.store(min_requests, Ordering::Relaxed);
    }

    fn get(&self) -> Option<u64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|&told| told != 0)
    }
}

/// The minimum in force for one traffic check.
#[derive(Debug)]
pub(super) struct MinRequests {
    /// `checks.traffic.min_requests`.
    configured: u64,
    told: AggregatorMinRequests,
    /// The last one judged by, so a change is logged once, not every round.
    in_force: u64,
}

impl MinRequests {
    pub(super) fn new(configured: u64, told: AggregatorMinRequests) -> Self {
        MinRequests {
            configured,
            told,
            in_force: configured,
        }
    }

    /// The aggregator's minimum when it said one, else the configured one.
    pub(super) fn current(&mut self) -> u64 {
        let told = self.told.get();
        let current = told.unwrap_or(self.configured);
        if current != self.in_force {
            match told {
                Some(_) => info!(
                    min_requests = current,
                    configured = self.configured,
                    "the traffic check judges by the aggregator's min_requests, not \
                     checks.traffic.min_requests, so that both say inconclusive alike"
                ),
                None => info!(
                    min_requests = current,
                    "the aggregator no longer says its min_requests; the traffic check \
                     judges by checks.traffic.min_requests again"
                ),
            }
            self.in_force = current;
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aggregators_minimum_wins_once_said() {
        let told = AggregatorMinRequests::new();
        let mut minimum = MinRequests::new(50, told.clone());
        assert_eq!(minimum.current(), 50, "nothing said yet");
        told.set(80);
        assert_eq!(minimum.current(), 80);
        assert_eq!(minimum.current(), 80);
        told.set(0);
        assert_eq!(minimum.current(), 50, "an older aggregator says nothing");
    }
}
