//! An agent's traffic over a sliding window, from the cumulative counters
//! in its reports. Bounded: samples older than the window are dropped as
//! new ones arrive, so one report costs the same after an hour as after a
//! minute.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use greenlight_proto::v1::TrafficCounters;

/// Counters, or the difference of two.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    pub requests: u64,
    pub errors: u64,
    pub duration_sum_seconds: f64,
    pub duration_count: u64,
}

impl Counters {
    pub fn from_report(counters: &TrafficCounters) -> Self {
        Counters {
            requests: counters.requests_total,
            errors: counters.errors_total,
            duration_sum_seconds: counters.request_duration_seconds_sum,
            duration_count: counters.request_duration_seconds_count,
        }
    }

    /// `self - earlier`; `None` when a counter went down (a restart).
    fn since(&self, earlier: &Counters) -> Option<Counters> {
        Some(Counters {
            requests: self.requests.checked_sub(earlier.requests)?,
            errors: self.errors.checked_sub(earlier.errors)?,
            duration_sum_seconds: (self.duration_sum_seconds - earlier.duration_sum_seconds)
                .max(0.0),
            duration_count: self.duration_count.checked_sub(earlier.duration_count)?,
        })
    }

    /// Saturating: counters near u64::MAX from several agents add up to
    /// the most a u64 holds, not to a panic.
    pub fn add(&mut self, other: &Counters) {
        self.requests = self.requests.saturating_add(other.requests);
        self.errors = self.errors.saturating_add(other.errors);
        self.duration_sum_seconds += other.duration_sum_seconds;
        self.duration_count = self.duration_count.saturating_add(other.duration_count);
    }

    pub fn error_ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }

    pub fn mean_latency_seconds(&self) -> f64 {
        if self.duration_count == 0 {
            0.0
        } else {
            self.duration_sum_seconds / self.duration_count as f64
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct TrafficWindow {
    samples: VecDeque<(SystemTime, Counters)>,
}

impl TrafficWindow {
    /// Adds a sample; returns how many requests it added since the previous
    /// one (0 after a counter reset, which restarts the window: a backend
    /// restart is not a traffic spike).
    pub fn push(&mut self, at: SystemTime, counters: Counters, window: Duration) -> u64 {
        let added = match self.samples.back() {
            Some((_, last)) => match counters.since(last) {
                Some(delta) => delta.requests,
                None => {
                    self.samples.clear();
                    0
                }
            },
            None => 0,
        };
        self.samples.push_back((at, counters));
        // Keep one sample at or before the window's start, as the base of
        // the difference.
        let start = at.checked_sub(window).unwrap_or(at);
        while self.samples.len() > 2 && self.samples[1].0 <= start {
            self.samples.pop_front();
        }
        added
    }

    /// What happened within the window: newest minus oldest sample.
    pub fn delta(&self) -> Counters {
        match (self.samples.front(), self.samples.back()) {
            (Some((_, first)), Some((_, last))) => last.since(first).unwrap_or_default(),
            _ => Counters::default(),
        }
    }

    /// What the newest sample added to the one before it.
    pub fn last_increment(&self) -> Counters {
        let mut newest = self.samples.iter().rev();
        match (newest.next(), newest.next()) {
            (Some((_, last)), Some((_, before))) => last.since(before).unwrap_or_default(),
            _ => Counters::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    fn counters(requests: u64, errors: u64) -> Counters {
        Counters {
            requests,
            errors,
            ..Default::default()
        }
    }

    #[test]
    fn the_window_slides_and_stays_bounded() {
        let mut window = TrafficWindow::default();
        for second in 0..=600 {
            window.push(
                at(second),
                counters(second * 10, second),
                Duration::from_secs(60),
            );
        }
        let delta = window.delta();
        assert_eq!((delta.requests, delta.errors), (600, 60));
        assert!(window.len() <= 62, "{}", window.len());
    }

    #[test]
    fn a_counter_reset_restarts_the_window() {
        let mut window = TrafficWindow::default();
        window.push(at(0), counters(1000, 10), Duration::from_secs(60));
        window.push(at(1), counters(1100, 11), Duration::from_secs(60));
        assert_eq!(
            window.push(at(2), counters(5, 5), Duration::from_secs(60)),
            0
        );
        assert_eq!(window.delta(), Counters::default());
        assert_eq!(
            window.push(at(3), counters(105, 6), Duration::from_secs(60)),
            100
        );
        assert_eq!(window.delta().requests, 100);
    }
}
