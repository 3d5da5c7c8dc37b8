//! One sink's task: its bounded queue, de-duplication, retries with
//! backoff, and (Alertmanager) firing alerts posted again until resolved.
//! A slow or dead sink holds up only its own queue.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::dedup::Dedup;
use super::deliver::Deliverer;
use super::event::{AlertEvent, AlertState};
use super::route::Route;
use super::settings::{SinkSettings, SinkTarget};
use crate::clock::Clock;

/// An event in a sink's queue, with the span it was offered in (the
/// dispatch of the step that raised it), so its delivery is in that trace.
#[derive(Debug)]
pub struct Queued {
    event: AlertEvent,
    offered_in: tracing::Span,
}

/// The dispatcher's end of one sink: routing, then `try_send` only.
#[derive(Debug, Clone)]
pub struct SinkHandle {
    name: String,
    route: Route,
    queue: mpsc::Sender<Queued>,
    /// Drops so far: logged at the 1st, 2nd, 4th, 8th... so that a dead
    /// sink under a flood does not flood the log too (the counter has all).
    dropped: Arc<AtomicU64>,
}

impl SinkHandle {
    /// Never waits: a full queue drops the event and counts it.
    pub fn offer(&self, event: &AlertEvent) {
        if !self.route.wants(event) {
            return;
        }
        let queued = Queued {
            event: event.clone(),
            offered_in: tracing::Span::current(),
        };
        let reason = match self.queue.try_send(queued) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(_)) => "queue_full",
            Err(mpsc::error::TrySendError::Closed(_)) => "stopped",
        };
        metrics::counter!("greenlight_alerts_dropped_total", "sink" => self.name.clone(), "reason" => reason)
            .increment(1);
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped.is_power_of_two() {
            tracing::warn!(sink = %self.name, key = %event.key, reason, dropped, "alert dropped");
        }
    }
}

pub struct Sink {
    settings: SinkSettings,
    deliverer: Deliverer,
    clock: Clock,
    dedup: Dedup,
    /// Alertmanager: conditions delivered firing and not yet resolved.
    firing: BTreeMap<String, AlertEvent>,
}

impl Sink {
    /// The sink's task and the dispatcher's handle to it.
    pub fn new(
        settings: SinkSettings,
        deliverer: Deliverer,
        clock: Clock,
    ) -> (Sink, SinkHandle, mpsc::Receiver<Queued>) {
        let (queue, receiver) = mpsc::channel(settings.queue);
        let handle = SinkHandle {
            name: settings.name.clone(),
            route: settings.route.clone(),
            queue,
            dropped: Arc::default(),
        };
        let sink = Sink {
            dedup: Dedup::new(settings.dedup_window),
            settings,
            deliverer,
            clock,
            firing: BTreeMap::new(),
        };
        (sink, handle, receiver)
    }

    /// Until the queue closes (the dispatcher stopped) and is empty, or
    /// `stop`: then what is queued gets one attempt each, no retries.
    pub async fn run(mut self, mut queue: mpsc::Receiver<Queued>, stop: CancellationToken) {
        let reposting = matches!(self.settings.target, SinkTarget::Alertmanager { .. });
        let mut repost = tokio::time::interval(self.settings.repost);
        repost.set_missed_tick_behavior(MissedTickBehavior::Delay);
        repost.tick().await;
        loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                queued = queue.recv() => match queued {
                    Some(queued) => self.handle_traced(queued, &stop).await,
                    None => return,
                },
                _ = repost.tick(), if reposting && !self.firing.is_empty() => self.repost(&stop).await,
            }
        }
        queue.close();
        while let Ok(queued) = queue.try_recv() {
            self.handle_traced(queued, &stop).await;
        }
    }

    /// `handle` inside `aggregator.alert`, a child of the dispatch that
    /// offered the event: its de-duplication, every attempt and retry.
    async fn handle_traced(&mut self, queued: Queued, stop: &CancellationToken) {
        let Queued { event, offered_in } = queued;
        let span = tracing::info_span!(
            parent: &offered_in,
            "aggregator.alert",
            sink = %self.settings.name,
            event = event.kind.name(),
            key = %event.key,
        );
        self.handle(event, stop).instrument(span).await;
    }

    async fn handle(&mut self, event: AlertEvent, stop: &CancellationToken) {
        let now = Instant::now();
        if self.dedup.is_repeat(&event.key, event.state, now) {
            metrics::counter!("greenlight_alerts_deduplicated_total", "sink" => self.settings.name.clone())
                .increment(1);
            return;
        }
        if self.send(&[&event], stop).await {
            self.dedup
                .delivered(&event.key, event.state, Instant::now());
            if event.kind.is_condition() {
                match event.state {
                    AlertState::Firing => {
                        self.firing.insert(event.key.clone(), event);
                    }
                    AlertState::Resolved => {
                        self.firing.remove(&event.key);
                    }
                }
            }
        }
    }

    async fn repost(&mut self, stop: &CancellationToken) {
        let firing: Vec<AlertEvent> = self.firing.values().cloned().collect();
        let events: Vec<&AlertEvent> = firing.iter().collect();
        self.send(&events, stop).await;
    }

    /// Attempts until one works, the retries run out, or `stop`; counts
    /// each failed attempt, and what was given up as dropped.
    async fn send(&self, events: &[&AlertEvent], stop: &CancellationToken) -> bool {
        let name = &self.settings.name;
        let mut backoff = self
            .settings
            .retry_policy()
            .unwrap_or(greenlight_retry::RetryPolicy::RECONNECT)
            .backoff();
        let attempts = self.settings.retries + 1;
        for attempt in 1..=attempts {
            let tried = tokio::time::timeout(
                self.settings.timeout,
                self.deliverer.deliver(events, self.clock.now()),
            )
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {:?}", self.settings.timeout)));
            match tried {
                Ok(()) => {
                    metrics::counter!("greenlight_alerts_sent_total", "sink" => name.clone())
                        .increment(events.len() as u64);
                    return true;
                }
                Err(error) => {
                    metrics::counter!("greenlight_alerts_failed_total", "sink" => name.clone())
                        .increment(1);
                    tracing::warn!(sink = %name, attempt, attempts, %error, "alert delivery failed");
                }
            }
            if attempt == attempts || stop.is_cancelled() {
                break;
            }
            tokio::select! {
                _ = backoff.sleep() => {}
                _ = stop.cancelled() => break,
            }
        }
        metrics::counter!("greenlight_alerts_dropped_total", "sink" => name.clone(), "reason" => "undeliverable")
            .increment(events.len() as u64);
        tracing::error!(sink = %name, events = events.len(), "alert given up: the sink did not take it");
        false
    }
}

#[cfg(test)]
mod tests;
