//! One loop's way through a [`RetryPolicy`]: the ceiling grows with each
//! failure and goes back to the start after a success.

use std::time::Duration;

use rand::Rng;

use crate::RetryPolicy;

/// The delays of one retry loop. Not shared: each loop takes its own from
/// [`RetryPolicy::backoff`]. Also an endless iterator of delays, so a loop
/// with a fixed number of retries can `take(retries)`.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    /// The longest the next delay may be: `first * factor^failures`, at most `max`.
    ceiling: Duration,
    /// Delays handed out since the last reset.
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(policy: RetryPolicy) -> Backoff {
        Backoff {
            policy,
            ceiling: policy.first,
            failures: 0,
        }
    }

    /// The delay before the next attempt, with the thread's random numbers.
    pub fn next_delay(&mut self) -> Duration {
        self.next_delay_with(&mut rand::rng())
    }

    /// The same with the caller's random numbers (tests seed them). Drawn
    /// uniformly from `[ceiling * (1 - jitter), ceiling]`; then the ceiling
    /// grows by the factor, up to the max.
    pub fn next_delay_with(&mut self, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling;
        let shortened_by = self.policy.jitter * rng.random::<f64>();
        self.failures = self.failures.saturating_add(1);
        self.ceiling = grown(ceiling, self.policy.factor).min(self.policy.max);
        ceiling.mul_f64(1.0 - shortened_by)
    }

    /// Sleeps for the next delay (tokio's clock, so paused-time tests move
    /// through it at once); returns how long that was.
    pub async fn sleep(&mut self) -> Duration {
        let delay = self.next_delay();
        tokio::time::sleep(delay).await;
        delay
    }

    /// Back to the first delay, after an attempt that worked.
    pub fn reset(&mut self) {
        self.ceiling = self.policy.first;
        self.failures = 0;
    }

    /// The longest the next delay may be.
    pub fn ceiling(&self) -> Duration {
        self.ceiling
    }

    /// Delays handed out since the last reset: the failed attempts so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        Some(self.next_delay())
    }
}

/// `delay * factor`, saturating instead of panicking on overflow.
fn grown(delay: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(delay.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn no_jitter(first: Duration, max: Duration, factor: f64) -> RetryPolicy {
        RetryPolicy::try_new(first, max, factor, 0.0).unwrap()
    }

    #[test]
    fn delays_grow_by_the_factor_and_are_capped() {
        let mut backoff = no_jitter(MS * 100, MS * 5000, 2.0).backoff();
        let delays: Vec<u128> = (0..9).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        assert_eq!(backoff.failures(), 9);

        let mut slow = no_jitter(MS * 100, MS * 1000, 1.5).backoff();
        let delays: Vec<u128> = (0..7).map(|_| slow.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 150, 225, 337, 506, 759, 1000]);
    }

    #[test]
    fn factor_one_gives_constant_delays() {
        let mut backoff = no_jitter(MS * 250, MS * 250, 1.0).backoff();
        assert!((0..5).all(|_| backoff.next_delay() == MS * 250));
    }

    #[test]
    fn a_huge_factor_saturates_at_the_max() {
        let mut backoff = no_jitter(MS, Duration::from_secs(60), 1e300).backoff();
        backoff.next_delay();
        for _ in 0..5 {
            assert_eq!(backoff.next_delay(), Duration::from_secs(60));
        }
    }

    #[test]
    fn jitter_stays_within_its_fraction_of_the_ceiling() {
        let policy = RetryPolicy::try_new(MS * 100, MS * 800, 2.0, 0.25).unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let mut backoff = policy.backoff();
        let mut drawn_at_cap = Vec::new();
        for _ in 0..200 {
            let ceiling = backoff.ceiling();
            let delay = backoff.next_delay_with(&mut rng);
            assert!(delay <= ceiling, "{delay:?} above the ceiling {ceiling:?}");
            assert!(
                delay >= ceiling.mul_f64(0.75),
                "{delay:?} shortened by more than 25% of {ceiling:?}"
            );
            if ceiling == policy.max() {
                drawn_at_cap.push(delay);
            }
        }
        let distinct: std::collections::HashSet<_> = drawn_at_cap.iter().collect();
        assert!(distinct.len() > 50, "delays are spread, not in step");
    }

    #[test]
    fn full_jitter_draws_from_zero_to_the_ceiling() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut backoff = RetryPolicy::RECONNECT.backoff();
        for _ in 0..10 {
            backoff.next_delay_with(&mut rng);
        }
        let delays: Vec<Duration> = (0..500)
            .map(|_| backoff.next_delay_with(&mut rng))
            .collect();
        assert!(
            delays
                .iter()
                .all(|delay| *delay <= RetryPolicy::RECONNECT.max())
        );
        assert!(
            delays.iter().any(|delay| *delay < MS * 500),
            "some are short"
        );
        assert!(
            delays.iter().any(|delay| *delay > MS * 4500),
            "some are long"
        );
    }

    #[test]
    fn reset_goes_back_to_the_first_delay() {
        let mut backoff = no_jitter(MS * 100, MS * 5000, 2.0).backoff();
        for _ in 0..4 {
            backoff.next_delay();
        }
        assert_eq!(backoff.ceiling(), MS * 1600);
        backoff.reset();
        assert_eq!((backoff.ceiling(), backoff.failures()), (MS * 100, 0));
        assert_eq!(backoff.next_delay(), MS * 100);
    }

    #[test]
    fn take_bounds_the_retries() {
        let delays: Vec<Duration> = no_jitter(MS * 10, MS * 1000, 2.0)
            .backoff()
            .take(3)
            .collect();
        assert_eq!(delays, [MS * 10, MS * 20, MS * 40]);
    }

    #[tokio::test(start_paused = true)]
    async fn sleep_waits_for_each_delay_on_tokios_clock() {
        let start = tokio::time::Instant::now();
        let mut backoff = no_jitter(MS * 100, MS * 400, 2.0).backoff();
        let mut slept = Duration::ZERO;
        for _ in 0..4 {
            slept += backoff.sleep().await;
        }
        assert_eq!(slept, MS * (100 + 200 + 400 + 400));
        assert_eq!(start.elapsed(), slept);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reconnect_loop_is_never_slower_than_its_ceilings() {
        let start = tokio::time::Instant::now();
        let mut backoff = RetryPolicy::RECONNECT.backoff();
        let mut ceilings = Duration::ZERO;
        for _ in 0..10 {
            ceilings += backoff.ceiling();
            backoff.sleep().await;
        }
        assert!(start.elapsed() <= ceilings);
        // 100 + 200 + ... + 3200, then the 5 s cap four times.
        assert_eq!(ceilings, MS * (6300 + 4 * 5000));
    }
}
