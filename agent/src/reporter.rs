//! The report loop: every `interval`, take each check's newest result,
//! number the report (1, 2, 3, ... without gaps) and put it in the outbox.
//! It never waits for a probe (each runs on its own schedule, see
//! `runner`) nor for the aggregator, so reports keep their pace while a
//! dependency hangs or the stream is down.

use std::time::{Duration, SystemTime};

use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::Report;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::outbox::SharedOutbox;
use crate::runner::Latest;

pub(crate) struct Reporter {
    /// Each check's newest result, in report order.
    checks: Vec<watch::Receiver<Option<Latest>>>,
    interval: Duration,
    outbox: SharedOutbox,
    /// The last report's sequence; 0 before the first.
    sequence: u64,
}

impl Reporter {
    pub(crate) fn new(
        checks: Vec<watch::Receiver<Option<Latest>>>,
        interval: Duration,
        outbox: SharedOutbox,
    ) -> Self {
        Reporter {
            checks,
            interval,
            outbox,
            sequence: 0,
        }
    }

    /// Reports every `interval` until `shutdown`, starting once every check
    /// has a first result (each is bounded by its timeout), so the first
    /// report is never missing a check.
    pub(crate) async fn run(mut self, shutdown: CancellationToken) {
        let first_results = async {
            for check in &mut self.checks {
                // An error means the check's task ended: shutdown is near.
                let _ = check.wait_for(Option::is_some).await;
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            () = first_results => {}
        }
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let report = self.next_report();
            self.outbox.push(report);
        }
    }

    /// The next report, from every check's newest result.
    fn next_report(&mut self) -> Report {
        self.sequence += 1;
        let mut report = Report {
            sequence: self.sequence,
            observed_at: Some(to_timestamp(SystemTime::now())),
            ..Report::default()
        };
        for check in &self.checks {
            if let Some(latest) = &*check.borrow() {
                report
                    .checks
                    .extend(latest.observation.results.iter().cloned());
                if latest.observation.counters.is_some() {
                    report.traffic = latest.observation.counters;
                }
            }
        }
        report
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
        let reporter = Reporter::new(Vec::new(), interval, outbox.clone());
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
        let reporter = Reporter::new(Vec::new(), interval, outbox.clone());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(reporter.run(shutdown.clone()));
        tokio::time::sleep(Duration::from_millis(450)).await;
        shutdown.cancel();
        task.await.unwrap();
        let outbox = outbox.lock();
        assert_eq!(outbox.sequences().collect::<Vec<_>>(), [4, 5]);
        assert_eq!(outbox.dropped(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn reports_carry_each_checks_newest_result() {
        use crate::probe::failed;

        let outbox = SharedOutbox::new(100);
        let (slow, slow_latest) = watch::channel(None);
        let (fast, fast_latest) = watch::channel(None);
        let interval = Duration::from_secs(1);
        let reporter = Reporter::new(vec![slow_latest, fast_latest], interval, outbox.clone());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(reporter.run(shutdown.clone()));
        let latest = |error: &str| {
            Some(Latest {
                observation: failed("x", error, Duration::ZERO).into(),
                at: SystemTime::now(),
            })
        };

        fast.send_replace(latest("fast 1"));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(outbox.lock().len(), 0, "no report before every check spoke");
        slow.send_replace(latest("slow 1"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        fast.send_replace(latest("fast 2"));
        tokio::time::sleep(Duration::from_millis(1000)).await;
        shutdown.cancel();
        task.await.unwrap();

        let outbox = outbox.lock();
        let errors: Vec<Vec<&str>> = (1..=2)
            .map(|sequence| {
                let report = outbox.next_after(sequence - 1).unwrap();
                report.checks.iter().map(|c| c.error.as_str()).collect()
            })
            .collect();
        assert_eq!(errors, [["slow 1", "fast 1"], ["slow 1", "fast 2"]]);
    }
}
