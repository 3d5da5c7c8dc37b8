//! Reports per second, per stream: a token bucket checked before a report
//! reaches the engine's lock, so an agent that floods is refused (typed,
//! and counted) instead of delaying everyone else's reports. The burst is
//! large enough for an agent's replay of its buffer after a reconnect.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSettings {
    /// Sustained reports per second one stream may send.
    pub per_second: u32,
    /// Reports it may send at once (a replay after a reconnect).
    pub burst: u32,
}

#[derive(Debug)]
pub struct ReportRate {
    settings: RateSettings,
    tokens: f64,
    last: Instant,
    /// Refused since the last [`ReportRate::take_refused`].
    refused: u64,
}

impl ReportRate {
    pub fn new(settings: RateSettings, now: Instant) -> Self {
        ReportRate {
            settings,
            tokens: f64::from(settings.burst),
            last: now,
            refused: 0,
        }
    }

    /// Whether one more report may go through now.
    pub fn admit(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * f64::from(self.settings.per_second))
            .min(f64::from(self.settings.burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.refused += 1;
            false
        }
    }

    /// Reports refused since the last call (for the log line that counts them).
    pub fn take_refused(&mut self) -> u64 {
        std::mem::take(&mut self.refused)
    }

    /// How long until the next report would be admitted (for the refusal's text).
    pub fn retry_after(&self) -> Duration {
        let missing = (1.0 - self.tokens).max(0.0);
        Duration::from_secs_f64(missing / f64::from(self.settings.per_second.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: RateSettings = RateSettings {
        per_second: 10,
        burst: 100,
    };

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let start = Instant::now();
        let mut rate = ReportRate::new(SETTINGS, start);
        assert!((0..100).all(|_| rate.admit(start)), "the burst");
        assert!(!rate.admit(start), "beyond the burst");
        assert_eq!(rate.take_refused(), 1);
        // One second later: ten more, not eleven.
        let later = start + Duration::from_secs(1);
        assert_eq!((0..20).filter(|_| rate.admit(later)).count(), 10);
        assert_eq!(rate.take_refused(), 10);
        assert_eq!(rate.take_refused(), 0);
    }

    #[test]
    fn an_honest_agent_is_never_refused() {
        let start = Instant::now();
        let mut rate = ReportRate::new(SETTINGS, start);
        for second in 0..10_000 {
            assert!(rate.admit(start + Duration::from_secs(second)));
        }
    }

    #[test]
    fn the_refusal_says_when_to_come_back() {
        let start = Instant::now();
        let mut rate = ReportRate::new(SETTINGS, start);
        while rate.admit(start) {}
        let wait = rate.retry_after();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
    }
}
