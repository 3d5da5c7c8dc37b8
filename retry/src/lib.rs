//! greenlight's one retry policy: jittered exponential backoff, used by
//! every retry loop in the workspace (the agent's reconnect, the
//! aggregator's Redis publisher and state restore, hooks), so that they all
//! back off the same way and are configured the same way.
//!
//! A [`RetryPolicy`] is validated when it is built ([`RetryPolicy::try_new`]
//! refuses nonsense by name), and is `Copy`: keep one in a constant or in a
//! config struct. Each loop takes its own [`Backoff`] from it, which counts
//! the failures since the last success.
//!
//! ```
//! use std::time::Duration;
//! use greenlight_retry::RetryPolicy;
//!
//! // A loop that retries until it works:
//! let mut backoff = RetryPolicy::RECONNECT.backoff();
//! let delay = backoff.next_delay(); // sleep this long, try again
//! assert!(delay <= Duration::from_millis(100));
//! backoff.reset(); // after a success
//!
//! // A loop with a fixed number of retries: `Backoff` is an endless
//! // iterator of delays, so `take` bounds it.
//! let policy = RetryPolicy::doubling(Duration::from_secs(1), Duration::from_secs(8)).unwrap();
//! assert_eq!(policy.backoff().take(2).count(), 2);
//! ```
//!
//! # Layout
//!
//! - this file: [`RetryPolicy`] (the parameters) and [`RetryPolicyError`].
//! - `backoff`: [`Backoff`], one loop's progress through a policy.

mod backoff;

use std::time::Duration;

pub use backoff::Backoff;

/// Delays that start at `first`, grow by `factor` after each failure up to
/// `max`, and are each shortened by a random part of up to `jitter` of
/// themselves, so that many clients that failed together do not retry in
/// step. A delay is never longer than `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    first: Duration,
    max: Duration,
    factor: f64,
    jitter: f64,
}

/// Why a retry policy's parameters were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RetryPolicyError {
    #[error("retry policy: the first delay must be longer than zero")]
    ZeroFirst,
    #[error("retry policy: the max delay ({max:?}) is shorter than the first delay ({first:?})")]
    MaxBelowFirst { first: Duration, max: Duration },
    #[error(
        "retry policy: the factor must be a finite number of at least 1 (1 = constant delays), not {0}"
    )]
    Factor(f64),
    #[error(
        "retry policy: the jitter must be a fraction from 0 (none) to 1 (anything from zero to the full delay), not {0}"
    )]
    Jitter(f64),
}

impl RetryPolicy {
    /// Re-establishing a connection to a peer that went away (the agent's
    /// stream to the aggregator, the aggregator's Redis): 100 ms doubling to
    /// 5 s, full jitter. Short at first because most outages are a restart;
    /// full jitter because a whole fleet of agents reconnects at once.
    pub const RECONNECT: RetryPolicy =
        RetryPolicy::checked(Duration::from_millis(100), Duration::from_secs(5), 2.0, 1.0);

    /// The jitter of [`RetryPolicy::doubling`]: enough to spread retries,
    /// while each delay stays at least half of what was configured.
    pub const HALF_JITTER: f64 = 0.5;

    /// Checks every parameter; the error names the one that is wrong.
    pub const fn try_new(
        first: Duration,
        max: Duration,
        factor: f64,
        jitter: f64,
    ) -> Result<RetryPolicy, RetryPolicyError> {
        if first.is_zero() {
            return Err(RetryPolicyError::ZeroFirst);
        }
        if max.as_nanos() < first.as_nanos() {
            return Err(RetryPolicyError::MaxBelowFirst { first, max });
        }
        // Written so that NaN fails too.
        if !(factor.is_finite() && factor >= 1.0) {
            return Err(RetryPolicyError::Factor(factor));
        }
        if !(jitter >= 0.0 && jitter <= 1.0) {
            return Err(RetryPolicyError::Jitter(jitter));
        }
        Ok(RetryPolicy {
            first,
            max,
            factor,
            jitter,
        })
    }

    /// Doubling from `first` up to `max`, with [`RetryPolicy::HALF_JITTER`]:
    /// the usual shape of a configured `backoff = "1s"`.
    pub const fn doubling(first: Duration, max: Duration) -> Result<RetryPolicy, RetryPolicyError> {
        RetryPolicy::try_new(first, max, 2.0, RetryPolicy::HALF_JITTER)
    }

    /// For the constants: a bad one fails the build, not a run.
    const fn checked(first: Duration, max: Duration, factor: f64, jitter: f64) -> RetryPolicy {
        match RetryPolicy::try_new(first, max, factor, jitter) {
            Ok(policy) => policy,
            Err(_) => panic!("an invalid RetryPolicy constant"),
        }
    }

    /// A fresh loop's delays, starting at `first`.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(*self)
    }

    pub fn first(&self) -> Duration {
        self.first
    }

    pub fn max(&self) -> Duration {
        self.max
    }

    pub fn factor(&self) -> f64 {
        self.factor
    }

    pub fn jitter(&self) -> f64 {
        self.jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn good_parameters_are_kept() {
        let policy = RetryPolicy::try_new(MS * 10, MS * 80, 1.5, 0.25).unwrap();
        assert_eq!(policy.first(), MS * 10);
        assert_eq!(policy.max(), MS * 80);
        assert_eq!(policy.factor(), 1.5);
        assert_eq!(policy.jitter(), 0.25);
        // The edges are allowed: constant delays, no jitter, full jitter.
        RetryPolicy::try_new(MS, MS, 1.0, 0.0).unwrap();
        RetryPolicy::try_new(MS, MS, 1.0, 1.0).unwrap();
    }

    #[test]
    fn bad_parameters_are_refused_by_name() {
        let cases = [
            (Duration::ZERO, MS, 2.0, 0.5, "first delay"),
            (MS * 10, MS, 2.0, 0.5, "max delay"),
            (MS, MS * 10, 0.5, 0.5, "factor"),
            (MS, MS * 10, f64::NAN, 0.5, "factor"),
            (MS, MS * 10, f64::INFINITY, 0.5, "factor"),
            (MS, MS * 10, 2.0, -0.1, "jitter"),
            (MS, MS * 10, 2.0, 1.5, "jitter"),
            (MS, MS * 10, 2.0, f64::NAN, "jitter"),
        ];
        for (first, max, factor, jitter, named) in cases {
            let error = RetryPolicy::try_new(first, max, factor, jitter)
                .expect_err(&format!("{first:?} {max:?} {factor} {jitter} is refused"));
            let message = error.to_string();
            assert!(message.contains(named), "{message:?} names the {named}");
        }
        assert_eq!(
            RetryPolicy::try_new(MS * 10, MS, 2.0, 0.5),
            Err(RetryPolicyError::MaxBelowFirst {
                first: MS * 10,
                max: MS
            })
        );
    }

    #[test]
    fn doubling_has_factor_two_and_half_jitter() {
        let policy = RetryPolicy::doubling(MS * 100, MS * 800).unwrap();
        assert_eq!((policy.factor(), policy.jitter()), (2.0, 0.5));
        assert!(RetryPolicy::doubling(MS * 100, MS).is_err());
    }
}
