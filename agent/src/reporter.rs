//! The report loop: once per round of the checks (every `interval`, on
//! the grid they share), take each check's newest result, number the
//! report (1, 2, 3, ... without gaps) and put it in every aggregator's
//! outbox.
//!
//! A round's report goes out as soon as every check due in that round has
//! its result, in the same wakeup as the last one, so it carries results
//! a few milliseconds old; but never later than a tenth of an interval
//! after the round started. A check still running then (a slow or hung
//! dependency) is reported with its previous result and delays nobody;
//! its timeout turns into a failure in a later report. The loop never
//! waits for the aggregator either: reports keep their pace while the
//! stream is down.

use std::time::{Duration, SystemTime};

use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::Report;
use std::sync::Arc;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::grid::Grid;
use crate::outbox::SharedOutbox;
use crate::runner::Latest;

pub(crate) struct Reporter {
    /// Each check's newest result, in report order.
    checks: Vec<watch::Receiver<Option<Latest>>>,
    /// Notified after each new result.
    arrived: Arc<Notify>,
    /// The checks' rounds (every interval); one report per round.
    rounds: Grid,
    /// One per aggregator: each gets every report, same sequence, same
    /// results (its own `dropped_reports`, as its outbox counts them).
    outboxes: Vec<SharedOutbox>,
    /// The last report's sequence; 0 before the first.
    sequence: u64,
}

impl Reporter {
    pub(crate) fn new(
        checks: Vec<watch::Receiver<Option<Latest>>>,
        arrived: Arc<Notify>,
        interval: Duration,
        start: Instant,
        outboxes: Vec<SharedOutbox>,
    ) -> Self {
        Reporter {
            checks,
            arrived,
            rounds: Grid::new(start, interval),
            outboxes,
            sequence: 0,
        }
    }

    /// Reports once a round until `shutdown`, starting once every check
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
        crate::heap::release_startup_memory();
        let mut round = self.round_at(Instant::now());
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                () = tokio::time::sleep_until(round + self.grace()) => {}
                () = self.complete(round) => {}
            }
            let report = self.next_report();
            for outbox in &self.outboxes {
                outbox.push(report.clone());
            }
            // The next round, or a later one if this wakeup came late.
            round = self.round_at(Instant::now()).max(self.rounds.after(round));
        }
    }

    /// How long after its start a round's report waits for slow checks.
    fn grace(&self) -> Duration {
        self.rounds.period() / 10
    }

    /// The round whose report is due at `now`: the earliest one whose
    /// grace has not passed yet.
    fn round_at(&self, now: Instant) -> Instant {
        let earliest = now.checked_sub(self.grace()).unwrap_or(now);
        self.rounds.at_or_after(earliest)
    }

    /// Returns once `round` has started and every check due in it has its
    /// result (each result says when its check runs next).
    async fn complete(&self, round: Instant) {
        loop {
            let arrived = self.arrived.notified();
            if Instant::now() >= round
                && self.checks.iter().all(|check| {
                    check
                        .borrow()
                        .as_ref()
                        .is_some_and(|latest| latest.next_run > round)
                })
            {
                return;
            }
            arrived.await;
        }
    }

    /// The next report, from every check's newest result.
    fn next_report(&mut self) -> Report {
        self.sequence += 1;
        // The root of this report's trace: the aggregator's spans for it
        // (ingest, decision, publication, hooks) join it through the
        // report's `traceparent`. Made only when traces are exported: with
        // nothing to send it to, a span a second is work for no one.
        let traceparent = if greenlight_telemetry::exporting() {
            let span = tracing::info_span!(parent: None, "agent.report", sequence = self.sequence);
            greenlight_telemetry::traceparent_of(&span)
        } else {
            String::new()
        };
        let mut report = Report {
            sequence: self.sequence,
            observed_at: Some(to_timestamp(SystemTime::now())),
            traceparent,
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
    use greenlight_proto::v1::CheckKind;
    use tokio::time::Instant;

    use super::*;
    use crate::probe::failed;

    fn reporter(
        checks: Vec<watch::Receiver<Option<Latest>>>,
        interval: Duration,
        start: Instant,
        outbox: &SharedOutbox,
    ) -> Reporter {
        let arrived = Arc::new(Notify::new());
        Reporter::new(checks, arrived, interval, start, vec![outbox.clone()])
    }

    /// A check's result, as its runner publishes it.
    fn latest(error: &str, next_run: Instant) -> Option<Latest> {
        Some(Latest {
            observation: failed(CheckKind::Http, error, Duration::ZERO).into(),
            at: SystemTime::now(),
            next_run,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn reports_every_interval_with_consecutive_sequences() {
        let outbox = SharedOutbox::new(100);
        let interval = Duration::from_secs(1);
        let started = Instant::now();
        let reporter = reporter(Vec::new(), interval, started, &outbox);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(reporter.run(shutdown.clone()));

        // One per round: 0 s, 1.1 s, 2.1 s, 3.1 s, 4.1 s (with no check to
        // wait for, each after its grace).
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
    fn a_rounds_report_is_due_until_a_tenth_of_an_interval_after_it() {
        let start = Instant::now();
        let outbox = SharedOutbox::new(1);
        let reporter = reporter(Vec::new(), Duration::from_secs(1), start, &outbox);
        let at = |millis| reporter.round_at(start + Duration::from_millis(millis)) - start;
        assert_eq!(at(0), Duration::ZERO);
        assert_eq!(at(100), Duration::ZERO);
        assert_eq!(at(101), Duration::from_secs(1));
        assert_eq!(at(2500), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_outbox_counts_what_it_dropped() {
        let outbox = SharedOutbox::new(2);
        let interval = Duration::from_millis(100);
        let reporter = reporter(Vec::new(), interval, Instant::now(), &outbox);
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
    async fn a_report_leaves_as_soon_as_the_rounds_last_check_is_in() {
        let outbox = SharedOutbox::new(100);
        let (slow, slow_latest) = watch::channel(None);
        let (fast, fast_latest) = watch::channel(None);
        let interval = Duration::from_secs(1);
        let start = Instant::now();
        let arrived = Arc::new(Notify::new());
        let reporter = Reporter::new(
            vec![slow_latest, fast_latest],
            arrived.clone(),
            interval,
            start,
            vec![outbox.clone()],
        );
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(reporter.run(shutdown.clone()));
        let publish = |check: &watch::Sender<Option<Latest>>, error: &str, next_run| {
            check.send_replace(latest(error, next_run));
            arrived.notify_one();
        };
        let at = |millis| start + Duration::from_millis(millis);
        let reported = || outbox.lock().len();

        // Round 0: both in by 30 ms; the report leaves then.
        tokio::time::sleep(Duration::from_millis(10)).await;
        publish(&fast, "fast 1", at(1000));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(reported(), 0, "the slow check is still running");
        publish(&slow, "slow 1", at(1000));
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(reported(), 1, "sent with the round's last result");

        // Round 1 (1 s): the slow check hangs; the report leaves at the
        // grace (1.1 s) with its previous result.
        tokio::time::sleep_until(at(1005)).await;
        publish(&fast, "fast 2", at(2000));
        tokio::time::sleep_until(at(1099)).await;
        assert_eq!(reported(), 1, "waiting for the slow check");
        tokio::time::sleep_until(at(1101)).await;
        assert_eq!(reported(), 2, "sent at the grace without it");

        // The slow check times out at 1.8 s, so it skips the 2 s point; round
        // 2's report leaves with the fast check's result.
        tokio::time::sleep_until(at(1800)).await;
        publish(&slow, "slow 2 timed out", at(3000));
        tokio::time::sleep_until(at(1900)).await;
        assert_eq!(reported(), 2, "nothing before round 2 starts");
        tokio::time::sleep_until(at(2003)).await;
        publish(&fast, "fast 3", at(3000));
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(reported(), 3);

        shutdown.cancel();
        task.await.unwrap();
        let outbox = outbox.lock();
        let errors: Vec<Vec<&str>> = (1..=3)
            .map(|sequence| {
                let report = outbox.next_after(sequence - 1).unwrap();
                report.checks.iter().map(|c| c.error.as_str()).collect()
            })
            .collect();
        assert_eq!(
            errors,
            [
                ["slow 1", "fast 1"],
                ["slow 1", "fast 2"],
                ["slow 2 timed out", "fast 3"]
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_report_before_every_check_has_spoken() {
        let outbox = SharedOutbox::new(100);
        let (_slow, slow_latest) = watch::channel(None);
        let (fast, fast_latest) = watch::channel(None);
        let start = Instant::now();
        let reporter = reporter(
            vec![slow_latest, fast_latest],
            Duration::from_secs(1),
            start,
            &outbox,
        );
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(reporter.run(shutdown.clone()));
        fast.send_replace(latest("fast 1", start + Duration::from_secs(1)));
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(outbox.lock().len(), 0);
        shutdown.cancel();
        task.await.unwrap();
    }
}
