//! The state of a long-lived CLI's link to the aggregator (`watch`,
//! `wait`): it says on stderr, once each, when the aggregator was lost and
//! when it was regained, and paces the retries with the project's one
//! retry policy (greenlight-retry's RECONNECT, as the agent reconnects).

use std::time::Duration;

use greenlight_retry::{Backoff, RetryPolicy};

use crate::exit::Failure;

pub struct Link {
    backoff: Backoff,
    /// Set while the aggregator is away: the failure that said so.
    lost: bool,
    /// Whether a stream was ever open (the first failure is "cannot
    /// reach", a later one "lost").
    ever_connected: bool,
}

/// What to say when the link changes.
#[derive(Debug, PartialEq)]
pub enum Change {
    Lost(String),
    Regained,
    Unchanged,
}

impl Link {
    pub fn new() -> Link {
        Link {
            backoff: RetryPolicy::RECONNECT.backoff(),
            lost: false,
            ever_connected: false,
        }
    }

    /// A stream is open again: what to say, if anything.
    pub fn connected(&mut self) -> Change {
        self.backoff.reset();
        let was_lost = self.lost;
        self.lost = false;
        self.ever_connected = true;
        if was_lost {
            Change::Regained
        } else {
            Change::Unchanged
        }
    }

    /// The aggregator could not be reached, or the stream broke: what to
    /// say (only the first time in a row), and how long to wait.
    pub fn failed(&mut self, failure: &Failure, what_next: &str) -> (Change, Duration) {
        let delay = self.backoff.next_delay();
        if self.lost {
            return (Change::Unchanged, delay);
        }
        self.lost = true;
        let words = if self.ever_connected {
            format!("lost the aggregator: {}; {what_next}", failure.message)
        } else {
            format!("{}; {what_next}", failure.message)
        };
        (Change::Lost(words), delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::UNREACHABLE;

    #[test]
    fn lost_and_regained_are_said_once_each() {
        let mut link = Link::new();
        let down = Failure::new(UNREACHABLE, "cannot reach the aggregator at x: refused");
        assert_eq!(link.connected(), Change::Unchanged);
        let (change, delay) = link.failed(&down, "reconnecting");
        assert_eq!(
            change,
            Change::Lost(
                "lost the aggregator: cannot reach the aggregator at x: refused; reconnecting"
                    .into()
            )
        );
        assert!(delay <= RetryPolicy::RECONNECT.max());
        assert_eq!(link.failed(&down, "reconnecting").0, Change::Unchanged);
        assert_eq!(link.connected(), Change::Regained);
        assert_eq!(link.connected(), Change::Unchanged);
    }
}
