//! Arrival-to-publication. The aggregator publishes a verdict only when
//! it changes (a new epoch), so one marker agent in each of the first ten
//! deployments makes it change: its http check fails on every even
//! sequence and passes on every odd one, and each of those reports is timed from the moment it was
//! queued here to the receipt, on the deployment's Redis channel
//! (`greenlight:{load-*}:verdicts`), of the verdict whose agent summary
//! carries that sequence. One clock (this process's): an upper bound on
//! the aggregator's arrival-to-publication, by the loopback hop.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::Context;
use futures::StreamExt;
use greenlight_proto::json::VerdictJson;
use tokio::time::Instant;

/// Marker reports sent and not yet seen published: (instance, sequence).
#[derive(Debug, Default)]
pub struct Markers {
    sent: Mutex<HashMap<(String, u64), Instant>>,
}

impl Markers {
    pub fn sent(&self, instance: &str, sequence: u64, at: Instant) {
        if let Ok(mut sent) = self.sent.lock() {
            sent.insert((instance.to_string(), sequence), at);
        }
    }

    fn published(&self, instance: &str, sequence: u64) -> Option<Instant> {
        self.sent
            .lock()
            .ok()?
            .remove(&(instance.to_string(), sequence))
    }

    /// Marker reports never seen published (yet).
    pub fn unseen(&self) -> usize {
        self.sent.lock().map_or(0, |sent| sent.len())
    }
}

/// Subscribed to the fleet's verdict channels, not yet reading.
pub struct PublicationWatch {
    pubsub: redis::aio::PubSub,
}

#[derive(Debug, Default)]
pub struct PublicationDelays {
    pub micros: Vec<u64>,
    /// Publications read, marker or not.
    pub publications: u64,
    /// Messages that were not verdicts.
    pub unreadable: u64,
}

impl PublicationWatch {
    pub async fn subscribe(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).context("the --redis URL")?;
        let mut pubsub = client
            .get_async_pubsub()
            .await
            .context("subscribing to the verdict channels")?;
        pubsub
            .psubscribe("greenlight:{load-*}:verdicts")
            .await
            .context("PSUBSCRIBE greenlight:{load-*}:verdicts")?;
        Ok(PublicationWatch { pubsub })
    }

    /// Reads publications as they come, until `stop` resolves, timing
    /// the marker reports they carry.
    pub async fn delays_until(
        mut self,
        markers: std::sync::Arc<Markers>,
        stop: impl Future<Output = ()>,
    ) -> PublicationDelays {
        let mut delays = PublicationDelays::default();
        let mut messages = self.pubsub.on_message();
        tokio::pin!(stop);
        loop {
            let message = tokio::select! {
                _ = &mut stop => break,
                message = messages.next() => match message {
                    Some(message) => message,
                    None => break,
                },
            };
            let received = Instant::now();
            delays.publications += 1;
            let verdict = message
                .get_payload::<String>()
                .ok()
                .and_then(|text| serde_json::from_str::<VerdictJson>(&text).ok());
            let Some(verdict) = verdict else {
                delays.unreadable += 1;
                continue;
            };
            for agent in &verdict.agents {
                if let Some(sent) = markers.published(&agent.instance_id, agent.last_sequence) {
                    delays
                        .micros
                        .push(received.saturating_duration_since(sent).as_micros() as u64);
                }
            }
        }
        delays
    }
}
