//! The verdict engine: a pure core. No tokio, no sockets, no clock reads:
//! every method takes `now`, and verdicts come out as values that the async
//! shell publishes. Tests drive it with tables of (time, event).

mod agent;
mod hello;
mod readiness;
mod settings;
mod verdict;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use greenlight_proto::v1::{Hello, Report, Verdict};

pub use agent::{AgentKey, ReportOutcome};
pub use hello::{HelloError, validate_deployment_name};
pub use settings::DeploymentSettings;
pub use verdict::fit_to_carry_traffic;

use agent::AgentState;
use verdict::Signature;

/// Everything the engine knows, for every deployment.
#[derive(Debug)]
pub struct Engine {
    /// Settings for deployments that are not configured by name.
    defaults: DeploymentSettings,
    deployments: BTreeMap<String, Deployment>,
    /// Verdicts with a new epoch since the shell last took them.
    changed: Vec<Verdict>,
    /// Deployments re-evaluated since the shell last looked: their current
    /// verdict may carry fresher details (observed values, agents) under
    /// the same epoch.
    touched: BTreeSet<String>,
}

#[derive(Debug)]
struct Deployment {
    settings: DeploymentSettings,
    agents: BTreeMap<AgentKey, AgentState>,
    candidate_healthy_since: Option<SystemTime>,
    /// Bumped for every new verdict: a newer verdict has a larger epoch.
    epoch: u64,
    current: Option<Verdict>,
    /// What makes a verdict new: values that drift (latencies, elapsed
    /// time) do not, a changed decision, reason or agent state does.
    signature: Option<Signature>,
}

impl Deployment {
    fn new(settings: DeploymentSettings) -> Self {
        Deployment {
            settings,
            agents: BTreeMap::new(),
            candidate_healthy_since: None,
            epoch: 0,
            current: None,
            signature: None,
        }
    }
}

impl Engine {
    /// `configured` deployments exist from the start, so they can be asked
    /// about before any agent connects.
    pub fn new(
        defaults: DeploymentSettings,
        configured: BTreeMap<String, DeploymentSettings>,
        now: SystemTime,
    ) -> Self {
        let mut engine = Engine {
            defaults,
            deployments: configured
                .into_iter()
                .map(|(name, settings)| (name, Deployment::new(settings)))
                .collect(),
            changed: Vec::new(),
            touched: BTreeSet::new(),
        };
        engine.tick(now);
        engine
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
        let defaults = &self.defaults;
        let deployment = self
            .deployments
            .entry(key.deployment.clone())
            .or_insert_with(|| Deployment::new(defaults.clone()));
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
        let Some(agent) = self
            .deployments
            .get_mut(&key.deployment)
            .and_then(|deployment| deployment.agents.get_mut(key))
        else {
            return ReportOutcome::UnknownAgent;
        };
        let outcome = agent.accept(report, now);
        if outcome == ReportOutcome::Accepted {
            self.evaluate(&key.deployment, now);
        }
        outcome
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

    /// Time passes: agents go stale, windows complete, the long gone are forgotten.
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

    pub fn verdict(&self, deployment: &str) -> Option<&Verdict> {
        self.deployments.get(deployment)?.current.as_ref()
    }

    pub fn verdicts(&self) -> impl Iterator<Item = &Verdict> {
        self.deployments
            .values()
            .filter_map(|deployment| deployment.current.as_ref())
    }

    /// The verdicts with a new epoch since the last call, oldest first.
    pub fn take_changed(&mut self) -> Vec<Verdict> {
        std::mem::take(&mut self.changed)
    }

    /// The deployments re-evaluated since the last call.
    pub fn take_touched(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.touched)
    }

    fn evaluate(&mut self, name: &str, now: SystemTime) {
        let Some(deployment) = self.deployments.get_mut(name) else {
            return;
        };
        let evaluation = readiness::evaluate(
            &deployment.settings,
            &deployment.agents,
            deployment.candidate_healthy_since,
            now,
        );
        deployment.candidate_healthy_since = evaluation.candidate_healthy_since;
        let mut verdict = verdict::build(
            name,
            &deployment.settings,
            &deployment.agents,
            evaluation,
            now,
        );
        self.touched.insert(name.to_string());
        let signature = Signature::of(&verdict);
        if deployment.signature.as_ref() == Some(&signature) {
            // Same decision for the same reasons: fresher details, same epoch.
            if let Some(current) = &deployment.current {
                verdict.epoch = current.epoch;
                verdict.decided_at = current.decided_at;
            }
            deployment.current = Some(verdict);
            return;
        }
        deployment.epoch += 1;
        verdict.epoch = deployment.epoch;
        deployment.signature = Some(signature);
        deployment.current = Some(verdict.clone());
        self.changed.push(verdict);
    }
}
