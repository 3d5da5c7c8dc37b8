//! Failed handshakes are logged one line each up to a budget per window,
//! then counted: a stranger hammering the port must not fill the log, and
//! the count still says it happened. The first failure of each kind in a
//! window is always logged, so a new cause (an agent whose certificate
//! expired) is not hidden behind a noisy old one.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Lines per window before failures are only counted.
const LINES_PER_WINDOW: u32 = 10;
const WINDOW: Duration = Duration::from_secs(10);
/// Kinds remembered per window (beyond, only the budget applies).
const KINDS_PER_WINDOW: usize = 32;

#[derive(Debug)]
pub(super) struct FailureLog {
    state: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    logged: u32,
    suppressed: u64,
    kinds: Vec<String>,
}

/// What to do with one failure.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Log it; `suppressed` more failed in the window before, unlogged.
    Log { suppressed: u64 },
    /// Count it only.
    Count,
}

impl FailureLog {
    pub(super) fn new(now: Instant) -> FailureLog {
        FailureLog {
            state: Mutex::new(Window {
                started: now,
                logged: 0,
                suppressed: 0,
                kinds: Vec::new(),
            }),
        }
    }

    /// One failure; `kind` is its cause in words (the error's text).
    pub(super) fn failed(&self, now: Instant, kind: &str) -> Verdict {
        let mut window = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut suppressed = 0;
        if now.duration_since(window.started) >= WINDOW {
            suppressed = std::mem::take(&mut window.suppressed);
            window.started = now;
            window.logged = 0;
            window.kinds.clear();
        }
        let new_kind = !window.kinds.iter().any(|seen| seen == kind);
        if new_kind && window.kinds.len() < KINDS_PER_WINDOW {
            window.kinds.push(kind.to_string());
            window.logged += 1;
            Verdict::Log { suppressed }
        } else if window.logged < LINES_PER_WINDOW {
            window.logged += 1;
            Verdict::Log { suppressed }
        } else {
            window.suppressed += 1;
            Verdict::Count
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_budget_failures_are_counted_and_the_count_is_told_later() {
        let start = Instant::now();
        let log = FailureLog::new(start);
        for _ in 0..LINES_PER_WINDOW {
            assert_eq!(log.failed(start, "noise"), Verdict::Log { suppressed: 0 });
        }
        for _ in 0..5 {
            assert_eq!(log.failed(start, "noise"), Verdict::Count);
        }
        // A new cause is told even past the budget.
        assert_eq!(log.failed(start, "expired"), Verdict::Log { suppressed: 0 });
        assert_eq!(log.failed(start, "expired"), Verdict::Count);
        let later = start + WINDOW;
        assert_eq!(log.failed(later, "noise"), Verdict::Log { suppressed: 6 });
        assert_eq!(log.failed(later, "noise"), Verdict::Log { suppressed: 0 });
    }
}
