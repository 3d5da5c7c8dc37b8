//! The statistics behind the baseline rule: is the candidate's error ratio
//! significantly higher than the old side's, by enough to matter?

/// Errors out of requests, in one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proportion {
    pub errors: u64,
    pub requests: u64,
}

impl Proportion {
    pub fn ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

/// One-sided two-proportion z statistic of `candidate` over `baseline`
/// (pooled variance). `None` when either sample is empty or the pooled
/// ratio is 0 or 1 (no variance: nothing to test).
pub fn z_increase(baseline: Proportion, candidate: Proportion) -> Option<f64> {
    if baseline.requests == 0 || candidate.requests == 0 {
        return None;
    }
    let (n1, n2) = (baseline.requests as f64, candidate.requests as f64);
    let pooled = (baseline.errors + candidate.errors) as f64 / (n1 + n2);
    let variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    if variance <= 0.0 {
        return None;
    }
    Some((candidate.ratio() - baseline.ratio()) / variance.sqrt())
}

/// A regression: significant at `z_critical` and at least `min_increase`
/// higher in absolute terms.
pub fn is_regression(
    baseline: Proportion,
    candidate: Proportion,
    z_critical: f64,
    min_increase: f64,
) -> bool {
    candidate.ratio() - baseline.ratio() >= min_increase
        && z_increase(baseline, candidate).is_some_and(|z| z > z_critical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(errors: u64, requests: u64) -> Proportion {
        Proportion { errors, requests }
    }

    #[test]
    fn three_percent_against_a_fifth_of_a_percent_is_a_regression() {
        let z = z_increase(p(2, 1000), p(30, 1000)).unwrap();
        assert!(z > 4.5, "{z}");
        assert!(is_regression(p(2, 1000), p(30, 1000), 2.326, 0.01));
    }

    #[test]
    fn three_percent_against_two_point_nine_is_not() {
        assert!(!is_regression(p(29, 1000), p(30, 1000), 2.326, 0.01));
        // Even with huge samples the effect is too small to matter.
        assert!(!is_regression(
            p(29_000, 1_000_000),
            p(30_000, 1_000_000),
            2.326,
            0.01
        ));
    }

    #[test]
    fn a_big_jump_on_few_requests_is_not_significant() {
        // 1 of 10 against 0 of 10: a 10-point jump, but z is about 1.03.
        assert!(!is_regression(p(0, 10), p(1, 10), 2.326, 0.01));
    }

    #[test]
    fn no_variance_no_test() {
        assert_eq!(z_increase(p(0, 100), p(0, 100)), None);
        assert_eq!(z_increase(p(0, 0), p(5, 100)), None);
    }
}
