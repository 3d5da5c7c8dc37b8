//! Running a test gate: the engine's [`GateOrder`], carried out with the
//! hooks' runner (argv with placeholders, GREENLIGHT_* environment, its
//! own process group killed at the timeout, the output's tail kept). A
//! gate runs once per order, beside the deployment's hooks (a test suite
//! must not wait behind a delayed Verified hook, nor a rollback behind a
//! test suite); its one attempt comes back as a [`GateRan`].

use greenlight_proto::names::color_name;

use super::run::{self, Exit, RunResult};
use super::{GateCommand, HookEvent, HookRunner};
use crate::engine::{GateOrder, GateOutcome};

/// The words a gate's argv may contain.
pub const GATE_PLACEHOLDERS: [&str; 5] = [
    "{deployment}",
    "{candidate}",
    "{live}",
    "{gate}",
    "{attempt}",
];

/// One run of one gate: for the record and for the engine.
#[derive(Debug, Clone)]
pub struct GateRan {
    pub order: GateOrder,
    pub argv: Vec<String>,
    pub result: RunResult,
}

impl GateRan {
    pub fn outcome(&self) -> GateOutcome {
        let tail = self.result.output_tail.clone();
        match self.result.exit {
            Exit::Code(0) => GateOutcome::Passed,
            Exit::TimedOut => GateOutcome::TimedOut {
                after: self.result.duration,
                tail,
            },
            _ => GateOutcome::Failed {
                exit: self.result.describe(),
                tail,
            },
        }
    }
}

fn expand(order: &GateOrder, argv: &[String]) -> Vec<String> {
    let attempt = order.attempt.to_string();
    argv.iter()
        .map(|arg| {
            arg.replace("{deployment}", &order.deployment)
                .replace("{candidate}", color_name(order.candidate))
                .replace("{live}", color_name(order.live))
                .replace("{gate}", &order.gate)
                .replace("{attempt}", &attempt)
        })
        .collect()
}

fn environment(order: &GateOrder, command: &GateCommand) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = command.env.clone();
    env.extend(
        [
            ("GREENLIGHT_DEPLOYMENT", order.deployment.clone()),
            ("GREENLIGHT_GATE", order.gate.clone()),
            ("GREENLIGHT_GATE_STAGE", order.stage.name().to_string()),
            (
                "GREENLIGHT_CANDIDATE",
                color_name(order.candidate).to_string(),
            ),
            ("GREENLIGHT_LIVE", color_name(order.live).to_string()),
            ("GREENLIGHT_ATTEMPT", order.attempt.to_string()),
        ]
        .map(|(key, value)| (key.to_string(), value)),
    );
    env
}

impl HookRunner {
    /// Starts `order`'s gate (never blocks); its run comes back as a
    /// `HookEvent::Gate`. `false` when the deployment has no such gate
    /// configured (the engine's settings and the runner's disagree).
    pub fn run_gate(&self, order: GateOrder) -> bool {
        let Some(command) = self
            .settings
            .gates
            .get(&order.deployment)
            .and_then(|gates| gates.get(&order.gate))
            .cloned()
        else {
            return false;
        };
        let events = self.events.clone();
        let shutdown = self.shutdown.clone();
        let leadership = self.leadership.clone();
        let span = tracing::info_span!(
            "aggregator.gate",
            deployment = %order.deployment,
            gate = %order.gate,
            attempt = order.attempt,
        );
        self.tasks.spawn(tracing::Instrument::instrument(
            async move {
                let argv = expand(&order, &command.argv);
                let env = environment(&order, &command);
                tracing::info!(?argv, "gate started");
                let result = tokio::select! {
                    // At shutdown the run is dropped: kill_on_drop ends it,
                    // and the restored state runs the gate again.
                    _ = shutdown.cancelled() => return,
                    result = run::run_until(&argv, &env, command.timeout, leadership.lost(&order.deployment)) => result,
                };
                if matches!(result.exit, Exit::Stopped) {
                    // The new leader runs the gate again from its state.
                    tracing::warn!("gate killed: this aggregator no longer leads the deployment");
                    return;
                }
                if result.succeeded() {
                    tracing::info!(duration_ms = result.duration.as_millis() as u64, "gate passed");
                } else {
                    tracing::warn!(output = %result.output_tail.trim(), "gate failed: {}", result.describe());
                }
                let _ = events
                    .send(HookEvent::Gate(GateRan {
                        order,
                        argv,
                        result,
                    }))
                    .await;
            },
            span,
        ));
        true
    }
}
