//! Publishes every verdict to Redis, as DESIGN says: the key
//! `greenlight:<deployment>:verdict` (latest JSON, TTL refreshed while the
//! aggregator lives), the channel `greenlight:<deployment>:verdicts` and the
//! capped stream `greenlight:<deployment>:history`, in one MULTI/EXEC.
//! Redis being away never stops the aggregator: verdicts wait in a bounded
//! queue and go out, in order, when it is back.

use std::collections::BTreeMap;
use std::time::Duration;

use greenlight_proto::json::VerdictJson;
use greenlight_proto::v1::Verdict;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::StreamMaxlen;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::RedisSettings;

/// Verdicts waiting for Redis; beyond this the hub counts them as dropped.
pub const QUEUE: usize = 1024;
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

pub fn verdict_key(deployment: &str) -> String {
    format!("greenlight:{deployment}:verdict")
}
pub fn verdict_channel(deployment: &str) -> String {
    format!("greenlight:{deployment}:verdicts")
}
pub fn history_stream(deployment: &str) -> String {
    format!("greenlight:{deployment}:history")
}

pub struct RedisPublisher {
    settings: RedisSettings,
    client: redis::Client,
    /// Latest JSON per deployment, re-set on every refresh so the key comes
    /// back after a Redis restart, not only its TTL.
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

    pub async fn run(mut self, mut queue: mpsc::Receiver<Verdict>, shutdown: CancellationToken) {
        let Some(mut connection) = self.connect(&shutdown).await else {
            return;
        };
        let mut refresh = tokio::time::interval(self.settings.verdict_ttl / 3);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                verdict = queue.recv() => {
                    let Some(verdict) = verdict else { return };
                    self.publish(&mut connection, &verdict, &shutdown).await;
                }
                _ = refresh.tick() => self.refresh(&mut connection).await,
            }
        }
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
                Err(error) => {
                    if !warned {
                        tracing::warn!(url = %self.settings.url, %error, "Redis unreachable; verdicts wait until it is back");
                        warned = true;
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(RETRY_MAX);
        }
    }

    async fn publish(
        &mut self,
        connection: &mut ConnectionManager,
        verdict: &Verdict,
        shutdown: &CancellationToken,
    ) {
        let json = match serde_json::to_string(&VerdictJson::from(verdict)) {
            Ok(json) => json,
            Err(error) => {
                tracing::error!(%error, "verdict could not be serialised");
                return;
            }
        };
        let name = &verdict.deployment;
        let decision = greenlight_proto::names::decision_name(verdict.decision());
        let mut pipe = redis::pipe();
        pipe.atomic()
            .set_ex(verdict_key(name), &json, self.ttl_seconds())
            .ignore()
            .publish(verdict_channel(name), &json)
            .ignore()
            .xadd_maxlen(
                history_stream(name),
                StreamMaxlen::Approx(self.settings.history_max_len as usize),
                "*",
                &[
                    ("kind", "verdict"),
                    ("epoch", &verdict.epoch.to_string()),
                    ("decision", decision),
                    ("verdict", &json),
                ],
            )
            .ignore();
        let mut delay = RETRY_FIRST;
        let mut warned = false;
        loop {
            match pipe.query_async::<()>(connection).await {
                Ok(()) => {
                    if warned {
                        tracing::info!("Redis is back; publishing resumed");
                    }
                    self.latest.insert(name.clone(), json);
                    return;
                }
                Err(error) => {
                    if !warned {
                        tracing::warn!(%error, deployment = %name, epoch = verdict.epoch, "publishing to Redis failed; retrying");
                        warned = true;
                    }
                }
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
        let mut pipe = redis::pipe();
        for (name, json) in &self.latest {
            pipe.set_ex(verdict_key(name), json, self.ttl_seconds())
                .ignore();
        }
        if let Err(error) = pipe.query_async::<()>(connection).await {
            tracing::debug!(%error, "refreshing verdict keys failed");
        }
    }

    fn ttl_seconds(&self) -> u64 {
        self.settings.verdict_ttl.as_secs().max(1)
    }
}
