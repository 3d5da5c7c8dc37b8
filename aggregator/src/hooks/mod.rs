//! Hooks: when the engine decides a cutover or a rollback, run the
//! configured command (deploy/switch-traffic, typically) as argv with the
//! decision in environment variables. One hook at a time per deployment, in
//! epoch order; an epoch is carried out at most once; a hook that fails is
//! retried with backoff, and one that hangs is killed at its timeout. Every
//! attempt is recorded (history stream, log), and the final outcome goes
//! back to the engine (`HookFinished`), which moves the stage and raises
//! the alert when the switch failed for good.

mod run;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use greenlight_proto::names::{action_name, color_name};
use greenlight_proto::v1::Action;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use greenlight_retry::{RetryPolicy, RetryPolicyError};

use crate::engine::{ActionOrder, SwitchOutcome};

pub use run::{Exit, RunResult};

/// The words a hook's argv may contain, replaced by the decision's values
/// (each from a fixed alphabet, so an argument never carries anything else).
pub const PLACEHOLDERS: [&str; 6] = [
    "{direction}",
    "{from}",
    "{to}",
    "{deployment}",
    "{epoch}",
    "{action}",
];

#[derive(Debug, Clone, PartialEq)]
pub struct HookCommand {
    pub argv: Vec<String>,
    pub timeout: Duration,
    /// Attempts after the first one fails.
    pub retries: u32,
    /// Wait before the first retry; doubled for each next one.
    pub backoff: Duration,
}

impl HookCommand {
    /// The workspace's one retry policy, shaped by this hook's `backoff`:
    /// doubling from it (half jitter), never capped before the last retry.
    pub fn retry_policy(&self) -> Result<RetryPolicy, RetryPolicyError> {
        let max = self.backoff.saturating_mul(1 << self.retries.min(10));
        RetryPolicy::doubling(self.backoff, max)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HookSettings {
    pub cutover: Option<HookCommand>,
    pub rollback: Option<HookCommand>,
}

/// One decided action and the verdict that decided it (as JSON).
#[derive(Debug, Clone)]
pub struct HookOrder {
    pub order: ActionOrder,
    pub verdict_json: String,
}

/// One attempt of one hook, for the record.
#[derive(Debug, Clone)]
pub struct HookOutcome {
    pub deployment: String,
    pub action: Action,
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
}

/// A hook's final outcome, for the engine.
#[derive(Debug, Clone)]
pub struct HookFinished {
    pub deployment: String,
    pub epoch: u64,
    pub outcome: SwitchOutcome,
}

/// What became of an order handed to the runner.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// It will run; its outcome comes back as a `HookFinished`.
    Queued,
    /// No hook is configured for this action: the operator switches.
    NoHook,
    /// It cannot run (the deployment's queue is full).
    Refused(String),
}

/// With the span of the engine step that decided it: the hook's run is
/// part of that step's trace.
type Queued = (HookCommand, HookOrder, tracing::Span);

pub struct HookRunner {
    settings: HookSettings,
    /// One worker per deployment: its hooks run one at a time, in order.
    workers: Mutex<HashMap<String, mpsc::Sender<Queued>>>,
    events: mpsc::Sender<HookEvent>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl HookRunner {
    pub fn new(
        settings: HookSettings,
        events: mpsc::Sender<HookEvent>,
        tasks: TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        HookRunner {
            settings,
            workers: Mutex::new(HashMap::new()),
            events,
            tasks,
            shutdown,
        }
    }

    /// Queues an order behind the deployment's earlier ones (never blocks).
    pub fn submit(&self, order: HookOrder) -> Submitted {
        let command = match order.order.action {
            Action::Cutover => self.settings.cutover.clone(),
            Action::Rollback => self.settings.rollback.clone(),
            _ => None,
        };
        let Some(command) = command else {
            tracing::info!(
                deployment = %order.order.deployment,
                action = action_name(order.order.action),
                "no hook configured for this action: switch traffic yourself"
            );
            return Submitted::NoHook;
        };
        let deployment = order.order.deployment.clone();
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        let sender = workers.entry(deployment.clone()).or_insert_with(|| {
            let (sender, receiver) = mpsc::channel(HOOK_QUEUE);
            let worker = Worker {
                events: self.events.clone(),
                shutdown: self.shutdown.clone(),
                last_epoch: 0,
            };
            self.tasks.spawn(worker.run(receiver));
            sender
        });
        if sender
            .try_send((command, order, tracing::Span::current()))
            .is_err()
        {
            tracing::error!(%deployment, "hook queue full: an action was not carried out");
            return Submitted::Refused(format!(
                "{deployment}'s hook queue is full ({HOOK_QUEUE} switches waiting): not run"
            ));
        }
        Submitted::Queued
    }
}

/// Hook events waiting for the dispatcher.
pub const EVENT_QUEUE: usize = 256;

/// Switches waiting per deployment; more means the hooks cannot keep up.
const HOOK_QUEUE: usize = 64;

struct Worker {
    events: mpsc::Sender<HookEvent>,
    shutdown: CancellationToken,
    /// The newest epoch carried out: older orders are stale, never replayed.
    last_epoch: u64,
}

impl Worker {
    async fn run(mut self, mut orders: mpsc::Receiver<Queued>) {
        loop {
            let next = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                next = orders.recv() => next,
            };
            let Some((command, order, decided_in)) = next else {
                return;
            };
            if order.order.epoch <= self.last_epoch {
                tracing::warn!(
                    deployment = %order.order.deployment,
                    epoch = order.order.epoch,
                    last = self.last_epoch,
                    "stale action ignored: a newer epoch was already carried out"
                );
                continue;
            }
            self.last_epoch = order.order.epoch;
            let span = tracing::info_span!(
                parent: &decided_in,
                "aggregator.hook",
                deployment = %order.order.deployment,
                action = action_name(order.order.action),
                epoch = order.order.epoch,
            );
            self.carry_out(&command, &order).instrument(span).await;
        }
    }

    async fn carry_out(&self, command: &HookCommand, order: &HookOrder) {
        let decided = &order.order;
        let argv = expand(&command.argv, decided);
        let env = environment(order);
        let attempts = command.retries + 1;
        // Checked when the config was loaded; a command built in code with
        // a zero backoff retries on the reconnect policy instead.
        let mut backoff = command
            .retry_policy()
            .unwrap_or(RetryPolicy::RECONNECT)
            .backoff();
        for attempt in 1..=attempts {
            let result = run::run(&argv, &env, command.timeout).await;
            let ok = result.succeeded();
            let outcome = HookOutcome {
                deployment: decided.deployment.clone(),
                action: decided.action,
                epoch: decided.epoch,
                attempt,
                attempts,
                result,
            };
            self.log(&outcome, &argv);
            self.record(outcome.clone());
            if ok {
                self.finish(decided, SwitchOutcome::Succeeded).await;
                return;
            }
            if attempt == attempts {
                let detail = format!(
                    "{} after {attempts} attempt(s){}",
                    outcome.result.describe(),
                    last_words(&outcome.result.output_tail)
                );
                self.finish(decided, SwitchOutcome::Failed(detail)).await;
                return;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = backoff.sleep() => {}
            }
        }
    }

    async fn finish(&self, decided: &ActionOrder, outcome: SwitchOutcome) {
        let finished = HookFinished {
            deployment: decided.deployment.clone(),
            epoch: decided.epoch,
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
                action_name(outcome.action)
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
                action_name(outcome.action),
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

/// Replaces the placeholders in each argument; nothing else is interpreted.
fn expand(argv: &[String], order: &ActionOrder) -> Vec<String> {
    let from = color_name(order.from);
    let to = color_name(order.to);
    let direction = format!("{from}-to-{to}");
    let epoch = order.epoch.to_string();
    argv.iter()
        .map(|arg| {
            arg.replace("{direction}", &direction)
                .replace("{from}", from)
                .replace("{to}", to)
                .replace("{deployment}", &order.deployment)
                .replace("{epoch}", &epoch)
                .replace("{action}", action_name(order.action))
        })
        .collect()
}

fn environment(order: &HookOrder) -> Vec<(String, String)> {
    let decided = &order.order;
    let from = color_name(decided.from);
    let to = color_name(decided.to);
    [
        ("GREENLIGHT_DEPLOYMENT", decided.deployment.clone()),
        ("GREENLIGHT_ACTION", action_name(decided.action).to_string()),
        ("GREENLIGHT_FROM", from.to_string()),
        ("GREENLIGHT_TO", to.to_string()),
        ("GREENLIGHT_DIRECTION", format!("{from}-to-{to}")),
        ("GREENLIGHT_EPOCH", decided.epoch.to_string()),
        ("GREENLIGHT_CAUSE", decided.cause.clone()),
        ("GREENLIGHT_VERDICT", order.verdict_json.clone()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value))
    .collect()
}

#[cfg(test)]
mod tests;
