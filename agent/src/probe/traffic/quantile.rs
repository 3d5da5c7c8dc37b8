//! Latency quantiles from cumulative histogram buckets, the way
//! Prometheus's `histogram_quantile` computes them (linear interpolation
//! inside the bucket that holds the rank).

/// `new - old` per bucket bound: the observations between two scrapes.
/// Bounds missing from `old` count from zero.
pub(crate) fn bucket_delta(new: &[(f64, f64)], old: &[(f64, f64)]) -> Vec<(f64, f64)> {
    new.iter()
        .map(|&(bound, count)| {
            let before = old
                .iter()
                .find(|(old_bound, _)| *old_bound == bound)
                .map_or(0.0, |&(_, count)| count);
            (bound, (count - before).max(0.0))
        })
        .collect()
}

/// The `q` quantile (0..1) of cumulative `buckets` (ascending bounds, `+Inf`
/// last); 0 when there are no observations.
pub(crate) fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> f64 {
    let Some(&(_, total)) = buckets.last() else {
        return 0.0;
    };
    if total <= 0.0 {
        return 0.0;
    }
    let rank = q.clamp(0.0, 1.0) * total;
    let Some(index) = buckets.iter().position(|&(_, count)| count >= rank) else {
        return 0.0;
    };
    let (upper, count) = buckets[index];
    if upper.is_infinite() {
        // Beyond the last finite bound nothing is known: report that bound.
        return if index == 0 {
            0.0
        } else {
            buckets[index - 1].0
        };
    }
    let (lower, count_below) = if index == 0 {
        (0.0_f64.min(upper), 0.0)
    } else {
        buckets[index - 1]
    };
    let in_bucket = count - count_below;
    if in_bucket <= 0.0 {
        return upper;
    }
    lower + (upper - lower) * ((rank - count_below) / in_bucket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_inside_the_bucket() {
        let buckets = [
            (0.1, 50.0),
            (0.5, 90.0),
            (1.0, 100.0),
            (f64::INFINITY, 100.0),
        ];
        assert!((histogram_quantile(0.5, &buckets) - 0.1).abs() < 1e-9);
        // rank 95 lies half way through the (0.5, 1.0] bucket.
        assert!((histogram_quantile(0.95, &buckets) - 0.75).abs() < 1e-9);
        assert_eq!(histogram_quantile(0.99, &[(f64::INFINITY, 0.0)]), 0.0);
        assert_eq!(histogram_quantile(0.99, &[]), 0.0);
    }

    #[test]
    fn ranks_in_the_inf_bucket_report_the_last_finite_bound() {
        let buckets = [(0.1, 10.0), (0.5, 20.0), (f64::INFINITY, 100.0)];
        assert_eq!(histogram_quantile(0.99, &buckets), 0.5);
    }

    #[test]
    fn delta_subtracts_per_bound() {
        let old = [(0.1, 10.0), (f64::INFINITY, 12.0)];
        let new = [(0.1, 15.0), (0.5, 3.0), (f64::INFINITY, 20.0)];
        assert_eq!(
            bucket_delta(&new, &old),
            vec![(0.1, 5.0), (0.5, 3.0), (f64::INFINITY, 8.0)]
        );
    }
}
