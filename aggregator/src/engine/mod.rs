//! The verdict engine: a pure core. No tokio, no sockets, no clock reads:
//! every method takes `now`, and verdicts, actions, alerts and state to save
//! come out as values ([`Outputs`]) that the async shell carries out; what
//! happens to them outside (a switch's outcome, where the load balancer
//! sends traffic) comes back in as events.
//!
//! # Layout
//! - `core`: the [`Engine`]: events in, commits of new epochs out.
//! - `agent`, `agent_clock`, `report_check`, `report_limits`, `hello`: one
//!   agent, its clock mapped onto ours, checking what it sends (known
//!   values, ranges and lengths: docs/protocol.md).
//! - `stage`, `lifecycle`: the stages of one deployment, as types, and
//!   their transitions.
//! - `deployment`, `readiness`: evaluating a deployment; before cutover, is
//!   the candidate READY?
//! - `bake_flow`, `bake`, `traffic_rules`, `hysteresis`, `stats`,
//!   `traffic`: after cutover, the rollback triggers and the trust rules.
//! - `rollback_target`: whether the old side's code still fits the
//!   database (its `postgres/schema` check), before and after cutover.
//! - `switching`, `traffic_seen`: switches confirmed, traffic known.
//! - `takeover`: another aggregator's saved state, taken over or followed.
//! - `control`: cutover, rollback, pause, resume.
//! - `gates`, `gate_flow`, `gate_events`: the test gates (run once the candidate is
//!   otherwise READY, and after cutover), their outcomes and reruns.
//! - `phase_hooks`: a phase hook's failure, as an alert (never a switch).
//! - `deadline`: when the engine must next be woken.
//! - `finding`, `verdict`, `alerts`, `check_words`: reasons, verdicts,
//!   alerts, and a check's value in words.
//! - `outputs`, `persist`, `persist_v1`: what leaves the engine.
//! - `inspect`: latest reports and thresholds, read for the status page.

mod agent;
mod agent_clock;
mod alerts;
mod bake;
mod bake_flow;
mod check_words;
mod control;
mod core;
mod deadline;
mod deployment;
mod finding;
mod gate_events;
mod gate_flow;
mod gates;
mod hello;
mod hysteresis;
mod inspect;
mod lifecycle;
mod outputs;
mod persist;
mod persist_v1;
mod phase_hooks;
mod readiness;
mod report_check;
mod report_limits;
mod rollback_target;
mod saved;
mod settings;
mod severity;
mod stage;
mod stats;
mod switching;
mod takeover;
mod traffic;
mod traffic_rules;
mod traffic_seen;
mod verdict;

#[cfg(test)]
mod tests;

pub use agent::{AgentKey, ReportOutcome};
pub use check_words::value_words;
pub use control::{ControlError, ControlOutcome};
pub use core::{Engine, epoch_floor};
pub use gates::{GateOrder, GateOutcome, GateSpec, GateStage};
pub use hello::{HelloError, HelloRefused, validate_deployment_name};
pub use inspect::TrafficThresholds;
pub use outputs::{ActionOrder, Alert, Outputs, PhaseEntry, PhaseHookFailed, Severity};
pub use saved::{RestoreError, SavedState};
pub use settings::{BaselineSettings, DeploymentSettings, HysteresisSettings};
pub use switching::SwitchOutcome;
pub use verdict::fit_to_carry_traffic;
