//! Publishes what the engine produced, one batch per engine call, in one
//! MULTI/EXEC: each verdict to its key (with a TTL), channel and history
//! stream; each action and alert to the history stream; each saved state
//! to its state key. Redis being away never stops the aggregator: batches
//! wait in a bounded queue and go out, in order, when it is back.

use std::collections::BTreeMap;
use std::time::Duration;

use greenlight_proto::json::VerdictJson;
use greenlight_proto::names::{action_name, color_name, decision_name};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::StreamMaxlen;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{history_stream, state_key, verdict_channel, verdict_key};
use crate::config::RedisSettings;
use crate::engine::{Alert, Outputs};
use crate::redis::Publication;

/// Batches waiting for Redis; beyond this the hub counts them as dropped.
pub const QUEUE: usize = 1024;
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

pub struct RedisPublisher {
    settings: RedisSettings,
    client: redis::Client,
    /// Latest verdict JSON per deployment, re-set on every refresh so that
    /// the key comes back after a Redis restart, not only its TTL.
    latest: BTreeMap<String, String>,
}

impl RedisPublisher {
    pub fn new(settings: RedisSettings) -> anyhow::Result<Self> {
        let client = redis::Client::open(settings.url.as_str())
            .map_err(|error| anyhow::anyhow!("redis.url {:?}: {error}", settings.url))?;
        Ok(RedisPublisher {
            settings,
            client,
            latest: BTreeMap::new(),
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
        let mut refresh = tokio::time::interval(self.settings.verdict_ttl / 3);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                batch = queue.recv() => {
                    let Some(batch) = batch else { break };
                    self.publish(&mut connection, &batch, &shutdown).await;
                }
                _ = refresh.tick() => self.refresh(&mut connection).await,
            }
        }
        // What the engine decided before shutdown still goes out (bounded).
        let drain = async {
            while let Ok(batch) = queue.try_recv() {
                self.publish(&mut connection, &batch, &CancellationToken::new())
                    .await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    }

    async fn connect(&self, shutdown: &CancellationToken) -> Option<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let mut delay = RETRY_FIRST;
        let mut warned = false;
        loop {
            match ConnectionManager::new_with_config(self.client.clone(), config.clone()).await {
                Ok(connection) => {
                    tracing::info!(url = %self.settings.url, "connected to Redis");
                    return Some(connection);
                }
                Err(error) if !warned => {
                    tracing::warn!(url = %self.settings.url, %error, "Redis unreachable; verdicts wait until it is back");
                    warned = true;
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(RETRY_MAX);
        }
    }

    fn pipeline(&mut self, publication: &Publication) -> redis::Pipeline {
        let mut pipe = redis::pipe();
        pipe.atomic();
        match publication {
            Publication::Engine(batch) => self.engine_step(&mut pipe, batch),
            Publication::Hook(outcome) => {
                let result = &outcome.result;
                let fields = [
                    ("kind", "hook".to_string()),
                    ("epoch", outcome.epoch.to_string()),
                    ("action", action_name(outcome.action).to_string()),
                    (
                        "attempt",
                        format!("{}/{}", outcome.attempt, outcome.attempts),
                    ),
                    (
                        "outcome",
                        if result.succeeded() { "ok" } else { "failed" }.to_string(),
                    ),
                    ("exit", result.describe()),
                    ("duration_ms", result.duration.as_millis().to_string()),
                    ("output", result.output_tail.clone()),
                ];
                pipe.xadd_maxlen(
                    history_stream(&outcome.deployment),
                    self.cap(),
                    "*",
                    &fields,
                )
                .ignore();
            }
            Publication::Alert(alert) => self.alert(&mut pipe, alert),
        }
        pipe
    }

    fn cap(&self) -> StreamMaxlen {
        StreamMaxlen::Approx(self.settings.history_max_len as usize)
    }

    fn alert(&self, pipe: &mut redis::Pipeline, alert: &Alert) {
        let epoch = alert.epoch.to_string();
        let details = alert.details.join("\n");
        pipe.xadd_maxlen(
            history_stream(&alert.deployment),
            self.cap(),
            "*",
            &[
                ("kind", "alert"),
                ("epoch", &epoch),
                ("severity", alert.severity.name()),
                ("summary", &alert.summary),
                ("details", &details),
            ],
        )
        .ignore();
    }

    fn engine_step(&mut self, pipe: &mut redis::Pipeline, batch: &Outputs) {
        let cap = self.cap();
        let ttl = self.settings.verdict_ttl.as_secs().max(1);
        for verdict in &batch.verdicts {
            let json = serde_json::to_string(&VerdictJson::from(verdict)).unwrap_or_default();
            let name = &verdict.deployment;
            let epoch = verdict.epoch.to_string();
            pipe.set_ex(verdict_key(name), &json, ttl).ignore();
            pipe.publish(verdict_channel(name), &json).ignore();
            pipe.xadd_maxlen(
                history_stream(name),
                cap,
                "*",
                &[
                    ("kind", "verdict"),
                    ("epoch", &epoch),
                    ("decision", decision_name(verdict.decision())),
                    ("verdict", &json),
                ],
            )
            .ignore();
            self.latest.insert(name.clone(), json);
        }
        for action in &batch.actions {
            let epoch = action.epoch.to_string();
            pipe.xadd_maxlen(
                history_stream(&action.deployment),
                cap,
                "*",
                &[
                    ("kind", "action"),
                    ("epoch", &epoch),
                    ("action", action_name(action.action)),
                    ("from", color_name(action.from)),
                    ("to", color_name(action.to)),
                    ("cause", &action.cause),
                ],
            )
            .ignore();
        }
        for alert in &batch.alerts {
            self.alert(pipe, alert);
        }
        for (name, state) in &batch.states {
            let json = serde_json::to_string(state).unwrap_or_default();
            pipe.set(state_key(name), json).ignore();
        }
    }

    async fn publish(
        &mut self,
        connection: &mut ConnectionManager,
        batch: &Publication,
        shutdown: &CancellationToken,
    ) {
        let pipe = self.pipeline(batch);
        let mut delay = RETRY_FIRST;
        let mut warned = false;
        loop {
            match pipe.query_async::<()>(connection).await {
                Ok(()) => {
                    if warned {
                        tracing::info!("Redis is back; publishing resumed");
                    }
                    return;
                }
                Err(error) if !warned => {
                    tracing::warn!(%error, "publishing to Redis failed; retrying");
                    warned = true;
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(RETRY_MAX);
        }
    }

    async fn refresh(&self, connection: &mut ConnectionManager) {
        if self.latest.is_empty() {
            return;
        }
        let ttl = self.settings.verdict_ttl.as_secs().max(1);
        let mut pipe = redis::pipe();
        for (name, json) in &self.latest {
            pipe.set_ex(verdict_key(name), json, ttl).ignore();
        }
        if let Err(error) = pipe.query_async::<()>(connection).await {
            tracing::debug!(%error, "refreshing verdict keys failed");
        }
    }
}
