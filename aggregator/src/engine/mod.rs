//! The verdict engine: a pure core. No tokio, no sockets, no clock reads:
//! every method takes `now`, and verdicts, actions, alerts and state to save
//! come out as values ([`Outputs`]) that the async shell carries out.
//!
//! # Layout
//! - `agent`: one agent's identity, latest report, failing checks, traffic.
//! - `hello`: checking a Hello.
//! - `readiness`: before cutover, is the candidate READY?
//! - `bake`, `traffic_rules`, `hysteresis`, `stats`, `traffic`: after
//!   cutover, the rollback triggers and the trust rules.
//! - `deployment`, `lifecycle`: the stages and transitions of one deployment.
//! - `control`: cutover, rollback, pause, resume.
//! - `finding`, `verdict`: reasons and verdicts.
//! - `outputs`, `persist`: what leaves the engine.

mod agent;
mod bake;
mod control;
mod deployment;
mod finding;
mod hello;
mod hysteresis;
mod lifecycle;
mod outputs;
mod persist;
mod readiness;
mod settings;
mod stats;
mod traffic;
mod traffic_rules;
mod verdict;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::SystemTime;

use greenlight_proto::names::color_name;
use greenlight_proto::v1::{Action, Color, Hello, Phase, Report, Verdict};

pub use agent::{AgentKey, ReportOutcome};
pub use control::{ControlError, ControlOutcome};
pub use hello::{HelloError, validate_deployment_name};
pub use outputs::{ActionOrder, Alert, Outputs, Severity};
pub use persist::{RestoreError, SavedState};
pub use settings::{BaselineSettings, DeploymentSettings, HysteresisSettings};
pub use verdict::fit_to_carry_traffic;

use agent::AgentState;
use deployment::{Deployment, Evaluation, summary};
use lifecycle::Stage;

/// Everything the engine knows, for every deployment.
#[derive(Debug)]
pub struct Engine {
    /// Settings of deployments not configured by name.
    defaults: DeploymentSettings,
    configured: BTreeMap<String, DeploymentSettings>,
    deployments: BTreeMap<String, Deployment>,
    outputs: Outputs,
    /// The time of the latest event handed in.
    last_now: SystemTime,
}

impl Engine {
    /// `configured` deployments exist from the start, so they can be asked
    /// about before any agent connects; `restored` states (from Redis) put
    /// deployments back where a previous aggregator left them.
    pub fn new(
        defaults: DeploymentSettings,
        configured: BTreeMap<String, DeploymentSettings>,
        restored: &BTreeMap<String, SavedState>,
        now: SystemTime,
    ) -> Result<Self, RestoreError> {
        let mut engine = Engine {
            deployments: configured
                .iter()
                .map(|(name, settings)| (name.clone(), Deployment::new(settings.clone())))
                .collect(),
            defaults,
            configured,
            outputs: Outputs::default(),
            last_now: now,
        };
        for (name, saved) in restored {
            let deployment = engine.deployment_mut(name);
            saved
                .restore(deployment, now)
                .map_err(|error| RestoreError::about(name, error))?;
        }
        engine.tick(now);
        Ok(engine)
    }

    fn deployment_mut(&mut self, name: &str) -> &mut Deployment {
        let settings = self.configured.get(name).unwrap_or(&self.defaults).clone();
        self.deployments
            .entry(name.to_string())
            .or_insert_with(|| Deployment::new(settings))
    }

    /// Lets an agent in. Returns its key and the highest sequence already
    /// held for its run, so it replays only what is missing.
    pub fn hello(
        &mut self,
        hello: &Hello,
        connection: u64,
        now: SystemTime,
    ) -> Result<(AgentKey, u64), HelloError> {
        let (key, identity) = hello::validate_hello(hello)?;
        let deployment = self.deployment_mut(&key.deployment);
        let agent = deployment
            .agents
            .entry(key.clone())
            .and_modify(|agent| agent.reconnect(identity.clone(), connection, now))
            .or_insert_with(|| AgentState::new(identity, connection, now));
        let last_sequence = agent.last_sequence;
        self.evaluate(&key.deployment, now);
        Ok((key, last_sequence))
    }

    pub fn report(&mut self, key: &AgentKey, report: Report, now: SystemTime) -> ReportOutcome {
        let Some(deployment) = self.deployments.get_mut(&key.deployment) else {
            return ReportOutcome::UnknownAgent;
        };
        let window = deployment.settings.traffic_window;
        let Some(agent) = deployment.agents.get_mut(key) else {
            return ReportOutcome::UnknownAgent;
        };
        let (outcome, added) = agent.accept(report, now, window);
        if outcome != ReportOutcome::Accepted {
            return outcome;
        }
        let candidate = deployment.life.candidate();
        if key.color == deployment.life.stable {
            for check in deployment.agents[key].failing.keys() {
                deployment.stable_failed_at.insert(check.clone(), now);
            }
        }
        if deployment.life.stage == Stage::Baking && key.color == candidate {
            deployment.life.bake_requests += added;
            let newest = deployment.agents[key].traffic.last_increment();
            let window = deployment.traffic.candidate_window(
                &deployment.settings,
                &deployment.agents,
                candidate,
                now,
            );
            deployment
                .traffic
                .sample(&deployment.settings, &window, &newest);
        }
        self.evaluate(&key.deployment, now);
        ReportOutcome::Accepted
    }

    /// The stream of `connection` ended. A newer stream of the same agent
    /// keeps it connected.
    pub fn disconnected(&mut self, key: &AgentKey, connection: u64, now: SystemTime) {
        let Some(agent) = self
            .deployments
            .get_mut(&key.deployment)
            .and_then(|deployment| deployment.agents.get_mut(key))
        else {
            return;
        };
        if agent.connection == connection {
            agent.connected = false;
            self.evaluate(&key.deployment, now);
        }
    }

    /// The deployment's traffic source (the load balancer, read back) says
    /// traffic goes to `on` now.
    pub fn traffic_observed(&mut self, name: &str, on: Color, now: SystemTime) {
        // Stub until the engine follows the load balancer (issue 9).
        let _ = (name, on, now);
    }

    /// Time passes: agents go stale, windows end, the long gone are forgotten.
    pub fn tick(&mut self, now: SystemTime) {
        for deployment in self.deployments.values_mut() {
            let forget_after = deployment.settings.forget_after;
            deployment
                .agents
                .retain(|_, agent| agent.connected || agent.silence(now) <= forget_after);
        }
        let names: Vec<String> = self.deployments.keys().cloned().collect();
        for name in names {
            self.evaluate(&name, now);
        }
    }

    /// The current verdict of a deployment with the freshest details.
    pub fn verdict(&self, name: &str, now: SystemTime) -> Option<Verdict> {
        let deployment = self.deployments.get(name)?;
        let evaluation = deployment.last.as_ref()?;
        Some(verdict::build(name, deployment, evaluation, now))
    }

    /// The current verdict as of the latest event handed in.
    pub fn latest_verdict(&self, name: &str) -> Option<Verdict> {
        self.verdict(name, self.last_now)
    }

    pub fn verdicts(&self, now: SystemTime) -> Vec<Verdict> {
        self.deployments
            .keys()
            .filter_map(|name| self.verdict(name, now))
            .collect()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.deployments.keys().map(String::as_str)
    }

    pub fn saved_state(&self, name: &str) -> Option<SavedState> {
        self.deployments.get(name).map(SavedState::of)
    }

    /// Everything produced since the last call.
    pub fn take_outputs(&mut self) -> Outputs {
        std::mem::take(&mut self.outputs)
    }

    fn evaluate(&mut self, name: &str, now: SystemTime) {
        self.last_now = self.last_now.max(now);
        let Some(deployment) = self.deployments.get_mut(name) else {
            return;
        };
        let evaluation = deployment.evaluate(now);
        self.commit(name, evaluation, now);
    }

    /// Records an evaluation: a new epoch when its signature is new, with
    /// the transition, action, alert and state that go with it.
    fn commit(&mut self, name: &str, evaluation: Evaluation, now: SystemTime) {
        let Some(deployment) = self.deployments.get_mut(name) else {
            return;
        };
        let signature = verdict::signature(deployment, &evaluation, now);
        if deployment.signature != Some(signature) {
            deployment.signature = Some(signature);
            deployment.epoch += 1;
            let epoch = deployment.epoch;
            let before = deployment.life.phase;
            if evaluation.phase != before {
                let cause = if evaluation.cause.is_empty() {
                    summary(&evaluation.findings)
                } else {
                    evaluation.cause.clone()
                };
                deployment
                    .life
                    .record(before, evaluation.phase, now, cause, epoch);
                self.outputs
                    .alerts
                    .extend(alert_for(name, deployment, &evaluation, before, epoch));
            }
            deployment.life.phase = evaluation.phase;
            if evaluation.action != Action::None {
                deployment.life.last_action = Some((evaluation.action, epoch));
                let (from, to) = match evaluation.action {
                    Action::Cutover => (deployment.life.stable, deployment.life.candidate()),
                    _ => (deployment.life.candidate(), deployment.life.stable),
                };
                self.outputs.actions.push(ActionOrder {
                    deployment: name.to_string(),
                    action: evaluation.action,
                    epoch,
                    from,
                    to,
                    cause: evaluation.cause.clone(),
                });
            }
            self.outputs
                .verdicts
                .push(verdict::build(name, deployment, &evaluation, now));
            self.outputs
                .states
                .push((name.to_string(), SavedState::of(deployment)));
        }
        deployment.last = Some(evaluation);
    }
}

/// Entering Held (or rolling back) is worth a person's attention.
fn alert_for(
    name: &str,
    deployment: &Deployment,
    evaluation: &Evaluation,
    before: Phase,
    epoch: u64,
) -> Option<Alert> {
    let candidate = color_name(deployment.life.candidate());
    let (severity, summary) = match evaluation.phase {
        Phase::Held if before != Phase::Held => (
            Severity::Warning,
            format!("{name}: HOLD, greenlight will not act on {candidate} until this clears"),
        ),
        Phase::RolledBack if evaluation.action == Action::Rollback => (
            Severity::Critical,
            format!(
                "{name}: ROLLBACK, traffic goes back to {}",
                color_name(deployment.life.stable)
            ),
        ),
        _ => return None,
    };
    Some(Alert {
        deployment: name.to_string(),
        epoch,
        severity,
        summary,
        details: evaluation
            .findings
            .iter()
            .map(|finding| finding.to_reason().message)
            .collect(),
    })
}
