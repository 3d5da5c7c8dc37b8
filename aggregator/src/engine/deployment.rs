//! One deployment's state and its evaluation: readiness before cutover,
//! the bake rules after, and the transitions between the stages.

use std::collections::BTreeMap;
use std::time::SystemTime;

use greenlight_proto::names::{color_name, other_color};
use greenlight_proto::v1::{Action, Color, Decision, Phase};

use super::agent::{AgentKey, AgentState};
use super::bake::Bake;
use super::finding::{Finding, Rule};
use super::lifecycle::{Lifecycle, Stage};
use super::readiness;
use super::settings::DeploymentSettings;
use super::traffic_rules::TrafficRules;

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
}

impl Evaluation {
    fn new(decision: Decision, phase: Phase, findings: Vec<Finding>) -> Self {
        Evaluation {
            decision,
            phase,
            findings,
            action: Action::None,
            cause: String::new(),
        }
    }
}

#[derive(Debug)]
pub struct Deployment {
    pub settings: DeploymentSettings,
    pub agents: BTreeMap<AgentKey, AgentState>,
    pub life: Lifecycle,
    pub traffic: TrafficRules,
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
}

impl Deployment {
    pub fn new(settings: DeploymentSettings) -> Self {
        Deployment {
            life: Lifecycle::new(settings.live),
            settings,
            agents: BTreeMap::new(),
            traffic: TrafficRules::default(),
            candidate_healthy_since: None,
            stable_failed_at: BTreeMap::new(),
            epoch: 0,
            signature: None,
            last: None,
        }
    }

    pub fn evaluate(&mut self, now: SystemTime) -> Evaluation {
        match self.life.stage {
            Stage::PreCutover => self.before_cutover(now),
            Stage::Baking => self.baking(now),
            Stage::Verified | Stage::RolledBack => self.settled(now),
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
        self.candidate_healthy_since = readiness.healthy_since;
        if let Some(reason) = &self.life.paused {
            let mut findings = vec![paused(candidate, reason)];
            findings.extend(readiness.findings);
            return Evaluation::new(Decision::Hold, Phase::Held, findings);
        }
        let mut evaluation =
            Evaluation::new(readiness.decision, readiness.phase, readiness.findings);
        if readiness.decision == Decision::Ready && self.settings.auto_cutover {
            if self.settings.dry_run {
                evaluation.findings.push(Finding::new(
                    Rule::DryRun,
                    candidate,
                    "dry run: would cut over now (auto_cutover is on)",
                ));
            } else {
                return self.start_bake(now, "READY and auto_cutover is on".into());
            }
        }
        evaluation
    }

    /// Cutover: traffic goes to the candidate and the bake starts.
    pub fn start_bake(&mut self, now: SystemTime, cause: String) -> Evaluation {
        let candidate = self.life.candidate();
        self.traffic
            .start_bake(&self.settings, &self.agents, self.life.stable, now);
        let life = &mut self.life;
        life.stage = Stage::Baking;
        life.traffic_on = candidate;
        // Whole milliseconds, as saved: a restored deadline is the same instant.
        let now = whole_millis(now);
        life.bake_started = Some(now);
        life.bake_deadline = Some(now + self.settings.bake_for);
        life.held_since = None;
        life.bake_requests = 0;
        Evaluation {
            action: Action::Cutover,
            cause,
            ..Evaluation::new(Decision::Ready, Phase::Baking, Vec::new())
        }
    }

    fn baking(&mut self, now: SystemTime) -> Evaluation {
        let candidate = self.life.candidate();
        let deadline = self.life.bake_deadline.unwrap_or(now);
        let found = Bake {
            settings: &self.settings,
            agents: &self.agents,
            stable: self.life.stable,
            candidate,
            traffic: &self.traffic,
            deadline,
            bake_requests: self.life.bake_requests,
            grace_until: self.life.grace_until,
            stable_failed_at: &self.stable_failed_at,
        }
        .evaluate(now);

        if let Some(reason) = self.life.paused.clone() {
            let mut findings = vec![paused(candidate, &reason)];
            findings.extend(
                found
                    .holds
                    .into_iter()
                    .chain(found.triggers)
                    .chain(found.info),
            );
            self.life.held_since.get_or_insert(now);
            return Evaluation::new(Decision::Hold, Phase::Held, findings);
        }
        if !found.triggers.is_empty() && found.holds.is_empty() {
            if self.settings.dry_run {
                let mut findings = found.triggers;
                findings.push(Finding::new(
                    Rule::DryRun,
                    candidate,
                    format!(
                        "dry run: would roll back to {}",
                        color_name(self.life.stable)
                    ),
                ));
                return Evaluation::new(Decision::Rollback, Phase::Baking, findings);
            }
            let cause = summary(&found.triggers);
            return self.roll_back(found.triggers, cause);
        }
        if !found.holds.is_empty() {
            self.life.held_since.get_or_insert(now);
            let mut findings = found.holds;
            findings.extend(found.triggers.into_iter().chain(found.info));
            let mut evaluation = Evaluation::new(Decision::Hold, Phase::Held, findings);
            evaluation.cause = summary(&evaluation.findings);
            return evaluation;
        }
        if let Some(since) = self.life.held_since.take() {
            // Bake time counts only while the candidate is judged.
            if since < deadline {
                let held = now.duration_since(since).unwrap_or_default();
                self.life.bake_deadline = Some(deadline + held);
            }
        }
        if now >= self.life.bake_deadline.unwrap_or(now) {
            return self.verify();
        }
        Evaluation::new(Decision::Ready, Phase::Baking, found.info)
    }

    /// A trigger fired (or an operator asked): traffic goes back to the
    /// stable side.
    pub fn roll_back(&mut self, findings: Vec<Finding>, cause: String) -> Evaluation {
        let life = &mut self.life;
        life.stage = Stage::RolledBack;
        life.traffic_on = life.stable;
        life.held_since = None;
        life.settled_runs = runs_of(&self.agents, life.candidate());
        Evaluation {
            action: Action::Rollback,
            cause,
            ..Evaluation::new(Decision::Rollback, Phase::RolledBack, findings)
        }
    }

    fn verify(&mut self) -> Evaluation {
        let life = &mut self.life;
        let verified = life.candidate();
        let cause = format!(
            "bake passed: {:.0} s with {} requests and no trigger",
            self.settings.bake_for.as_secs_f64(),
            life.bake_requests
        );
        life.stage = Stage::Verified;
        life.stable = verified;
        life.traffic_on = verified;
        life.settled_runs = runs_of(&self.agents, other_color(verified));
        self.candidate_healthy_since = None;
        Evaluation {
            cause,
            ..Evaluation::new(Decision::Ready, Phase::Verified, Vec::new())
        }
    }

    /// Verified or RolledBack, until the candidate side runs something new.
    fn settled(&mut self, now: SystemTime) -> Evaluation {
        let candidate = self.life.candidate();
        let redeployed = self.agents.iter().any(|(key, agent)| {
            key.color == candidate && !self.life.settled_runs.contains(&agent.identity.run_id)
        });
        if redeployed {
            self.life.stage = Stage::PreCutover;
            self.candidate_healthy_since = None;
            let mut evaluation = self.before_cutover(now);
            evaluation.cause = format!("a new {} deployment started", color_name(candidate));
            return evaluation;
        }
        if self.life.stage == Stage::Verified {
            let text = format!(
                "{} is verified and live; the next deployment goes to {}",
                color_name(self.life.stable),
                color_name(candidate)
            );
            return Evaluation::new(
                Decision::Ready,
                Phase::Verified,
                vec![Finding::new(Rule::AwaitingDeploy, candidate, text)],
            );
        }
        let cause = self
            .life
            .transitions
            .iter()
            .rev()
            .find(|t| t.to() == Phase::RolledBack)
            .map(|t| t.cause.clone())
            .unwrap_or_default();
        let text = format!(
            "traffic is back on {}; redeploy {} to start again ({cause})",
            color_name(self.life.stable),
            color_name(candidate)
        );
        Evaluation::new(
            Decision::Rollback,
            Phase::RolledBack,
            vec![Finding::new(Rule::RolledBack, candidate, text)],
        )
    }
}

fn whole_millis(time: SystemTime) -> SystemTime {
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    std::time::UNIX_EPOCH + std::time::Duration::from_millis(since.as_millis() as u64)
}

fn paused(color: Color, reason: &str) -> Finding {
    Finding::new(
        Rule::Paused,
        color,
        format!("paused by an operator: {reason}"),
    )
}

fn runs_of(
    agents: &BTreeMap<AgentKey, AgentState>,
    color: Color,
) -> std::collections::BTreeSet<String> {
    agents
        .iter()
        .filter(|(key, _)| key.color == color)
        .map(|(_, agent)| agent.identity.run_id.clone())
        .collect()
}

/// The findings in one line, for transition causes and alerts.
pub fn summary(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|finding| finding.to_reason().message)
        .collect::<Vec<_>>()
        .join("; ")
}
