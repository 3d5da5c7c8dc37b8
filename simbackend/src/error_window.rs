//! The 5xx ratio of work requests over the last ten seconds.
//!
//! The guide's monitor script reads one `error_rate` number; a cumulative
//! ratio would never recover after a fault is switched off, so this keeps one
//! bucket per second and forgets buckets older than the window.

/// Seconds the ratio looks back over.
pub(crate) const WINDOW_SECS: u64 = 10;

#[derive(Clone, Copy, Debug, Default)]
struct SecondBucket {
    /// Which second (since the backend started) this bucket counts; a bucket
    /// whose second has left the window is stale and reused.
    second: u64,
    total: u64,
    errors: u64,
}

/// A ring of per-second counts. Time comes in as "seconds since start", so
/// the type holds no clock and tests can move time by hand.
#[derive(Debug, Default)]
pub(crate) struct ErrorWindow {
    buckets: [SecondBucket; WINDOW_SECS as usize],
}

impl ErrorWindow {
    pub(crate) fn record(&mut self, second: u64, is_error: bool) {
        let bucket = &mut self.buckets[(second % WINDOW_SECS) as usize];
        if bucket.second != second {
            *bucket = SecondBucket {
                second,
                ..SecondBucket::default()
            };
        }
        bucket.total += 1;
        bucket.errors += u64::from(is_error);
    }

    /// Errors / requests within the window ending at `second`; 0 without
    /// requests, because no traffic is not failure.
    pub(crate) fn ratio(&self, second: u64) -> f64 {
        let (total, errors) = self
            .buckets
            .iter()
            .filter(|b| b.second <= second && second - b.second < WINDOW_SECS)
            .fold((0, 0), |(t, e), b| (t + b.total, e + b.errors));
        if total == 0 {
            0.0
        } else {
            errors as f64 / total as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_covers_the_last_ten_seconds_only() {
        let mut window = ErrorWindow::default();
        assert_eq!(window.ratio(0), 0.0);
        window.record(0, true);
        window.record(3, false);
        window.record(3, false);
        window.record(3, true);
        assert_eq!(window.ratio(3), 0.5);
        assert_eq!(window.ratio(9), 0.5);
        // Second 0 has left the window; second 3 is still in it.
        assert!((window.ratio(10) - 1.0 / 3.0).abs() < 1e-9);
        // A reused bucket starts from zero.
        window.record(13, false);
        assert_eq!(window.ratio(13), 0.0);
        assert_eq!(window.ratio(40), 0.0);
    }
}
