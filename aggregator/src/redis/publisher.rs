//! The task that publishes what the engine produced, one MULTI/EXEC per
//! publication (see `entries`), in order. Redis being away never stops the
//! aggregator: publications wait in a bounded queue and go out when it is
//! back. Every refresh (a third of the verdict TTL) writes the latest
//! verdict and saved state of each deployment again, so what a Redis
//! restarted without persistence lost comes back within that time, and the
//! loss is noted in the history (see `written`).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use greenlight_retry::{Backoff, RetryPolicy};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::entries::{self, Limits, Prepared};
use super::fenced;
use super::written::{Gap, Written};
use super::{Publication, RedisConnection, RedisTarget};
use crate::config::RedisSettings;

/// Batches waiting for Redis; beyond this the hub counts them as dropped.
pub const QUEUE: usize = 1024;

/// How long the publications left at shutdown may take to go out.
const DRAIN: Duration = Duration::from_secs(2);

pub struct RedisPublisher {
    settings: RedisSettings,
    limits: Limits,
    /// One server, the primary Sentinel names, or a cluster.
    target: RedisTarget,
    /// What to write again on every refresh, and what Redis lost.
    written: Written,
    /// When Redis stopped answering; `None` while it answers. One warning
    /// per outage, one line when it is over.
    down_since: Option<Instant>,
    /// With `[ha]`, this aggregator's id: every write goes through the
    /// fence of its deployment's lease.
    fence: Option<String>,
}

impl RedisPublisher {
    pub fn new(settings: RedisSettings, fence: Option<String>) -> anyhow::Result<Self> {
        // Parsed and checked once, when the config was loaded.
        let target = RedisTarget::new(&settings);
        Ok(RedisPublisher {
            limits: Limits::of(&settings),
            settings,
            target,
            written: Written::default(),
            down_since: None,
            fence,
        })
    }

    pub async fn run(
        mut self,
        mut queue: mpsc::Receiver<Publication>,
        shutdown: CancellationToken,
    ) {
        let Some(mut connection) = self.connect(&shutdown).await else {
            return;
        };
        let period = self.settings.verdict_ttl / 3;
        // After a failed refresh, the next comes sooner (backing off, never
        // later than the period), so keys are back soon after Redis is.
        let mut refresh_backoff = RetryPolicy::RECONNECT.backoff();
        let refresh = tokio::time::sleep(period);
        tokio::pin!(refresh);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                batch = queue.recv() => {
                    let Some(batch) = batch else { break };
                    let span = publish_span(&batch);
                    self.publish(&mut connection, &batch, &shutdown).instrument(span).await;
                }
                () = &mut refresh => {
                    let next = if self.reassert(&mut connection).await {
                        refresh_backoff.reset();
                        period
                    } else {
                        refresh_backoff.next_delay().min(period)
                    };
                    refresh.as_mut().reset(Instant::now() + next);
                }
            }
        }
        // What the engine decided before shutdown still goes out (bounded).
        let drain = async {
            while let Ok(batch) = queue.try_recv() {
                self.publish(&mut connection, &batch, &CancellationToken::new())
                    .await;
            }
        };
        let _ = tokio::time::timeout(DRAIN, drain).await;
    }

    /// With Sentinel, the connection asks the sentinels for the primary
    /// again after a failed command (see `target`), so the retries below
    /// follow a failover.
    async fn connect(&mut self, shutdown: &CancellationToken) -> Option<RedisConnection> {
        let mut backoff = RetryPolicy::RECONNECT.backoff();
        loop {
            match self.target.connect().await {
                Ok(connection) => {
                    self.answered();
                    tracing::info!(url = %self.settings.shown_url(), "connected to Redis");
                    return Some(connection);
                }
                Err(error) => {
                    self.failed(&error, "Redis unreachable; verdicts wait until it is back")
                }
            }
            if !sleep_or_shutdown(&mut backoff, shutdown).await {
                return None;
            }
        }
    }

    /// Sends one publication, retrying until it went through or shutdown.
    /// A retry first writes back what Redis may have lost meanwhile, so
    /// that a loss is found before this publication overwrites its traces.
    async fn publish(
        &mut self,
        connection: &mut RedisConnection,
        publication: &Publication,
        shutdown: &CancellationToken,
    ) {
        let Prepared { pipe, states } =
            entries::prepare(publication, self.limits, &mut self.written);
        let epochs = publication.epochs();
        let mut backoff = RetryPolicy::RECONNECT.backoff();
        loop {
            let ready = backoff.failures() == 0 || self.reassert(connection).await;
            if ready {
                match self.send(&pipe, &epochs, connection).await {
                    Ok(fenced::Sent { existed, refused }) => {
                        self.answered();
                        let gaps = self.written.confirmed(states, &existed, SystemTime::now());
                        self.forget(refused);
                        self.note_gaps(connection, gaps).await;
                        return;
                    }
                    Err(error) => self.failed(&error, "publishing to Redis failed; retrying"),
                }
            }
            if !sleep_or_shutdown(&mut backoff, shutdown).await {
                return;
            }
        }
    }

    /// Writes every deployment's latest verdict and state again (and any
    /// gap not yet noted); `false` when Redis did not answer.
    async fn reassert(&mut self, connection: &mut RedisConnection) -> bool {
        let Some(Prepared { pipe, states }) = entries::reassertion(&self.written, self.limits)
        else {
            return true;
        };
        let noting = self.written.unwritten_gaps().len();
        match self.send(&pipe, &BTreeMap::new(), connection).await {
            Ok(fenced::Sent { existed, refused }) => {
                self.answered();
                if noting > 0 {
                    recovered(&self.written.noted());
                }
                let gaps = self.written.confirmed(states, &existed, SystemTime::now());
                self.forget(refused);
                self.note_gaps(connection, gaps).await;
                true
            }
            Err(error) => {
                self.failed(
                    &error,
                    "writing the verdicts and states again failed; retrying",
                );
                false
            }
        }
    }

    /// One pipeline: as one MULTI/EXEC, or with `[ha]` through the fence
    /// (what Redis refused, another aggregator leads now: forgotten here).
    async fn send(
        &mut self,
        pipe: &redis::Pipeline,
        epochs: &BTreeMap<String, u64>,
        connection: &mut RedisConnection,
    ) -> redis::RedisResult<fenced::Sent> {
        let Some(id) = &self.fence else {
            if matches!(connection, RedisConnection::Cluster(_)) {
                return fenced::send_per_deployment(pipe, connection).await;
            }
            let existed = pipe.query_async::<Vec<bool>>(connection).await?;
            return Ok(fenced::Sent {
                existed,
                refused: Vec::new(),
            });
        };
        fenced::send(pipe, id, epochs, connection).await
    }

    /// Deployments whose writes Redis refused: another aggregator leads
    /// them now, so their keys are not this publisher's to write again.
    fn forget(&mut self, refused: Vec<String>) {
        for deployment in refused {
            metrics::counter!("greenlight_redis_fenced_writes_total").increment(1);
            tracing::warn!(
                %deployment,
                "Redis refused a write: this aggregator no longer holds the deployment's lease (another leads it); not retried"
            );
            self.written.forget(&deployment);
        }
    }

    /// Writes the history entries for gaps just found. When that fails they
    /// stay with `written`, and the next reassertion carries them.
    async fn note_gaps(&mut self, connection: &mut RedisConnection, gaps: Vec<Gap>) {
        if gaps.is_empty() {
            return;
        }
        metrics::counter!("greenlight_redis_gaps_total", "cause" => "redis_lost_state")
            .increment(gaps.len() as u64);
        for gap in &gaps {
            tracing::warn!(
                deployment = %gap.deployment,
                from = %greenlight_proto::time::rfc3339(gap.from),
                to = %greenlight_proto::time::rfc3339(gap.to),
                "Redis lost the saved state (restarted without persistence?); it is written \
                 again, and a gap entry in the history says what is missing"
            );
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for gap in &gaps {
            let what = gap.what();
            entries::gap(
                &mut pipe,
                self.limits.cap,
                &gap.deployment,
                gap.from,
                gap.to,
                &what,
            );
        }
        match self.send(&pipe, &BTreeMap::new(), connection).await {
            Ok(fenced::Sent { refused, .. }) => {
                recovered(&self.written.noted());
                self.forget(refused);
            }
            Err(error) => {
                tracing::debug!(%error, "noting the gap failed; the next refresh retries")
            }
        }
    }

    fn failed(&mut self, error: &redis::RedisError, what: &str) {
        metrics::counter!("greenlight_redis_publish_errors_total").increment(1);
        metrics::gauge!("greenlight_redis_up").set(0.0);
        let error = super::describe(error);
        if self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            tracing::warn!(url = %self.settings.shown_url(), %error, "{what}");
        } else {
            tracing::debug!(url = %self.settings.shown_url(), %error, "{what}");
        }
    }

    fn answered(&mut self) {
        metrics::gauge!("greenlight_redis_up").set(1.0);
        if let Some(since) = self.down_since.take() {
            tracing::info!(
                url = %self.settings.shown_url(),
                down_for = ?since.elapsed(),
                "Redis is back; publishing resumed"
            );
        }
    }
}

fn recovered(gaps: &[Gap]) {
    for gap in gaps {
        tracing::info!(
            deployment = %gap.deployment,
            "the saved state is back in Redis and the gap is in the history"
        );
    }
}

/// Sleeps the backoff's next delay; `false` when shut down meanwhile.
async fn sleep_or_shutdown(backoff: &mut Backoff, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = backoff.sleep() => true,
    }
}

/// An engine step's write (key, channel, history; every retry until it
/// went through) is a child of the step's dispatch; other writes (hook
/// records, gaps, refreshes) are not traced.
fn publish_span(publication: &Publication) -> tracing::Span {
    match publication {
        Publication::Engine(outputs, dispatched) => tracing::info_span!(
            parent: dispatched,
            "aggregator.redis_publish",
            verdicts = outputs.verdicts.len(),
        ),
        _ => tracing::Span::none(),
    }
}
