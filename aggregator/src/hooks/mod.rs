//! Hooks: when the engine decides a cutover or a rollback, run the
//! configured command (deploy/switch-traffic, typically) as argv with the
//! decision in environment variables; when a deployment enters a phase
//! (Deploying, Ready, Baking, Verified, RolledBack, Held), run that
//! phase's hook, if it has one, the same way. One hook at a time per
//! deployment, in epoch order; an epoch is carried out at most once; a
//! hook that fails is retried with backoff, and one that hangs is killed
//! at its timeout. Every attempt is recorded (history stream, log), and
//! the final outcome goes back to the engine (`HookFinished`): a switch's
//! moves the stage and raises the alert when the switch failed for good;
//! a phase hook's only raises the alert (it tells, it does not switch).
//!
//! # Layout
//! - `settings`: [`HookPoint`], [`HookCommand`], [`HookSettings`] (the
//!   defaults and each deployment's own).
//! - `order`: [`HookOrder`], its placeholders and environment.
//! - `run`: running one command.
//! - `gate`: running a test gate with it.

mod gate;
mod order;
mod run;
mod settings;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use greenlight_proto::v1::Color;
use greenlight_retry::RetryPolicy;

use crate::engine::{PhaseEntry, SwitchOutcome};
use crate::lead::Leadership;

pub use gate::{GATE_PLACEHOLDERS, GateRan};
pub use order::{HookOrder, PHASE_PLACEHOLDERS, PLACEHOLDERS};
pub use run::{Exit, RunResult};
pub use settings::{GateCommand, HookCommand, HookPoint, HookSettings, HookTable};

/// One attempt of one hook, for the record.
#[derive(Debug, Clone)]
pub struct HookOutcome {
    pub deployment: String,
    pub point: HookPoint,
    pub epoch: u64,
    pub attempt: u32,
    pub attempts: u32,
    pub result: RunResult,
}

/// What the runner tells the dispatcher: each attempt, for the record,
/// and the final outcome, for the engine.
#[derive(Debug, Clone)]
pub enum HookEvent {
    Attempt(HookOutcome),
    Finished(HookFinished),
    /// A test gate's one run.
    Gate(GateRan),
}

/// A hook's final outcome, for the engine.
#[derive(Debug, Clone)]
pub struct HookFinished {
    pub deployment: String,
    pub point: HookPoint,
    pub epoch: u64,
    /// The order's candidate: the color a failure alert concerns.
    pub candidate: Color,
    pub outcome: SwitchOutcome,
}

/// What became of an order handed to the runner.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// It will run; its outcome comes back as a `HookFinished`.
    Queued,
    /// No hook is configured for this action or phase (for a switch: the
    /// operator switches).
    NoHook,
    /// It cannot run (the deployment's queue is full).
    Refused(String),
}

/// With the span of the engine step that decided it (the hook's run is
/// part of that step's trace), and, for a delayed phase hook, the token
/// that the deployment leaving the phase cancels.
type Queued = (
    HookCommand,
    HookOrder,
    tracing::Span,
    Option<CancellationToken>,
);

/// One deployment's hooks: a worker that runs them one at a time, in
/// order, and the token that cancels the phase hooks waiting on a delay.
struct Lane {
    sender: mpsc::Sender<Queued>,
    delayed: CancellationToken,
}

pub struct HookRunner {
    settings: HookSettings,
    /// Hooks run only while this aggregator leads their deployment.
    leadership: Arc<Leadership>,
    lanes: Mutex<HashMap<String, Lane>>,
    events: mpsc::Sender<HookEvent>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl HookRunner {
    pub fn new(
        settings: HookSettings,
        leadership: Arc<Leadership>,
        events: mpsc::Sender<HookEvent>,
        tasks: TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        HookRunner {
            settings,
            leadership,
            lanes: Mutex::new(HashMap::new()),
            events,
            tasks,
            shutdown,
        }
    }

    /// A deployment entered a phase: the phase hooks still waiting on
    /// their delay are cancelled (the phase they were for is over), and
    /// this phase's hook, if it has one, is queued. `verdict_json` is
    /// asked for only when there is a hook to tell.
    pub fn phase_entered(
        &self,
        entry: &PhaseEntry,
        verdict_json: impl FnOnce() -> String,
    ) -> Submitted {
        if let Some(lane) = self.lock().get_mut(&entry.deployment) {
            if !lane.delayed.is_cancelled() {
                lane.delayed.cancel();
            }
            lane.delayed = self.shutdown.child_token();
        }
        let Some(point) = HookPoint::for_phase(entry.phase) else {
            return Submitted::NoHook;
        };
        if self.settings.command(&entry.deployment, point).is_none() {
            return Submitted::NoHook;
        }
        match HookOrder::phase(entry, verdict_json()) {
            Some(order) => self.submit(order),
            None => Submitted::NoHook,
        }
    }

    /// Queues an order behind the deployment's earlier ones (never
    /// blocks); a phase hook with a delay is queued when its delay is over.
    pub fn submit(&self, order: HookOrder) -> Submitted {
        let Some(command) = self
            .settings
            .command(&order.deployment, order.point)
            .cloned()
        else {
            if order.point.is_switch() {
                tracing::info!(
                    deployment = %order.deployment,
                    action = order.point.name(),
                    "no hook configured for this action: switch traffic yourself"
                );
            }
            return Submitted::NoHook;
        };
        let deployment = order.deployment.clone();
        let mut lanes = self.lock();
        let lane = lanes
            .entry(deployment.clone())
            .or_insert_with(|| self.lane());
        let span = tracing::Span::current();
        if !command.delay.is_zero() && !order.point.is_switch() {
            let token = lane.delayed.clone();
            let sender = lane.sender.clone();
            let delay = command.delay;
            tracing::info!(
                %deployment,
                epoch = order.epoch,
                delay = %humantime_serde::re::humantime::format_duration(delay),
                "{} hook runs after its delay unless the deployment leaves the phase",
                order.point.name()
            );
            self.tasks.spawn(async move {
                tokio::select! {
                    _ = token.cancelled() => {
                        tracing::info!(
                            deployment = %order.deployment,
                            epoch = order.epoch,
                            "{} hook cancelled: the deployment left the phase before its delay was over",
                            order.point.name()
                        );
                    }
                    _ = tokio::time::sleep(delay) => {
                        let point = order.point;
                        if sender.try_send((command, order, span, Some(token))).is_err() {
                            tracing::error!(%deployment, "hook queue full: the delayed {} hook was not run", point.name());
                        }
                    }
                }
            });
            return Submitted::Queued;
        }
        if lane.sender.try_send((command, order, span, None)).is_err() {
            tracing::error!(%deployment, "hook queue full: a hook was not run");
            return Submitted::Refused(format!(
                "{deployment}'s hook queue is full ({HOOK_QUEUE} hooks waiting): not run"
            ));
        }
        Submitted::Queued
    }

    fn lane(&self) -> Lane {
        let (sender, receiver) = mpsc::channel(HOOK_QUEUE);
        let worker = Worker {
            leadership: self.leadership.clone(),
            events: self.events.clone(),
            shutdown: self.shutdown.clone(),
            last_switch: 0,
            last_phase: 0,
        };
        self.tasks.spawn(worker.run(receiver));
        Lane {
            sender,
            delayed: self.shutdown.child_token(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Lane>> {
        self.lanes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Hook events waiting for the dispatcher.
pub const EVENT_QUEUE: usize = 256;

/// Hooks waiting per deployment; more means the hooks cannot keep up.
const HOOK_QUEUE: usize = 64;

struct Worker {
    leadership: Arc<Leadership>,
    events: mpsc::Sender<HookEvent>,
    shutdown: CancellationToken,
    /// The newest epoch a switch hook carried out: older switches are
    /// stale, never replayed.
    last_switch: u64,
    /// The same for phase hooks (a cutover and the Baking it enters can
    /// share an epoch: each kind is fenced on its own).
    last_phase: u64,
}

impl Worker {
    async fn run(mut self, mut orders: mpsc::Receiver<Queued>) {
        loop {
            let next = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                next = orders.recv() => next,
            };
            let Some((command, order, decided_in, delayed)) = next else {
                return;
            };
            if delayed.is_some_and(|token| token.is_cancelled()) {
                tracing::info!(
                    deployment = %order.deployment,
                    epoch = order.epoch,
                    "{} hook cancelled: the deployment left the phase before it ran",
                    order.point.name()
                );
                continue;
            }
            let last = if order.point.is_switch() {
                &mut self.last_switch
            } else {
                &mut self.last_phase
            };
            if order.epoch <= *last {
                tracing::warn!(
                    deployment = %order.deployment,
                    epoch = order.epoch,
                    last = *last,
                    "stale {} hook ignored: a newer epoch was already carried out",
                    order.point.name()
                );
                continue;
            }
            *last = order.epoch;
            let span = tracing::info_span!(
                parent: &decided_in,
                "aggregator.hook",
                deployment = %order.deployment,
                action = order.point.name(),
                epoch = order.epoch,
            );
            self.carry_out(&command, &order).instrument(span).await;
        }
    }

    async fn carry_out(&self, command: &HookCommand, order: &HookOrder) {
        let argv = order.expand(&command.argv);
        let env = order.environment();
        let attempts = command.retries + 1;
        // Checked when the config was loaded; a command built in code with
        // a zero backoff retries on the reconnect policy instead.
        let mut backoff = command
            .retry_policy()
            .unwrap_or(RetryPolicy::RECONNECT)
            .backoff();
        for attempt in 1..=attempts {
            // Checked before every attempt, and the run is killed when the
            // lease goes: two aggregators never run one deployment's hooks
            // at once. The engine's state is the new leader's to decide.
            if !self.leadership.acting(&order.deployment) {
                tracing::warn!(
                    deployment = %order.deployment,
                    epoch = order.epoch,
                    "{} hook not run: this aggregator no longer leads the deployment",
                    order.point.name()
                );
                return;
            }
            let lost = self.leadership.lost(&order.deployment);
            let result = run::run_until(&argv, &env, command.timeout, lost).await;
            let ok = result.succeeded();
            let outcome = HookOutcome {
                deployment: order.deployment.clone(),
                point: order.point,
                epoch: order.epoch,
                attempt,
                attempts,
                result,
            };
            self.log(&outcome, &argv);
            self.record(outcome.clone());
            if matches!(outcome.result.exit, run::Exit::Stopped) {
                // Not a failure of the switch: the new leader decides it
                // again from the saved state.
                return;
            }
            if ok {
                self.finish(order, SwitchOutcome::Succeeded).await;
                return;
            }
            if attempt == attempts {
                let detail = format!(
                    "{} after {attempts} attempt(s){}",
                    outcome.result.describe(),
                    last_words(&outcome.result.output_tail)
                );
                self.finish(order, SwitchOutcome::Failed(detail)).await;
                return;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = backoff.sleep() => {}
            }
        }
    }

    async fn finish(&self, order: &HookOrder, outcome: SwitchOutcome) {
        let finished = HookFinished {
            deployment: order.deployment.clone(),
            point: order.point,
            epoch: order.epoch,
            candidate: order.candidate,
            outcome,
        };
        // The dispatcher may be gone at shutdown: the restored stage then
        // decides the switch again.
        let _ = self.events.send(HookEvent::Finished(finished)).await;
    }

    fn log(&self, outcome: &HookOutcome, argv: &[String]) {
        let result = &outcome.result;
        if result.succeeded() {
            tracing::info!(
                deployment = %outcome.deployment,
                epoch = outcome.epoch,
                ?argv,
                duration_ms = result.duration.as_millis() as u64,
                "{} hook succeeded",
                outcome.point.name()
            );
        } else {
            tracing::error!(
                deployment = %outcome.deployment,
                epoch = outcome.epoch,
                ?argv,
                attempt = outcome.attempt,
                attempts = outcome.attempts,
                output = %result.output_tail.trim(),
                "{} hook failed: {}",
                outcome.point.name(),
                result.describe()
            );
        }
    }

    fn record(&self, outcome: HookOutcome) {
        if self.events.try_send(HookEvent::Attempt(outcome)).is_err() {
            tracing::warn!("dispatcher queue full: a hook attempt was not recorded");
        }
    }
}

/// The end of a hook's output, where its error is, on one line.
fn last_words(tail: &str) -> String {
    let line = tail
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or_default();
    if line.is_empty() {
        String::new()
    } else {
        format!(": {line}")
    }
}

#[cfg(test)]
mod tests;
