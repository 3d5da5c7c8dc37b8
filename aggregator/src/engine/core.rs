//! The engine: every deployment, the events that reach them (Hellos,
//! reports, disconnects, time), and the commit that turns an evaluation
//! into a new epoch and its outputs.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use greenlight_proto::names::{color_name, phase_name};
use greenlight_proto::v1::{Action, Hello, Phase, Report, Verdict};

use super::agent::{AgentKey, AgentState, ReportOutcome};
use super::alerts::alert_for;
use super::deployment::{Deployment, Evaluation, summary};
use super::finding::Rule;
use super::hello::{self, HelloRefused};
use super::outputs::{ActionOrder, Outputs, PhaseEntry};
use super::saved::{RestoreError, SavedState};
use super::settings::DeploymentSettings;
use super::verdict;

/// A step this much later than the engine asked to be woken means the
/// aggregator itself could not run (stopped, a frozen VM): agents get
/// `restore_grace` before their silence counts.
const STALL: Duration = Duration::from_secs(2);

/// Everything the engine knows, for every deployment.
#[derive(Debug)]
pub struct Engine {
    /// Settings of deployments not configured by name.
    defaults: DeploymentSettings,
    configured: BTreeMap<String, DeploymentSettings>,
    pub(super) deployments: BTreeMap<String, Deployment>,
    pub(super) outputs: Outputs,
    /// The time of the latest event handed in.
    pub(super) last_now: SystemTime,
    /// When the shell was told to wake us last (see `next_deadline`).
    wake_at: Option<SystemTime>,
}

/// The first epoch of a deployment with no saved state: above any epoch an
/// earlier aggregator could have issued (they count up from their own
/// start's wall clock in microseconds, a verdict at a time), so epochs
/// never go backwards even when Redis lost everything.
pub fn epoch_floor(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as u64
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
        let floor = epoch_floor(now);
        let mut engine = Engine {
            deployments: configured
                .iter()
                .map(|(name, settings)| {
                    (name.clone(), Deployment::new(name, settings.clone(), floor))
                })
                .collect(),
            defaults,
            configured,
            outputs: Outputs::default(),
            last_now: now,
            wake_at: None,
        };
        for (name, saved) in restored {
            let deployment = engine.deployment_mut(name, now);
            saved
                .restore(deployment, now, floor)
                .map_err(|error| RestoreError::about(name, error))?;
        }
        engine.redo_switches(now);
        engine.tick(now);
        Ok(engine)
    }

    pub(super) fn deployment_mut(&mut self, name: &str, now: SystemTime) -> &mut Deployment {
        let settings = self.configured.get(name).unwrap_or(&self.defaults).clone();
        self.deployments
            .entry(name.to_string())
            .or_insert_with(|| Deployment::new(name, settings, epoch_floor(now)))
    }

    /// Lets an agent in. Returns its key and the highest sequence already
    /// held for its run, so it replays only what is missing.
    pub fn hello(
        &mut self,
        hello: &Hello,
        connection: u64,
        now: SystemTime,
    ) -> Result<(AgentKey, u64), HelloRefused> {
        let (key, identity) = hello::validate_hello(hello)?;
        self.step(now);
        if let Some(live) = self
            .deployments
            .get(&key.deployment)
            .and_then(|deployment| deployment.agents.get(&key))
            .filter(|agent| agent.stream_alive(now) && !agent.same_run(&identity))
        {
            return Err(HelloRefused::AlreadyConnected {
                identity: key.to_string(),
                heard_ms: now
                    .duration_since(live.last_seen)
                    .unwrap_or_default()
                    .as_millis(),
            });
        }
        let deployment = self.deployment_mut(&key.deployment, now);
        let restored = deployment.restored_sequences.remove(&*identity.run_id);
        let agent = deployment
            .agents
            .entry(key.clone())
            .and_modify(|agent| agent.reconnect(identity.clone(), connection, now))
            .or_insert_with(|| AgentState::new(&key, identity, connection, now));
        if let Some(sequence) = restored {
            // Saved before a restart: what it had sent is not taken twice.
            agent.last_sequence = agent.last_sequence.max(sequence);
        }
        let last_sequence = agent.last_sequence;
        self.evaluate(&key.deployment, now);
        Ok((key, last_sequence))
    }

    /// Whether `connection` is the stream that speaks for `key` now: a
    /// stream replaced by its run's reconnect must not go on reporting.
    pub fn owns_stream(&self, key: &AgentKey, connection: u64) -> bool {
        self.deployments
            .get(&key.deployment)
            .and_then(|deployment| deployment.agents.get(key))
            .is_some_and(|agent| agent.connection == connection)
    }

    /// The fewest requests the traffic rules judge on, for the agents'
    /// Welcome: one meaning across agent and aggregator.
    pub fn min_requests(&self, deployment: &str) -> u64 {
        self.deployments
            .get(deployment)
            .map(|d| &d.settings)
            .or_else(|| self.configured.get(deployment))
            .unwrap_or(&self.defaults)
            .min_requests
    }

    pub fn report(&mut self, key: &AgentKey, report: Report, now: SystemTime) -> ReportOutcome {
        self.step(now);
        let Some(deployment) = self.deployments.get_mut(&key.deployment) else {
            return ReportOutcome::UnknownAgent;
        };
        let window = deployment.settings.traffic_window;
        let Some(agent) = deployment.agents.get_mut(key) else {
            return ReportOutcome::UnknownAgent;
        };
        let (outcome, added) = agent.accept(report, now, window);
        if !matches!(outcome, ReportOutcome::Accepted | ReportOutcome::Refused(_)) {
            return outcome;
        }
        let agent = &deployment.agents[key];
        let observed = agent.last_observed;
        let stable = deployment.life.stable();
        let candidate = deployment.life.candidate();
        if key.color == stable {
            for check in agent.failing.keys() {
                deployment.stable_failed_at.insert(check.clone(), observed);
            }
        }
        let newest = agent.traffic.last_increment();
        if let Some(bake) = deployment.life.baking_mut() {
            if key.color == candidate {
                bake.requests = bake.requests.saturating_add(added);
            } else {
                bake.stable_seen = true;
            }
        }
        if deployment.life.stage().baking().is_some() && key.color == candidate {
            let window = deployment.traffic.candidate_window(
                &deployment.settings,
                &deployment.agents,
                candidate,
                now,
            );
            deployment
                .traffic
                .sample(&deployment.settings, &window, &newest);
            deployment.state_dirty = true;
        }
        self.evaluate(&key.deployment, now);
        outcome
    }

    /// The stream of `connection` ended. A newer stream of the same agent
    /// keeps it connected.
    pub fn disconnected(&mut self, key: &AgentKey, connection: u64, now: SystemTime) {
        self.step(now);
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

    /// Time passes: agents go stale, windows end, the long gone are forgotten.
    pub fn tick(&mut self, now: SystemTime) {
        self.step(now);
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

    /// When the engine must next be woken (a report goes stale, a window
    /// or the bake ends, a grace runs out), if anything is due at all. The
    /// shell sleeps until then or the next event.
    pub fn next_deadline(&mut self) -> Option<SystemTime> {
        let after = self.last_now;
        let next = self
            .deployments
            .values()
            .filter_map(|deployment| deployment.next_deadline(after))
            .min();
        self.wake_at = next;
        next
    }

    /// Every event goes through here first: a step much later than the
    /// engine asked to be woken means we stalled, not the agents.
    fn step(&mut self, now: SystemTime) {
        if let Some(wake) = self.wake_at.take() {
            if now > wake + STALL {
                for deployment in self.deployments.values_mut() {
                    let until = now + deployment.settings.restore_grace;
                    for agent in deployment.agents.values_mut() {
                        agent.grace_until = Some(until);
                    }
                }
            }
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

    pub(super) fn evaluate(&mut self, name: &str, now: SystemTime) {
        self.last_now = self.last_now.max(now);
        let Some(deployment) = self.deployments.get_mut(name) else {
            return;
        };
        let evaluation = deployment.evaluate(now);
        self.commit(name, evaluation, now);
    }

    /// Records an evaluation: a new epoch when its signature is new, with
    /// the transition, action, alert and state that go with it.
    pub(super) fn commit(&mut self, name: &str, evaluation: Evaluation, now: SystemTime) {
        let Some(deployment) = self.deployments.get_mut(name) else {
            return;
        };
        self.outputs.gates.append(&mut deployment.gates.orders);
        let signature = verdict::signature(deployment, &evaluation, now);
        if deployment.signature == Some(signature) {
            if std::mem::take(&mut deployment.state_dirty) {
                self.outputs
                    .states
                    .push((name.to_string(), SavedState::of(deployment)));
            }
            deployment.last = Some(evaluation);
            return;
        }
        deployment.signature = Some(signature);
        deployment.epoch += 1;
        deployment.state_dirty = false;
        let epoch = deployment.epoch;
        let before = deployment.life.phase;
        if evaluation.phase != before {
            let cause = transition_cause(&evaluation, before, deployment);
            self.outputs.phases.push(PhaseEntry::of(
                name,
                deployment,
                before,
                &evaluation,
                &cause,
                epoch,
            ));
            deployment
                .life
                .record(before, evaluation.phase, now, cause, epoch);
        }
        self.outputs
            .alerts
            .extend(alert_for(name, deployment, &evaluation, before, epoch));
        deployment.life.phase = evaluation.phase;
        if evaluation.action != Action::None {
            deployment.life.stamp_action(evaluation.action, epoch);
            let (from, to) = match evaluation.action {
                Action::Cutover => (deployment.life.stable(), deployment.life.candidate()),
                _ => (deployment.life.candidate(), deployment.life.stable()),
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
        deployment.last = Some(evaluation);
    }
}

/// Every transition says why, in words: the evaluation's cause, else what
/// the phase itself means, else its findings. Written only when the phase
/// changes: an evaluation allocates nothing for it.
fn transition_cause(evaluation: &Evaluation, before: Phase, deployment: &Deployment) -> String {
    if !evaluation.cause.is_empty() {
        return evaluation.cause.clone();
    }
    if let Some(words) = phase_words(evaluation, deployment) {
        return words;
    }
    let findings = summary(&evaluation.findings);
    if !findings.is_empty() {
        return findings;
    }
    format!(
        "from {} to {}: every rule is satisfied",
        phase_name(before),
        phase_name(evaluation.phase)
    )
}

/// What entering Ready or Testing means: nothing is in the way, so no
/// finding says it.
pub(super) fn phase_words(evaluation: &Evaluation, deployment: &Deployment) -> Option<String> {
    let color = color_name(deployment.life.candidate());
    let window = deployment.settings.ready_after.as_secs_f64();
    let restoring = || {
        evaluation
            .findings
            .iter()
            .any(|f| f.rule == Rule::Restoring)
    };
    match evaluation.phase {
        Phase::Ready if !restoring() => Some(format!(
            "{color} healthy for {window:.0} s, the readiness window"
        )),
        Phase::Testing if !restoring() => Some(format!(
            "every {color} agent reports and every check passes: the {window:.0} s readiness window starts"
        )),
        _ => None,
    }
}
