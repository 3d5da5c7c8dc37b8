//! Reconnect delays: exponential (100 ms doubling up to 5 s) with full
//! jitter, so a fleet of agents does not reconnect in step after the
//! aggregator restarts. Pure: the caller sleeps, and passes the randomness.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    /// Failed attempts since the last reset.
    attempts: u32,
}

impl Backoff {
    pub(crate) const BASE: Duration = Duration::from_millis(100);
    pub(crate) const MAX: Duration = Duration::from_secs(5);

    pub(crate) fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max: max.max(base),
            attempts: 0,
        }
    }

    /// The ceiling of the next delay: `base * 2^attempts`, at most `max`.
    pub(crate) fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempts.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// A delay drawn uniformly from `[0, ceiling]` ("full jitter"); the
    /// ceiling then doubles.
    pub(crate) fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling();
        self.attempts = self.attempts.saturating_add(1);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rng.random_range(0..=millis))
    }

    /// Back to the shortest delay, after a connection that worked.
    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Self::BASE, Self::MAX)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn ceiling_doubles_to_the_max_and_resets() {
        let mut backoff = Backoff::default();
        let mut rng = StdRng::seed_from_u64(7);
        let mut ceilings = Vec::new();
        for _ in 0..9 {
            ceilings.push(backoff.ceiling().as_millis());
            let delay = backoff.next_delay(&mut rng);
            assert!(delay <= Backoff::MAX);
        }
        assert_eq!(ceilings, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        backoff.reset();
        assert_eq!(backoff.ceiling(), Backoff::BASE);
    }

    #[test]
    fn delays_are_jittered_within_the_ceiling() {
        let mut rng = StdRng::seed_from_u64(1);
        let delays: Vec<Duration> = (0..50)
            .map(|_| {
                let mut backoff = Backoff::default();
                for _ in 0..10 {
                    backoff.next_delay(&mut rng);
                }
                backoff.next_delay(&mut rng)
            })
            .collect();
        assert!(delays.iter().all(|delay| *delay <= Backoff::MAX));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 10, "delays are spread, not in step");
    }
}
