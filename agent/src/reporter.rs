//! The report loop: every `interval`, take each check's newest result,
//! number the report (1, 2, 3, ... without gaps) and put it in the outbox.
//! It never waits for a probe (each runs on its own schedule, see
//! `runner`) nor for the aggregator, so reports keep their pace while a
//! dependency hangs or the stream is down. Reports fall a tenth of an
//! interval after the checks' rounds (they share one grid, see `runner`),
//! so a report carries results a few milliseconds old rather than up to an
//! interval.

use std::time::{Duration, SystemTime};

use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::Report;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::outbox::SharedOutbox;
use crate::runner::Latest;

pub(crate) struct Reporter {
    /// Each check's newest result, in report order.
    checks: Vec<watch::Receiver<Option<Latest>>>,
    interval: Duration,
    /// The checks' first round; reports follow each round.
    start: Instant,
    outbox: SharedOutbox,
    /// The last report's sequence; 0 before the first.
    sequence: u64,
}

impl Reporter {
    pub(crate) fn new(
        checks: Vec<watch::Receiver<Option<Latest>>>,
        interval: Duration,
        start: Instant,
        outbox: SharedOutbox,
    ) -> Self {
        Reporter {
            checks,
            interval,
            start,
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
        // Startup is over (config, first connections, first round).
        crate::heap::release_free_memory();
        let mut ticker = tokio::time::interval_at(self.first_report(Instant::now()), self.interval);
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

    /// The first report time at or after `now`: a tenth of an interval
    /// after a round of the checks.
    fn first_report(&self, now: Instant) -> Instant {
        let first = self.start + self.interval / 10;
        let behind = now.saturating_duration_since(first);
        let rounds = behind.as_nanos().div_ceil(self.interval.as_nanos().max(1));
        first + self.interval * u32::try_from(rounds).unwrap_or(u32::MAX)
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
        let started = Instant::now();
        let reporter = Reporter::new(Vec::new(), interval, started, outbox.clone());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(reporter.run(shutdown.clone()));

        // A tenth of an interval after each round: 0.1 s, 1.1 s, ... 4.1 s.
        tokio::time::sleep(Duration::from_millis(4500)).await;
        shutdown.cancel();
        task.await.unwrap();
        assert_eq!(
            outbox.lock().sequences().collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn reports_fall_a_tenth_of_an_interval_after_a_round() {
        let start = Instant::now();
        let reporter = Reporter::new(
            Vec::new(),
            Duration::from_secs(1),
            start,
            SharedOutbox::new(1),
        );
        let at = |millis| reporter.first_report(start + Duration::from_millis(millis)) - start;
        assert_eq!(at(0), Duration::from_millis(100));
        assert_eq!(at(100), Duration::from_millis(100));
        assert_eq!(at(101), Duration::from_millis(1100));
        assert_eq!(at(2500), Duration::from_millis(3100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_outbox_counts_what_it_dropped() {
        let outbox = SharedOutbox::new(2);
        let interval = Duration::from_millis(100);
        let reporter = Reporter::new(Vec::new(), interval, Instant::now(), outbox.clone());
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
        let reporter = Reporter::new(
            vec![slow_latest, fast_latest],
            interval,
            Instant::now(),
            outbox.clone(),
        );
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
        // Reports follow the rounds at 2.1 s and 3.1 s.
        slow.send_replace(latest("slow 1"));
        tokio::time::sleep(Duration::from_millis(700)).await;
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
