//! Repeats not sent again: the same key in the same state, delivered
//! within the window. Time is passed in.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::event::AlertState;

/// Keys remembered at most; the oldest are forgotten first.
const REMEMBERED: usize = 4096;

#[derive(Debug)]
pub struct Dedup {
    window: Duration,
    /// Each key's last delivered state, and when.
    delivered: HashMap<String, (AlertState, Instant)>,
}

impl Dedup {
    pub fn new(window: Duration) -> Dedup {
        Dedup {
            window,
            delivered: HashMap::new(),
        }
    }

    /// Whether `key` in `state` was already delivered within the window.
    pub fn is_repeat(&self, key: &str, state: AlertState, now: Instant) -> bool {
        self.delivered.get(key).is_some_and(|(last, at)| {
            *last == state && now.saturating_duration_since(*at) < self.window
        })
    }

    pub fn delivered(&mut self, key: &str, state: AlertState, now: Instant) {
        if self.delivered.len() >= REMEMBERED && !self.delivered.contains_key(key) {
            let window = self.window;
            self.delivered
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < window);
            if self.delivered.len() >= REMEMBERED {
                let oldest = self
                    .delivered
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(key, _)| key.clone());
                if let Some(oldest) = oldest {
                    self.delivered.remove(&oldest);
                }
            }
        }
        self.delivered.insert(key.to_string(), (state, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_within_the_window_is_one_and_after_it_is_not() {
        let mut dedup = Dedup::new(Duration::from_secs(60));
        let start = Instant::now();
        assert!(!dedup.is_repeat("d/hold", AlertState::Firing, start));
        dedup.delivered("d/hold", AlertState::Firing, start);
        assert!(dedup.is_repeat(
            "d/hold",
            AlertState::Firing,
            start + Duration::from_secs(59)
        ));
        assert!(!dedup.is_repeat(
            "d/hold",
            AlertState::Firing,
            start + Duration::from_secs(60)
        ));
    }

    #[test]
    fn a_change_of_state_is_never_a_repeat() {
        let mut dedup = Dedup::new(Duration::from_secs(60));
        let now = Instant::now();
        dedup.delivered("d/hold", AlertState::Firing, now);
        assert!(!dedup.is_repeat("d/hold", AlertState::Resolved, now));
        dedup.delivered("d/hold", AlertState::Resolved, now);
        assert!(!dedup.is_repeat("d/hold", AlertState::Firing, now));
        assert!(!dedup.is_repeat("d/other", AlertState::Firing, now));
    }

    #[test]
    fn memory_is_bounded() {
        let mut dedup = Dedup::new(Duration::from_secs(3600));
        let now = Instant::now();
        for i in 0..REMEMBERED + 10 {
            dedup.delivered(&format!("k{i}"), AlertState::Firing, now);
        }
        assert!(dedup.delivered.len() <= REMEMBERED);
    }
}
