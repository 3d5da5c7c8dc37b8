//! The report loop: every `interval`, run all probes, number the result
//! (1, 2, 3, ... without gaps) and put it in the outbox. It never waits for
//! the aggregator, so probing goes on while the stream is down.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use greenlight_proto::names::check_status_name;
use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::{CheckResult, CheckStatus, Report};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::outbox::SharedOutbox;
use crate::probe::{Probe, run_round};

pub(crate) struct Reporter {
    probes: Vec<Probe>,
    interval: Duration,
    timeout: Duration,
    outbox: SharedOutbox,
    /// The last report's sequence; 0 before the first.
    sequence: u64,
    /// Each check's last status, so only changes are logged.
    last_status: HashMap<(String, String), CheckStatus>,
}

impl Reporter {
    pub(crate) fn new(
        probes: Vec<Probe>,
        interval: Duration,
        timeout: Duration,
        outbox: SharedOutbox,
    ) -> Self {
        Reporter {
            probes,
            interval,
            timeout,
            outbox,
            sequence: 0,
            last_status: HashMap::new(),
        }
    }

    /// Reports every `interval` until `shutdown`. A round that overruns
    /// (it cannot by much: probes stop at `timeout`) delays the next tick
    /// rather than bunching rounds up.
    pub(crate) async fn run(mut self, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let report = tokio::select! {
                _ = shutdown.cancelled() => return,
                report = self.round() => report,
            };
            self.outbox.push(report);
        }
    }

    /// Runs every probe once and builds the next report.
    async fn round(&mut self) -> Report {
        let observed_at = SystemTime::now();
        let observations = run_round(&mut self.probes, self.timeout).await;
        let mut report = Report {
            observed_at: Some(to_timestamp(observed_at)),
            ..Report::default()
        };
        for observation in observations {
            self.log_change(&observation.result);
            if observation.counters.is_some() {
                report.traffic = observation.counters;
            }
            report.checks.push(observation.result);
        }
        self.sequence += 1;
        report.sequence = self.sequence;
        report
    }

    /// Warns when a check starts failing and says when it recovers; quiet
    /// while nothing changes.
    fn log_change(&mut self, result: &CheckResult) {
        let status = result.status();
        let key = (result.check.clone(), result.component.clone());
        let before = self.last_status.insert(key, status);
        if before == Some(status) {
            return;
        }
        match status {
            CheckStatus::Fail => warn!(
                check = %label(result),
                error = %result.error,
                "check failing"
            ),
            _ if before == Some(CheckStatus::Fail) => info!(
                check = %label(result),
                status = %check_status_name(status),
                "check recovered"
            ),
            _ => info!(
                check = %label(result),
                status = %check_status_name(status),
                "check status"
            ),
        }
    }
}

/// `check` or `check:component`, as the health+json format names them.
fn label(result: &CheckResult) -> String {
    if result.component.is_empty() {
        result.check.clone()
    } else {
        format!("{}:{}", result.check, result.component)
    }
}

#[cfg(test)]
mod tests {
    use tokio::time::Instant;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn reports_every_interval_with_consecutive_sequences() {
        let outbox = SharedOutbox::new(100);
        let interval = Duration::from_secs(1);
        let reporter = Reporter::new(Vec::new(), interval, interval / 2, outbox.clone());
        let shutdown = CancellationToken::new();
        let started = Instant::now();
        let task = tokio::spawn(reporter.run(shutdown.clone()));

        // The first tick is immediate, then one per second: 0 s, 1 s, ... 4 s.
        tokio::time::sleep(Duration::from_millis(4500)).await;
        shutdown.cancel();
        task.await.unwrap();
        assert_eq!(
            outbox.lock().sequences().collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_outbox_counts_what_it_dropped() {
        let outbox = SharedOutbox::new(2);
        let interval = Duration::from_millis(100);
        let reporter = Reporter::new(Vec::new(), interval, interval, outbox.clone());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(reporter.run(shutdown.clone()));
        tokio::time::sleep(Duration::from_millis(450)).await;
        shutdown.cancel();
        task.await.unwrap();
        let outbox = outbox.lock();
        assert_eq!(outbox.sequences().collect::<Vec<_>>(), [4, 5]);
        assert_eq!(outbox.dropped(), 3);
    }
}
