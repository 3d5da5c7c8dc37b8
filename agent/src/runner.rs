//! Each check on its own schedule: one task per check runs its probe every
//! check interval, bounded by the check's timeout, and publishes the newest
//! result in a `watch`. The report loop and the agent's `/health` read the
//! newest values whenever they like, so a hung dependency delays nobody: its
//! check keeps its previous result until the timeout turns it into a
//! failure ("timed out after ...").
//!
//! Runs fall on the shared grid (see `grid`); each result says when its
//! check runs next, so the report loop can tell when a round is complete.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use greenlight_proto::names::check_status_name;
use greenlight_proto::v1::{CheckResult, CheckStatus};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::alarm::Alarm;
use crate::config::Schedule;
use crate::grid::Grid;
use crate::histogram::Histogram;
use crate::probe::{Observation, Probe};

/// The newest result of one check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Latest {
    pub(crate) observation: Observation,
    /// When the probe finished.
    pub(crate) at: SystemTime,
    /// When the check runs again: until then this result is its newest.
    pub(crate) next_run: Instant,
}

/// What the rest of the agent sees of one running check.
#[derive(Debug, Clone)]
pub(crate) struct CheckHandle {
    pub(crate) name: &'static str,
    /// `None` until the first run ends.
    pub(crate) latest: watch::Receiver<Option<Latest>>,
    /// How long each run took, timeouts included.
    pub(crate) durations: Arc<Histogram>,
}

/// Starts one task per probe on `tracker`; they stop at `shutdown`. Every
/// check's rounds fall on the same grid from `start` (`start + k *
/// interval`), so checks that share an interval wake the agent once, not
/// once each. `arrived` is notified after every new result.
pub(crate) fn spawn_checks(
    probes: Vec<(Probe, Schedule)>,
    start: Instant,
    arrived: &Arc<Notify>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) -> Vec<CheckHandle> {
    probes
        .into_iter()
        .map(|(probe, schedule)| {
            let (latest, receiver) = watch::channel(None);
            let handle = CheckHandle {
                name: probe.name(),
                latest: receiver,
                durations: Arc::new(Histogram::default()),
            };
            let runner = Runner {
                probe,
                schedule,
                latest,
                arrived: arrived.clone(),
                durations: handle.durations.clone(),
                last_status: HashMap::new(),
            };
            tracker.spawn(runner.run(start, shutdown.clone()));
            handle
        })
        .collect()
}

struct Runner {
    probe: Probe,
    schedule: Schedule,
    latest: watch::Sender<Option<Latest>>,
    arrived: Arc<Notify>,
    durations: Arc<Histogram>,
    /// Each result's last status by component, so only changes are logged.
    last_status: HashMap<String, CheckStatus>,
}

impl Runner {
    /// Runs the probe every interval until `shutdown`. A run that overruns
    /// (it cannot by much: the timeout is at most the interval) skips the
    /// grid point it missed rather than bunching runs up or leaving the
    /// grid.
    async fn run(mut self, start: Instant, shutdown: CancellationToken) {
        let grid = Grid::new(start, self.schedule.interval);
        let mut alarm = Alarm::new();
        let mut due = start;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                () = alarm.sleep_until(due) => {}
            }
            let started = Instant::now();
            let observation = tokio::select! {
                _ = shutdown.cancelled() => return,
                observation = self.probe.observe(self.schedule.timeout) => observation,
            };
            self.durations.observe(started.elapsed());
            for result in &observation.results {
                self.log_change(result);
            }
            let next_run = grid.after(Instant::now());
            due = next_run;
            self.latest.send_replace(Some(Latest {
                observation,
                at: SystemTime::now(),
                next_run,
            }));
            self.arrived.notify_one();
        }
    }

    /// Warns when a result starts failing and says when it recovers; quiet
    /// while nothing changes.
    fn log_change(&mut self, result: &CheckResult) {
        let status = result.status();
        let before = match self.last_status.get_mut(&result.component) {
            Some(last) => Some(std::mem::replace(last, status)),
            None => {
                self.last_status.insert(result.component.clone(), status);
                None
            }
        };
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

/// `check` or `check/component`.
pub(crate) fn label(result: &CheckResult) -> String {
    if result.component.is_empty() {
        result.check.clone()
    } else {
        format!("{}/{}", result.check, result.component)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use greenlight_proto::v1::CheckStatus;

    use super::*;
    use crate::config::{HttpSettings, PostgresSettings};
    use crate::probe::{ActiveConnections, AggregatorMinRequests, closed_port};

    /// Accepts connections and never answers: a hung dependency.
    async fn silent_port() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        port
    }

    #[tokio::test]
    async fn a_hung_check_delays_no_other() {
        let mut settings = crate::config::test_settings();
        settings.interval = Duration::from_millis(400);
        settings.checks.postgres = Some(PostgresSettings {
            url: format!("postgres://u@127.0.0.1:{}/db", silent_port().await),
            // Times out once per second; the http check runs every 100 ms.
            interval: Some(Duration::from_secs(1)),
            timeout: Some(Duration::from_millis(600)),
            ..Default::default()
        });
        settings.checks.http = Some(HttpSettings {
            url: format!("http://127.0.0.1:{}/health", closed_port().await),
        });
        settings.checks.http_options.interval = Some(Duration::from_millis(100));
        let config = settings.validate().unwrap();
        let connections = ActiveConnections::new();
        let probes = config
            .checks
            .iter()
            .map(|check| {
                (
                    Probe::new(check, &connections, &AggregatorMinRequests::new()).unwrap(),
                    check.schedule,
                )
            })
            .collect();
        let tracker = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let arrived = Arc::new(Notify::new());
        let handles = spawn_checks(probes, Instant::now(), &arrived, &tracker, &shutdown);
        let (postgres, http) = (&handles[0], &handles[1]);
        assert_eq!((postgres.name, http.name), ("postgres", "http"));

        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            postgres.latest.borrow().is_none(),
            "still running: no result yet, not a guess"
        );
        assert!(http.durations.snapshot().count >= 2, "http ran meanwhile");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let latest = postgres.latest.borrow().clone().expect("timed out by now");
        assert_eq!(latest.observation.results[0].status(), CheckStatus::Fail);
        assert_eq!(latest.observation.results[0].error, "timed out after 600ms");
        let runs = http.durations.snapshot().count;
        assert!(
            runs >= 6,
            "the http check kept its pace: {runs} runs in 800 ms"
        );

        shutdown.cancel();
        tracker.close();
        tokio::time::timeout(Duration::from_secs(2), tracker.wait())
            .await
            .expect("check tasks stop at shutdown");
    }
}
