//! One deployment's state and its evaluation at one instant: what each
//! stage concludes. The bake's flow is in `bake_flow`, the switches' in
//! `switching`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use greenlight_proto::names::color_name;
use greenlight_proto::v1::{Action, Color, Decision, Phase};

use super::agent::{AgentKey, AgentState};
use super::finding::{Finding, Rule};
use super::gates::{GateStage, Gates};
use super::lifecycle::Lifecycle;
use super::readiness;
use super::rollback_target;
use super::settings::DeploymentSettings;
use super::severity::Severity;
use super::stage::Stage;
use super::traffic_rules::TrafficRules;
use super::traffic_seen::TrafficSeen;

/// What one evaluation concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub decision: Decision,
    pub phase: Phase,
    pub findings: Vec<Finding>,
    /// The action this evaluation decided (None most of the time).
    pub action: Action,
    /// Why the phase changed, when it did.
    pub cause: String,
    /// An alert this evaluation raises beyond the usual ones (a switch
    /// that failed, traffic moved behind greenlight's back).
    pub alert: Option<(Severity, String)>,
}

impl Evaluation {
    pub fn new(decision: Decision, phase: Phase, findings: Vec<Finding>) -> Self {
        Evaluation {
            decision,
            phase,
            findings,
            action: Action::None,
            cause: String::new(),
            alert: None,
        }
    }

    pub fn caused(mut self, cause: impl Into<String>) -> Self {
        self.cause = cause.into();
        self
    }

    pub fn alerting(mut self, severity: Severity, summary: String) -> Self {
        self.alert = Some((severity, summary));
        self
    }
}

#[derive(Debug)]
pub struct Deployment {
    /// The name the engine keys it by: what a person types to act on it
    /// (`greenlight gate rerun <name> ...`) and what its orders carry.
    pub name: String,
    pub settings: DeploymentSettings,
    pub agents: BTreeMap<AgentKey, AgentState>,
    pub life: Lifecycle,
    pub traffic: TrafficRules,
    /// Where the load balancer says traffic goes, when it is read.
    pub seen: TrafficSeen,
    pub candidate_healthy_since: Option<SystemTime>,
    /// When the stable side last reported each check failing: a candidate
    /// failure counts as its own only from when the stable side stopped
    /// failing too (the end of a shared outage restarts the clock).
    pub stable_failed_at: BTreeMap<String, SystemTime>,
    /// Bumped for every new verdict: a newer verdict has a larger epoch.
    pub epoch: u64,
    /// What makes a verdict new (see `verdict::signature`).
    pub signature: Option<u64>,
    pub last: Option<Evaluation>,
    /// The last sequence of each agent run, as saved before a restart: a
    /// report replayed to the new aggregator is not counted twice.
    pub restored_sequences: BTreeMap<String, u64>,
    /// The saved state changed without a new epoch (a sample taken during
    /// the bake, a sequence accepted): it is saved with the next step.
    pub state_dirty: bool,
    /// The test gates' results for the current candidate run.
    pub gates: Gates,
}

impl Deployment {
    pub fn new(name: &str, settings: DeploymentSettings, first_epoch: u64) -> Self {
        Deployment {
            name: name.to_string(),
            life: Lifecycle::new(settings.live),
            settings,
            agents: BTreeMap::new(),
            traffic: TrafficRules::default(),
            seen: TrafficSeen::default(),
            candidate_healthy_since: None,
            stable_failed_at: BTreeMap::new(),
            epoch: first_epoch,
            signature: None,
            last: None,
            restored_sequences: BTreeMap::new(),
            state_dirty: false,
            gates: Gates::default(),
        }
    }

    pub fn evaluate(&mut self, now: SystemTime) -> Evaluation {
        let mut evaluation = self.evaluate_stage(now);
        evaluation.findings.extend(self.clock_warnings());
        evaluation
    }

    fn evaluate_stage(&mut self, now: SystemTime) -> Evaluation {
        match self.life.stage() {
            Stage::PreCutover(_) => self.before_cutover(now),
            Stage::CuttingOver(_) | Stage::RollingBack(_) => self.switch_in_flight(now),
            Stage::Baking(_) => self.baking(now),
            Stage::RollbackFailed(_) => self.rollback_failed(now),
            Stage::Verified(_) | Stage::RolledBack(_) => self.settled(now),
        }
    }

    fn before_cutover(&mut self, now: SystemTime) -> Evaluation {
        let candidate = self.life.candidate();
        let readiness = readiness::evaluate(
            &self.settings,
            &self.agents,
            candidate,
            self.candidate_healthy_since,
            now,
        );
        let in_grace = self.life.in_grace(now);
        let mut cutover_failed = None;
        if let Stage::PreCutover(pre) = self.life.stage() {
            cutover_failed = pre.cutover_failed.clone();
        }
        if in_grace && readiness.decision != Decision::Ready && readiness.waiting_for_agents {
            // After a restart (or our own stall) the agents are on their way
            // back: the phase keeps its place and the readiness window its
            // start, but nothing unproven is READY.
            let text = "waiting for the agents after a restart (restore_grace): not READY until they report";
            let mut findings = vec![Finding::new(Rule::Restoring, candidate, text)];
            findings.extend(readiness.findings);
            let phase = match self.life.phase {
                Phase::Held => Phase::Held,
                phase if phase_before_cutover(phase) => phase,
                _ => readiness.phase,
            };
            return Evaluation::new(Decision::NotReady, phase, findings);
        }
        self.candidate_healthy_since = readiness.healthy_since;
        let (mut decision, mut phase) = (readiness.decision, readiness.phase);
        let mut findings = readiness.findings;
        // The candidate's own health and window stand; READY also needs a
        // live side that a rollback could go back to.
        let blocked = rollback_target::incompatible(
            &self.settings,
            &self.agents,
            self.life.stable(),
            candidate,
            rollback_target::Moment::BeforeCutover,
            now,
        );
        if !blocked.is_empty() && decision == Decision::Ready {
            (decision, phase) = (Decision::NotReady, Phase::Testing);
        }
        findings.extend(blocked);
        // The gates run once the candidate is otherwise READY; READY needs
        // them passed. A result stays shown while the candidate is not.
        self.follow_candidate_run();
        let otherwise_ready = decision == Decision::Ready;
        let gates = self.check_gates(GateStage::BeforeCutover, otherwise_ready, now);
        if otherwise_ready && !gates.passed {
            (decision, phase) = (Decision::NotReady, Phase::Testing);
        }
        findings.extend(gates.failed);
        findings.extend(gates.info);
        if let Some(failed) = &cutover_failed {
            findings.push(
                Finding::new(
                    Rule::CutoverFailed,
                    candidate,
                    format!(
                        "the cutover of epoch {} failed, traffic stayed on {}: {}",
                        failed.epoch,
                        color_name(self.life.stable()),
                        failed.detail
                    ),
                )
                .error(&failed.detail)
                .since(failed.at),
            );
        }
        if let Some(reason) = &self.life.paused {
            let mut held = vec![paused(candidate, reason)];
            held.extend(findings);
            return Evaluation::new(Decision::Hold, Phase::Held, held);
        }
        let evaluation = Evaluation::new(decision, phase, findings);
        if decision != Decision::Ready || !self.settings.auto_cutover {
            return evaluation;
        }
        if cutover_failed.is_some() {
            // A switch that failed is not retried by itself: a person looks.
            return evaluation;
        }
        if self.settings.dry_run {
            let mut evaluation = evaluation;
            evaluation.findings.push(Finding::new(
                Rule::DryRun,
                candidate,
                "dry run: would cut over now (auto_cutover is on)",
            ));
            return evaluation;
        }
        self.start_cutover(now, "READY and auto_cutover is on".into())
    }

    /// Cutover decided: traffic goes to the candidate. With a switch to
    /// confirm it, the bake starts when the switch succeeded.
    pub fn start_cutover(&mut self, now: SystemTime, cause: String) -> Evaluation {
        if !self.settings.confirm_switch {
            let mut evaluation = self.start_bake(now, false);
            evaluation.action = Action::Cutover;
            evaluation.cause = cause;
            return evaluation;
        }
        self.life.move_to_cutting_over(now, cause.clone());
        let mut evaluation = self.switch_in_flight(now);
        evaluation.action = Action::Cutover;
        evaluation.cause = cause;
        evaluation
    }

    /// Traffic is on the candidate: the triggers are armed.
    pub fn start_bake(&mut self, now: SystemTime, external: bool) -> Evaluation {
        let stable = self.life.stable();
        self.traffic
            .start_bake(&self.settings, &self.agents, stable, now);
        let stable_seen = self
            .agents
            .iter()
            .any(|(key, agent)| key.color == stable && agent.latest.is_some());
        self.life
            .move_to_baking(now, self.settings.bake_for, stable_seen, external);
        self.seen.own_switch(now);
        Evaluation::new(Decision::Ready, Phase::Baking, Vec::new())
    }

    /// A switch is moving traffic: the decision stands, nothing else is
    /// decided until it reports back.
    fn switch_in_flight(&mut self, now: SystemTime) -> Evaluation {
        let (decision, phase, what, switch) = match self.life.stage() {
            Stage::CuttingOver(switch) => (
                Decision::Ready,
                Phase::Ready,
                format!("cutover to {}", color_name(self.life.candidate())),
                switch.clone(),
            ),
            Stage::RollingBack(switch) => (
                Decision::Rollback,
                Phase::Baking,
                format!("rollback to {}", color_name(self.life.stable())),
                switch.clone(),
            ),
            _ => unreachable!("switch_in_flight is evaluated only while switching"),
        };
        let waited = now.duration_since(switch.decided_at).unwrap_or_default();
        let finding = Finding::new(
            Rule::Switching,
            self.life.candidate(),
            format!(
                "{what} decided ({}); waiting {:.0} s so far for the switch to confirm it",
                switch.cause,
                waited.as_secs_f64()
            ),
        )
        .since(switch.decided_at);
        Evaluation::new(decision, phase, vec![finding])
    }

    fn rollback_failed(&mut self, _now: SystemTime) -> Evaluation {
        let Stage::RollbackFailed(failed) = self.life.stage() else {
            unreachable!("rollback_failed is evaluated only in its stage");
        };
        let text = format!(
            "the rollback of epoch {} failed and traffic may still be on {}: {}; run `greenlight rollback` to try again, or deploy/switch-traffic --force",
            failed.epoch,
            color_name(self.life.candidate()),
            failed.detail
        );
        let finding = Finding::new(Rule::RollbackFailed, self.life.candidate(), text)
            .error(&failed.detail)
            .since(failed.at);
        Evaluation::new(Decision::Rollback, Phase::Held, vec![finding])
    }

    /// One timeline: an agent whose clock is far from ours is mapped all
    /// the same, and named, because its own times (in its logs, its
    /// /health) will not match ours.
    fn clock_warnings(&self) -> Vec<Finding> {
        let limit = self.settings.max_clock_skew;
        self.agents
            .iter()
            .filter(|(_, agent)| agent.latest.is_some() && agent.clock.offset() > limit)
            .map(|(key, agent)| {
                let offset = agent.clock.offset_seconds();
                let way = if offset < 0.0 { "behind" } else { "ahead of" };
                Finding::new(
                    Rule::ClockSkew,
                    key.color,
                    format!(
                        "its clock is {:.1} s {way} the aggregator's (max_clock_skew {:.0} s); its times are mapped onto the aggregator's timeline",
                        offset.abs(),
                        limit.as_secs_f64()
                    ),
                )
                .agent(&key.instance_id)
                .observed(offset, "seconds", limit.as_secs_f64())
            })
            .collect()
    }

    /// The candidate agents' runs now: a run not among them later is a
    /// new deployment.
    pub fn runs_of(&self, color: Color) -> BTreeSet<String> {
        self.agents
            .iter()
            .filter(|(key, _)| key.color == color)
            .map(|(_, agent)| agent.identity.run_id.to_string())
            .collect()
    }
}

fn phase_before_cutover(phase: Phase) -> bool {
    matches!(
        phase,
        Phase::Normal | Phase::Deploying | Phase::Testing | Phase::Ready
    )
}

pub fn paused(color: Color, reason: &str) -> Finding {
    Finding::new(
        Rule::Paused,
        color,
        format!("paused by an operator: {reason}"),
    )
}

/// The findings in one line, for transition causes and alerts.
pub fn summary(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|finding| finding.to_reason().message)
        .collect::<Vec<_>>()
        .join("; ")
}
