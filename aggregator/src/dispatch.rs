//! The dispatcher: the one task that carries the engine's outputs out, in
//! order: the log, the watchers and grpc.health.v1 (through the hub's
//! watch), the hooks and Redis. What happens to them outside comes back to
//! the engine as events: a hook's outcome becomes `switch_finished`.

use std::sync::Arc;
use std::time::SystemTime;

use greenlight_proto::json::VerdictJson;
use greenlight_proto::names::{action_name, color_name};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::engine::{Outputs, Severity, SwitchOutcome};
use crate::hooks::{HookEvent, HookFinished, HookOrder, HookRunner, Submitted};
use crate::hub::Hub;
use crate::redis::Publication;

pub struct Dispatcher {
    pub hub: Arc<Hub>,
    /// To the Redis publisher; `None` when running without Redis.
    pub publish: Option<mpsc::Sender<Publication>>,
    pub hooks: Arc<HookRunner>,
    /// Hooks' attempts (for the record) and outcomes (for the engine).
    pub hook_events: mpsc::Receiver<HookEvent>,
}

/// Steps the publisher could not take (its queue full): counted, and said
/// in the history as a gap once Redis takes batches again.
#[derive(Debug, Default)]
struct Dropped {
    batches: u64,
    first: Option<SystemTime>,
    last: Option<SystemTime>,
}

impl Dispatcher {
    pub async fn run(mut self, mut outputs: mpsc::Receiver<Outputs>, shutdown: CancellationToken) {
        let mut dropped = Dropped::default();
        loop {
            tokio::select! {
                biased;
                batch = outputs.recv() => {
                    let Some(batch) = batch else { break };
                    self.carry_out(batch, &mut dropped);
                    if outputs.is_empty() {
                        // Caught up: what waited in the engine goes now.
                        let pending = self.hub.take_pending();
                        if !pending.is_empty() {
                            self.carry_out(pending, &mut dropped);
                        }
                    }
                }
                event = self.hook_events.recv() => match event {
                    Some(HookEvent::Finished(finished)) => self.feed_back(finished),
                    Some(HookEvent::Attempt(attempt)) => self.record(Publication::Hook(attempt)),
                    None => break,
                },
                _ = shutdown.cancelled() => break,
            }
        }
        // What the engine decided before shutdown still goes out.
        let mut left = 0;
        while let Ok(batch) = outputs.try_recv() {
            left += 1;
            self.carry_out(batch, &mut dropped);
        }
        let pending = self.hub.take_pending();
        if !pending.is_empty() {
            left += 1;
            self.carry_out(pending, &mut dropped);
        }
        tracing::info!(
            steps = left,
            "dispatcher stopped: every decided verdict handed to the publishers"
        );
    }

    fn record(&self, publication: Publication) {
        if let Some(publish) = &self.publish {
            if publish.try_send(publication).is_err() {
                tracing::warn!(
                    "Redis publish queue full: a hook attempt was not written to the history"
                );
            }
        }
    }

    fn feed_back(&self, finished: HookFinished) {
        let HookFinished {
            deployment,
            epoch,
            outcome,
        } = finished;
        let applied = self
            .hub
            .with_engine(|engine, now| engine.switch_finished(&deployment, epoch, outcome, now));
        if !applied {
            tracing::info!(%deployment, epoch, "a hook finished for an epoch no longer in flight: ignored");
        }
    }

    fn carry_out(&self, outputs: Outputs, dropped: &mut Dropped) {
        log(&outputs);
        self.hub.publish_verdicts(&outputs.verdicts);
        for order in &outputs.actions {
            let verdict_json = outputs
                .verdicts
                .iter()
                .find(|v| v.deployment == order.deployment && v.epoch == order.epoch)
                .map(|v| serde_json::to_string(&VerdictJson::from(v)).unwrap_or_default())
                .unwrap_or_default();
            let submitted = self.hooks.submit(HookOrder {
                order: order.clone(),
                verdict_json,
            });
            let outcome = match submitted {
                Submitted::Queued => continue,
                // Nothing to wait for: the operator switches.
                Submitted::NoHook => SwitchOutcome::Succeeded,
                Submitted::Refused(why) => SwitchOutcome::Failed(why),
            };
            let (deployment, epoch) = (order.deployment.clone(), order.epoch);
            self.hub.with_engine(|engine, now| {
                engine.switch_finished(&deployment, epoch, outcome, now)
            });
        }
        let Some(publish) = &self.publish else {
            return;
        };
        let now = self.hub.now();
        if publish.try_send(Publication::Engine(outputs)).is_err() {
            dropped.batches += 1;
            dropped.first.get_or_insert(now);
            dropped.last = Some(now);
            if dropped.batches == 1 {
                tracing::warn!(
                    "Redis publish queue full: verdicts are not being written to Redis; the history will note the gap"
                );
            }
        }
    }
}

fn log(outputs: &Outputs) {
    for alert in &outputs.alerts {
        let details = alert.details.join("; ");
        match alert.severity {
            Severity::Critical => {
                tracing::error!(epoch = alert.epoch, %details, "ALERT {}", alert.summary)
            }
            Severity::Warning => {
                tracing::warn!(epoch = alert.epoch, %details, "ALERT {}", alert.summary)
            }
        }
    }
    for action in &outputs.actions {
        tracing::warn!(
            deployment = %action.deployment,
            epoch = action.epoch,
            from = color_name(action.from),
            to = color_name(action.to),
            cause = %action.cause,
            "decided: {}",
            action_name(action.action)
        );
    }
}
