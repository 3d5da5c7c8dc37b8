//! One timeline: an agent's clock is data, mapped onto the aggregator's.
//!
//! For each report, arrival (our clock) minus observation (its clock) is
//! the network and queueing delay plus the clocks' difference. Its minimum
//! over recent reports is the difference plus the smallest delay, a few
//! milliseconds on a LAN: that is the lag that maps the agent's times onto
//! ours. A backlog replayed after a disconnect arrives late, so it only
//! raises the lag of its own samples and never moves the minimum; a mapped
//! time is never later than the report's arrival.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// How long a sample counts towards the minimum. Long enough to span a
/// replayed backlog; short enough that a clock the agent stepped back is
/// followed within a minute (until then its reports look old, so stale:
/// fail-safe).
const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Default)]
pub struct ClockOffset {
    /// (arrival, lag in seconds), lags strictly increasing from the front:
    /// the front is the window's minimum (a monotonic queue, O(1) per report).
    samples: VecDeque<(SystemTime, f64)>,
}

impl ClockOffset {
    /// Takes one report's times in and returns its observation time on the
    /// aggregator's timeline.
    pub fn map(&mut self, arrival: SystemTime, observed: SystemTime) -> SystemTime {
        let lag = signed_seconds(arrival, observed);
        while self.samples.back().is_some_and(|(_, back)| *back >= lag) {
            self.samples.pop_back();
        }
        self.samples.push_back((arrival, lag));
        let start = arrival.checked_sub(WINDOW).unwrap_or(arrival);
        while self.samples.len() > 1 && self.samples.front().is_some_and(|(at, _)| *at < start) {
            self.samples.pop_front();
        }
        let mapped = shift(observed, self.lag());
        mapped.min(arrival)
    }

    /// Arrival minus observation, at its smallest recently (seconds).
    fn lag(&self) -> f64 {
        self.samples.front().map(|(_, lag)| *lag).unwrap_or(0.0)
    }

    /// The agent's clock minus ours, in seconds: positive = it runs ahead.
    pub fn offset_seconds(&self) -> f64 {
        -self.lag()
    }

    pub fn offset(&self) -> Duration {
        Duration::from_secs_f64(self.lag().abs())
    }
}

/// `a - b` in seconds, negative when `b` is later.
fn signed_seconds(a: SystemTime, b: SystemTime) -> f64 {
    match a.duration_since(b) {
        Ok(ahead) => ahead.as_secs_f64(),
        Err(behind) => -behind.duration().as_secs_f64(),
    }
}

fn shift(time: SystemTime, seconds: f64) -> SystemTime {
    let by = Duration::from_secs_f64(seconds.abs());
    if seconds >= 0.0 {
        time + by
    } else {
        time.checked_sub(by).unwrap_or(time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(seconds: f64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs_f64(1_800_000_000.0 + seconds)
    }

    #[test]
    fn an_agent_ten_minutes_behind_is_mapped_onto_our_timeline() {
        let mut clock = ClockOffset::default();
        for second in 0..30 {
            let now = f64::from(second);
            let mapped = clock.map(at(now + 0.003), at(now - 600.0));
            assert!((signed_seconds(mapped, at(now))).abs() < 0.01, "{second}");
        }
        assert!((clock.offset_seconds() + 600.0).abs() < 0.01);
    }

    #[test]
    fn a_replayed_backlog_keeps_its_own_times() {
        let mut clock = ClockOffset::default();
        for second in 0..10 {
            clock.map(at(f64::from(second)), at(f64::from(second) + 120.0));
        }
        // 20 reports observed at 10..30 arrive together at 30.
        for second in 10..30 {
            let mapped = clock.map(at(30.0), at(f64::from(second) + 120.0));
            assert!((signed_seconds(mapped, at(f64::from(second)))).abs() < 0.01);
        }
        assert!((clock.offset_seconds() - 120.0).abs() < 0.01);
    }

    #[test]
    fn a_clock_stepped_back_is_followed_after_the_window() {
        let mut clock = ClockOffset::default();
        clock.map(at(0.0), at(0.0));
        // The agent's clock jumps 30 s back: its reports look 30 s old...
        let early = clock.map(at(1.0), at(-29.0));
        assert!(signed_seconds(at(1.0), early) > 29.0);
        // ...until the old samples leave the window.
        let mut mapped = early;
        for second in 2..=62 {
            mapped = clock.map(at(f64::from(second)), at(f64::from(second) - 30.0));
        }
        assert!(signed_seconds(at(62.0), mapped).abs() < 0.01);
    }
}
