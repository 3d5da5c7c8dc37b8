//! Arrival-to-publication: every verdict published on the fleet's Redis
//! channels (`greenlight:load-*:verdicts`), timed from the arrival of the
//! newest report it reflects (its agents' `last_report_at`, stamped by
//! the aggregator) to its receipt here. Both clocks are this machine's:
//! the aggregator must run here, as `--aggregator-pid` already requires.
//!
//! The aggregator publishes a verdict when its epoch changes, not on every
//! report, so the samples are the publications the run caused (agents
//! joining, sides becoming healthy); their count is printed with them.

use std::time::SystemTime;

use anyhow::Context;
use futures::StreamExt;
use greenlight_proto::json::VerdictJson;
use greenlight_proto::time::parse_rfc3339;

/// Subscribed to the fleet's verdict channels, not yet reading.
pub struct PublicationWatch {
    pubsub: redis::aio::PubSub,
}

#[derive(Debug, Default)]
pub struct PublicationDelays {
    pub micros: Vec<u64>,
    /// Messages that were not verdicts with a report in them.
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
            .psubscribe("greenlight:load-*:verdicts")
            .await
            .context("PSUBSCRIBE greenlight:load-*:verdicts")?;
        Ok(PublicationWatch { pubsub })
    }

    /// Reads publications as they come, until `stop` resolves.
    pub async fn delays_until(mut self, stop: impl Future<Output = ()>) -> PublicationDelays {
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
            let received = SystemTime::now();
            let newest = message
                .get_payload::<String>()
                .ok()
                .and_then(|text| serde_json::from_str::<VerdictJson>(&text).ok())
                .and_then(|verdict| {
                    verdict
                        .agents
                        .iter()
                        .filter_map(|agent| agent.last_report_at.as_deref())
                        .filter_map(parse_rfc3339)
                        .max()
                });
            match newest.and_then(|arrived| received.duration_since(arrived).ok()) {
                Some(delay) => delays.micros.push(delay.as_micros() as u64),
                None => delays.unreadable += 1,
            }
        }
        delays
    }
}
