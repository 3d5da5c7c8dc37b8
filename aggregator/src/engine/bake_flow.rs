//! The bake's flow: judging the candidate while it carries traffic, the
//! rollback, and Verified, which needs evidence up to the deadline.

use std::time::SystemTime;

use greenlight_proto::names::color_name;
use greenlight_proto::v1::{Action, Decision, Phase};

use super::bake::Bake;
use super::deployment::{Deployment, Evaluation, paused, summary};
use super::finding::{Finding, Rule};
use super::gates::GateStage;
use super::stage::Stage;

impl Deployment {
    pub(super) fn baking(&mut self, now: SystemTime) -> Evaluation {
        let candidate = self.life.candidate();
        let Some(bake) = self.life.stage().baking().cloned() else {
            unreachable!("baking is evaluated only while baking");
        };
        let found = Bake {
            settings: &self.settings,
            agents: &self.agents,
            stable: self.life.stable(),
            candidate,
            traffic: &self.traffic,
            deadline: bake.deadline,
            bake_requests: bake.requests,
            in_grace: self.life.in_grace(now),
            stable_seen: bake.stable_seen,
            stable_failed_at: &self.stable_failed_at,
        }
        .evaluate(now);
        // The smoke tests run once traffic is on the candidate; one that
        // fails is a trigger like any other, and Verified waits for them.
        let mut found = found;
        self.follow_candidate_run();
        let smoke = self.check_gates(GateStage::AfterCutover, true, now);
        found.triggers.extend(smoke.failed);
        let smoke_passed = smoke.passed;
        let mut smoke_info = smoke.info;

        if let Some(reason) = self.life.paused.clone() {
            let mut findings = vec![paused(candidate, &reason)];
            findings.extend(
                found
                    .holds
                    .into_iter()
                    .chain(found.triggers)
                    .chain(found.info),
            );
            self.hold_bake(now);
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
                        color_name(self.life.stable())
                    ),
                ));
                return Evaluation::new(Decision::Rollback, Phase::Baking, findings);
            }
            let cause = summary(&found.triggers);
            let mut findings = found.triggers;
            findings.extend(
                found
                    .info
                    .into_iter()
                    .filter(|f| f.rule == Rule::BaselineMissing),
            );
            return self.roll_back(findings, cause, now);
        }
        if !found.holds.is_empty() {
            self.hold_bake(now);
            let mut findings = found.holds;
            findings.extend(found.triggers.into_iter().chain(found.info));
            let cause = summary(&findings);
            return Evaluation::new(Decision::Hold, Phase::Held, findings).caused(cause);
        }
        let deadline = self.resume_bake(now);
        let mut info = found.info;
        info.append(&mut smoke_info);
        if now < deadline {
            return Evaluation::new(Decision::Ready, Phase::Baking, info);
        }
        if !smoke_passed {
            return Evaluation::new(Decision::Ready, Phase::Baking, info);
        }
        let found_info = info;
        match self.missing_evidence(deadline) {
            None => self.verify(now),
            Some(waiting) => {
                let mut findings = vec![waiting];
                findings.extend(found_info);
                Evaluation::new(Decision::Ready, Phase::Baking, findings)
            }
        }
    }

    fn hold_bake(&mut self, now: SystemTime) {
        if let Some(bake) = self.life.baking_mut() {
            bake.held_since.get_or_insert(now);
        }
    }

    /// The hold is over: bake time counts only while the candidate is
    /// judged, so the deadline moves by the time held. Returns the deadline.
    fn resume_bake(&mut self, now: SystemTime) -> SystemTime {
        let Some(bake) = self.life.baking_mut() else {
            return now;
        };
        if let Some(since) = bake.held_since.take() {
            if since < bake.deadline {
                bake.deadline += now.duration_since(since).unwrap_or_default();
            }
        }
        bake.deadline
    }

    /// Verified only on evidence: every candidate agent must have delivered
    /// observations up to the deadline (on our timeline). A deadline that
    /// passed while we could not hear them waits for their buffered reports.
    fn missing_evidence(&self, deadline: SystemTime) -> Option<Finding> {
        let candidate = self.life.candidate();
        let mut behind = self
            .agents
            .iter()
            .filter(|(key, agent)| key.color == candidate && agent.last_observed < deadline);
        let (key, agent) = behind.next()?;
        let short = deadline
            .duration_since(agent.last_observed)
            .unwrap_or_default();
        Some(
            Finding::new(
                Rule::AwaitingEvidence,
                candidate,
                format!(
                    "the bake window is over, but this agent's reports reach only {:.1} s before its end: waiting for them before Verified",
                    short.as_secs_f64()
                ),
            )
            .agent(&key.instance_id)
            .observed(short.as_secs_f64(), "seconds", 0.0)
            .since(deadline),
        )
    }

    /// A trigger fired (or an operator asked): traffic goes back to the
    /// stable side, once the switch confirms it.
    pub fn roll_back(
        &mut self,
        findings: Vec<Finding>,
        cause: String,
        now: SystemTime,
    ) -> Evaluation {
        let evaluation = if self.settings.confirm_switch {
            self.life.move_to_rolling_back(now, cause.clone());
            Evaluation::new(Decision::Rollback, Phase::Baking, findings)
        } else {
            self.finish_rollback(now);
            Evaluation::new(Decision::Rollback, Phase::RolledBack, findings)
        };
        Evaluation {
            action: Action::Rollback,
            cause,
            ..evaluation
        }
    }

    /// Traffic is back on the stable side.
    pub fn finish_rollback(&mut self, now: SystemTime) {
        let runs = self.runs_of(self.life.candidate());
        self.life.move_to_rolled_back(runs);
        self.seen.own_switch(now);
    }

    fn verify(&mut self, _now: SystemTime) -> Evaluation {
        let requests = self.life.stage().baking().map_or(0, |bake| bake.requests);
        let cause = format!(
            "bake passed: {:.0} s with {requests} requests and no trigger",
            self.settings.bake_for.as_secs_f64(),
        );
        let old = self.life.stable();
        self.life.move_to_verified(self.runs_of(old));
        self.candidate_healthy_since = None;
        Evaluation::new(Decision::Ready, Phase::Verified, Vec::new()).caused(cause)
    }

    /// Verified or RolledBack, until the candidate side runs something new.
    pub(super) fn settled(&mut self, now: SystemTime) -> Evaluation {
        let candidate = self.life.candidate();
        let runs = match self.life.stage() {
            Stage::Verified(settled) | Stage::RolledBack(settled) => settled.runs.clone(),
            _ => unreachable!("settled is evaluated only when settled"),
        };
        let redeployed = self
            .agents
            .iter()
            .any(|(key, agent)| key.color == candidate && !runs.contains(&*agent.identity.run_id));
        if redeployed {
            // The boundary between two deployments, said in the transition:
            // what comes before it is the previous deployment's.
            let ended = match self.life.stage() {
                Stage::Verified(_) => "was verified",
                _ => "was rolled back",
            };
            self.life.move_to_pre_cutover(None);
            self.candidate_healthy_since = None;
            let evaluation = self.evaluate(now);
            let cause = format!(
                "a new {} deployment started (the previous one {ended})",
                color_name(candidate)
            );
            return evaluation.caused(cause);
        }
        if matches!(self.life.stage(), Stage::Verified(_)) {
            let text = format!(
                "{} is verified and live; the next deployment goes to {}",
                color_name(self.life.stable()),
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
            .transitions()
            .iter()
            .rev()
            .find(|t| t.to() == Phase::RolledBack)
            .map(|t| t.cause.clone())
            .unwrap_or_default();
        let text = format!(
            "traffic is back on {}; redeploy {} to start again ({cause})",
            color_name(self.life.stable()),
            color_name(candidate)
        );
        Evaluation::new(
            Decision::Rollback,
            Phase::RolledBack,
            vec![Finding::new(Rule::RolledBack, candidate, text)],
        )
    }
}
