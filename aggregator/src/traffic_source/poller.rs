//! One task per configured deployment that reads its load balancer every
//! `poll` and tells the engine where traffic goes; the engine decides what
//! a move it did not make means (`external_switch`, `traffic_drift`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use greenlight_proto::names::color_name;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::reading::{ReadError, Reading};
use super::streak::{Note, Streak};
use super::{TrafficSource, TrafficSourceKind, haproxy, nginx};
use crate::hub::Hub;

/// The longest one read may take: a busy HAProxy answers in milliseconds,
/// and a stalled socket or mount must not stop the poller for longer than
/// a few polls.
pub const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// Starts a poller for every deployment with a traffic source; each stops
/// when `shutdown` is cancelled.
pub fn spawn_all(
    sources: &BTreeMap<String, TrafficSource>,
    hub: Arc<Hub>,
    tasks: &TaskTracker,
    shutdown: CancellationToken,
) {
    for (deployment, source) in sources {
        tracing::info!(
            %deployment,
            source = %describe(&source.kind),
            poll = ?source.poll,
            "following where traffic goes"
        );
        let poller = Poller {
            deployment: deployment.clone(),
            source: source.clone(),
            hub: hub.clone(),
        };
        tasks.spawn(poller.run(shutdown.clone()));
    }
}

/// Reads a source once: where its traffic goes now.
pub async fn read(kind: &TrafficSourceKind) -> Result<Reading, ReadError> {
    match kind {
        TrafficSourceKind::Haproxy {
            socket,
            backend,
            blue_server,
            green_server,
        } => haproxy::read(socket, backend, blue_server, green_server, READ_TIMEOUT).await,
        TrafficSourceKind::Nginx {
            site,
            blue_config,
            green_config,
        } => nginx::read(site, blue_config, green_config, READ_TIMEOUT).await,
    }
}

struct Poller {
    deployment: String,
    source: TrafficSource,
    hub: Arc<Hub>,
}

impl Poller {
    async fn run(self, shutdown: CancellationToken) {
        let mut interval = tokio::time::interval(self.source.poll);
        // A slow read delays the next one instead of bunching reads up.
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut streak = Streak::default();
        loop {
            let outcome = tokio::select! {
                _ = shutdown.cancelled() => return,
                outcome = async {
                    interval.tick().await;
                    read(&self.source.kind).await
                } => outcome,
            };
            if let Some(note) = streak.observe(outcome.as_ref()) {
                self.log(note);
            }
            // Told on every poll, not only on a change: a disagreement the
            // engine measures (traffic_drift) needs the reading to persist.
            if let Ok(Reading::One(color)) = outcome {
                self.hub.with_engine(|engine, now| {
                    engine.traffic_observed(&self.deployment, color, now)
                });
            }
        }
    }

    fn log(&self, note: Note) {
        let deployment = &self.deployment;
        let source = describe(&self.source.kind);
        match note {
            Note::Changed(Reading::One(color)) => tracing::info!(
                %deployment,
                %source,
                "traffic source: traffic goes to {}",
                color_name(color)
            ),
            Note::Changed(Reading::NotOne(what)) => tracing::warn!(
                %deployment,
                %source,
                "traffic source: traffic goes to no single color ({what}); the verdict keeps its live color until it does"
            ),
            Note::Failing(error) => tracing::warn!(
                %deployment,
                %source,
                %error,
                "traffic source cannot be read; the verdict keeps its live color, and this is said once until it reads again"
            ),
            Note::Recovered { failures, reading } => tracing::info!(
                %deployment,
                %source,
                failures,
                "traffic source reads again: {reading}"
            ),
        }
    }
}

/// The source in a few words, for log lines.
fn describe(kind: &TrafficSourceKind) -> String {
    match kind {
        TrafficSourceKind::Haproxy {
            socket, backend, ..
        } => format!("HAProxy {socket} backend {backend}"),
        TrafficSourceKind::Nginx { site, .. } => format!("nginx site {}", site.display()),
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::Clock;
    use crate::engine::{DeploymentSettings, Engine};

    use super::*;

    #[tokio::test]
    async fn pollers_are_tracked_and_stop_on_shutdown() {
        let clock = Clock::start();
        let engine = Engine::new(
            DeploymentSettings::default(),
            BTreeMap::new(),
            &BTreeMap::new(),
            clock.now(),
        )
        .unwrap();
        let (hub, _outputs) = Hub::new(engine, clock, Arc::new(crate::lead::Leadership::alone()));
        let hub = Arc::new(hub);
        // Nothing listens there: every read fails, the poller keeps going.
        let source = TrafficSource {
            kind: TrafficSourceKind::Haproxy {
                socket: "/nonexistent/greenlight-test/admin.sock".into(),
                backend: "escashop".into(),
                blue_server: "blue".into(),
                green_server: "green".into(),
            },
            poll: Duration::from_millis(200),
        };
        let sources = BTreeMap::from([("escashop".to_owned(), source)]);
        let tasks = TaskTracker::new();
        let shutdown = CancellationToken::new();
        spawn_all(&sources, hub, &tasks, shutdown.clone());
        assert_eq!(tasks.len(), 1);

        // A few polls, all failing.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(tasks.len(), 1, "a failing read does not end the poller");
        shutdown.cancel();
        tasks.close();
        tokio::time::timeout(Duration::from_secs(10), tasks.wait())
            .await
            .expect("the poller stops on shutdown");
    }
}
