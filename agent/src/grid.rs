//! The time grid the checks and the reports share: `start + k * period`.
//! Checks run on grid points and reports follow them, so every timer that
//! is due at once fires in one wakeup of the agent instead of one each.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Grid {
    start: Instant,
    period: Duration,
}

impl Grid {
    pub(crate) fn new(start: Instant, period: Duration) -> Self {
        Grid {
            start,
            // A zero period would put every point on `start`.
            period: period.max(Duration::from_millis(1)),
        }
    }

    pub(crate) fn period(&self) -> Duration {
        self.period
    }

    /// The first grid point at or after `at` (`start` when `at` is earlier).
    pub(crate) fn at_or_after(&self, at: Instant) -> Instant {
        let behind = at.saturating_duration_since(self.start);
        let points = behind.as_nanos().div_ceil(self.period.as_nanos());
        self.point(points)
    }

    /// The first grid point strictly after `at`: where a run that ended (or
    /// overran) at `at` goes next, skipping the points it missed.
    pub(crate) fn after(&self, at: Instant) -> Instant {
        let next = self.at_or_after(at);
        if next > at { next } else { next + self.period }
    }

    fn point(&self, k: u128) -> Instant {
        // In nanoseconds, u64 lasts 584 years.
        let offset = k.saturating_mul(self.period.as_nanos());
        self.start + Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> (Instant, Grid) {
        let start = Instant::now();
        (start, Grid::new(start, Duration::from_secs(1)))
    }

    #[test]
    fn points_at_or_after_a_time() {
        let (start, grid) = grid();
        let at = |millis| grid.at_or_after(start + Duration::from_millis(millis)) - start;
        assert_eq!(at(0), Duration::ZERO);
        assert_eq!(at(1), Duration::from_secs(1));
        assert_eq!(at(1000), Duration::from_secs(1));
        assert_eq!(at(2500), Duration::from_secs(3));
    }

    #[test]
    fn points_strictly_after_a_time_skip_missed_ones() {
        let (start, grid) = grid();
        let after = |millis| grid.after(start + Duration::from_millis(millis)) - start;
        assert_eq!(after(0), Duration::from_secs(1));
        assert_eq!(after(999), Duration::from_secs(1));
        assert_eq!(after(1000), Duration::from_secs(2));
        // A run that overran two points resumes on the grid.
        assert_eq!(after(2001), Duration::from_secs(3));
    }

    #[test]
    fn times_before_the_start_map_to_the_start() {
        let start = Instant::now();
        let grid = Grid::new(start + Duration::from_secs(5), Duration::from_secs(1));
        assert_eq!(grid.at_or_after(start), start + Duration::from_secs(5));
    }
}
