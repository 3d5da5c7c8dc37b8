//! What the HTTP face remembers beyond the engine: the timeline of recent
//! events, the traffic series for the charts, and the hooks' tally. Fed by
//! the dispatcher (what it carried out) and the sampler (the agents'
//! latest figures); read by the status page and /health.

use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use super::health_doc::HookTally;
use super::series::Series;
use super::timeline::{TIMELINE_LEN, Timeline};
use crate::engine::{Outputs, SwitchOutcome};

#[derive(Debug)]
pub struct BoardState {
    pub timeline: Timeline,
    pub series: Series,
    pub hooks: HookTally,
}

#[derive(Debug)]
pub struct Board {
    state: Mutex<BoardState>,
}

impl Board {
    /// `hooks_configured`: how many hooks have a command (defaults and each
    /// deployment's own).
    pub fn new(hooks_configured: usize) -> Self {
        Board {
            state: Mutex::new(BoardState {
                timeline: Timeline::new(TIMELINE_LEN),
                series: Series::default(),
                hooks: HookTally {
                    configured: hooks_configured,
                    ..HookTally::default()
                },
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BoardState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut BoardState) -> R) -> R {
        f(&mut self.lock())
    }

    /// One engine step as the dispatcher carried it out.
    pub fn record_outputs(&self, outputs: &Outputs, now: SystemTime) {
        if outputs.verdicts.is_empty() && outputs.actions.is_empty() && outputs.alerts.is_empty() {
            return;
        }
        self.lock().timeline.record(outputs, now);
    }

    /// One run of a hook (an attempt; a retried hook runs more than once).
    pub fn record_hook_run(&self, failure: Option<String>) {
        let mut state = self.lock();
        state.hooks.runs += 1;
        if failure.is_some() {
            state.hooks.failures += 1;
        }
        state.hooks.last_failure = failure;
    }

    /// A switch's final outcome.
    pub fn record_switch(&self, deployment: &str, outcome: &SwitchOutcome, now: SystemTime) {
        self.lock().timeline.hook_finished(deployment, outcome, now);
    }
}
