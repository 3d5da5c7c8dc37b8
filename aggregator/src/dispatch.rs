//! The dispatcher: the one task that carries the engine's outputs out, in
//! order: the log, the watchers and grpc.health.v1 (through the hub's
//! watch), the alert sinks (handed over, never waited for), the hooks and
//! Redis. What happens to them outside comes back to the engine as events:
//! a switch hook's outcome becomes `switch_finished`, a phase hook's
//! failure `phase_hook_failed` (an alert; a phase hook switches nothing).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use greenlight_proto::json::VerdictJson;
use greenlight_proto::names::{action_name, color_name};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::alerts::Alerting;
use crate::engine::{GateOutcome, Outputs, Severity, SwitchOutcome};
use crate::hooks::{
    GateRan, HookEvent, HookFinished, HookOrder, HookOutcome, HookRunner, Submitted,
};
use crate::http::Board;
use crate::hub::{Hub, Step};
use crate::lead::Leadership;
use crate::redis::Publication;

pub struct Dispatcher {
    pub hub: Arc<Hub>,
    /// To the Redis publisher; `None` when running without Redis.
    pub publish: Option<mpsc::Sender<Publication>>,
    pub hooks: Arc<HookRunner>,
    /// Hooks' attempts (for the record) and outcomes (for the engine).
    pub hook_events: mpsc::Receiver<HookEvent>,
    /// The alert sinks' queues (offered with `try_send` only).
    pub alerts: Alerting,
    /// The status page's timeline and hook tally.
    pub board: Arc<Board>,
    /// Which deployments this aggregator leads (all, without `[ha]`).
    pub leadership: Arc<Leadership>,
}

/// Steps the publisher could not take (its queue full): counted, and said
/// in the history as a gap once Redis takes batches again.
#[derive(Debug, Default)]
struct Dropped {
    batches: u64,
    first: Option<SystemTime>,
    /// The deployments whose verdicts, actions or alerts were in them.
    deployments: BTreeSet<String>,
}

impl Dropped {
    fn add(&mut self, outputs: &Outputs, now: SystemTime) {
        metrics::counter!("greenlight_redis_gaps_total", "cause" => "queue_full").increment(1);
        self.batches += 1;
        self.first.get_or_insert(now);
        let names = outputs
            .verdicts
            .iter()
            .map(|v| &v.deployment)
            .chain(outputs.actions.iter().map(|a| &a.deployment))
            .chain(outputs.alerts.iter().map(|a| &a.deployment))
            .chain(outputs.states.iter().map(|(name, _)| name));
        self.deployments.extend(names.cloned());
    }

    /// One `kind=gap` history entry per deployment that lost something.
    fn gaps(&self, now: SystemTime) -> Vec<Publication> {
        let from = self.first.unwrap_or(now);
        self.deployments
            .iter()
            .map(|deployment| Publication::Gap {
                deployment: deployment.clone(),
                from,
                to: now,
                what: format!(
                    "{} engine step(s) (verdicts, actions, alerts, saved states) were not written: the Redis publish queue was full",
                    self.batches
                ),
            })
            .collect()
    }
}

impl Dispatcher {
    pub async fn run(mut self, mut outputs: mpsc::Receiver<Step>, shutdown: CancellationToken) {
        let mut dropped = Dropped::default();
        loop {
            tokio::select! {
                biased;
                batch = outputs.recv() => {
                    let Some(Step { outputs: batch, span }) = batch else { break };
                    let _traced = dispatch_span(&span, &batch).entered();
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
                    Some(HookEvent::Attempt(attempt)) => self.hook_attempt(attempt),
                    Some(HookEvent::Gate(ran)) => self.gate_ran(ran),
                    None => break,
                },
                _ = shutdown.cancelled() => break,
            }
        }
        // What the engine decided before shutdown still goes out.
        let mut left = 0;
        while let Ok(Step {
            outputs: batch,
            span,
        }) = outputs.try_recv()
        {
            left += 1;
            let _traced = dispatch_span(&span, &batch).entered();
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

    /// One run of a hook: counted, and written to the history.
    fn hook_attempt(&self, attempt: HookOutcome) {
        let action = attempt.point.name();
        metrics::counter!("greenlight_hook_runs_total", "action" => action).increment(1);
        let failure = (!attempt.result.succeeded()).then(|| attempt.result.describe());
        if failure.is_some() {
            metrics::counter!("greenlight_hook_failures_total", "action" => action).increment(1);
        }
        self.board.record_hook_run(failure);
        self.record(Publication::Hook(attempt));
    }

    /// A test gate's run: written to the history, and its outcome to the
    /// engine.
    fn gate_ran(&self, ran: GateRan) {
        let label = ran.order.stage.name();
        metrics::counter!("greenlight_gate_runs_total", "stage" => label).increment(1);
        if !ran.result.succeeded() {
            metrics::counter!("greenlight_gate_failures_total", "stage" => label).increment(1);
        }
        let outcome = ran.outcome();
        let (deployment, gate, order) = (
            ran.order.deployment.clone(),
            ran.order.gate.clone(),
            ran.order.order,
        );
        self.record(Publication::Gate(ran));
        let applied = self.hub.with_engine(|engine, now| {
            engine.gate_finished(&deployment, &gate, order, outcome, now)
        });
        if !applied {
            tracing::info!(%deployment, %gate, order, "a gate finished for a run no longer awaited: ignored");
        }
    }

    fn feed_back(&self, finished: HookFinished) {
        let HookFinished {
            deployment,
            point,
            epoch,
            candidate,
            outcome,
        } = finished;
        if let Some(phase) = point.phase() {
            if let SwitchOutcome::Failed(detail) = outcome {
                self.hub.with_engine(|engine, now| {
                    engine.phase_hook_failed(&deployment, phase, epoch, candidate, &detail, now)
                });
            }
            return;
        }
        self.board
            .record_switch(&deployment, &outcome, self.hub.now());
        let applied = self
            .hub
            .with_engine(|engine, now| engine.switch_finished(&deployment, epoch, outcome, now));
        if !applied {
            tracing::info!(%deployment, epoch, "a hook finished for an epoch no longer in flight: ignored");
        }
    }

    fn carry_out(&self, mut outputs: Outputs, dropped: &mut Dropped) {
        // A standby shows what it computes, and leaves the rest to the
        // leader: publishing, hooks, gates, alerts.
        let mut standing_by =
            outputs.split_off(|deployment, epoch| self.leadership.accepts(deployment, epoch));
        self.board.record_outputs(&standing_by, self.hub.now());
        self.hub.publish_verdicts(&mut standing_by.verdicts);
        log(&outputs);
        self.board.record_outputs(&outputs, self.hub.now());
        // Stamped with the leader: what goes to Redis says who wrote it.
        self.hub.publish_verdicts(&mut outputs.verdicts);
        self.alerts.hand_over(&outputs, self.hub.now());
        let verdict_json = |deployment: &str, epoch: u64| {
            outputs
                .verdicts
                .iter()
                .find(|v| v.deployment == deployment && v.epoch == epoch)
                .map(|v| serde_json::to_string(&VerdictJson::from(v)).unwrap_or_default())
                .unwrap_or_default()
        };
        for order in &outputs.actions {
            let Some(hook) = HookOrder::switch(order, verdict_json(&order.deployment, order.epoch))
            else {
                continue;
            };
            let submitted = self.hooks.submit(hook);
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
        for order in &outputs.gates {
            if !self.hooks.run_gate(order.clone()) {
                let (deployment, gate, id) =
                    (order.deployment.clone(), order.gate.clone(), order.order);
                let outcome = GateOutcome::Failed {
                    exit: "not configured in this aggregator".into(),
                    tail: String::new(),
                };
                self.hub.with_engine(|engine, now| {
                    engine.gate_finished(&deployment, &gate, id, outcome, now)
                });
            }
        }
        // After the switches of the same step: a cutover's hook runs before
        // the Baking it enters tells anyone.
        for entry in &outputs.phases {
            self.hooks
                .phase_entered(entry, || verdict_json(&entry.deployment, entry.epoch));
        }
        let Some(publish) = &self.publish else {
            return;
        };
        let now = self.hub.now();
        if dropped.batches > 0 && publish.capacity() > dropped.deployments.len() {
            for gap in dropped.gaps(now) {
                let _ = publish.try_send(gap);
            }
            tracing::info!(
                steps = dropped.batches,
                "Redis publish queue has room again; the gap is in the history"
            );
            *dropped = Dropped::default();
        }
        if let Err(error) = publish.try_send(Publication::Engine(outputs, tracing::Span::current()))
        {
            let Publication::Engine(outputs, _) = error.into_inner() else {
                return;
            };
            dropped.add(&outputs, now);
            if dropped.batches == 1 {
                tracing::warn!(
                    "Redis publish queue full: verdicts are not being written to Redis; the history will note the gap"
                );
            }
        }
    }
}

/// Carrying out one step, inside the trace of what caused it: the
/// watchers' and grpc.health.v1's update, the hooks' and Redis's
/// hand-off, and the alerts' (their sinks run elsewhere).
fn dispatch_span(step: &tracing::Span, outputs: &Outputs) -> tracing::Span {
    tracing::info_span!(
        parent: step,
        "aggregator.dispatch",
        verdicts = outputs.verdicts.len(),
        actions = outputs.actions.len(),
        alerts = outputs.alerts.len(),
    )
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
