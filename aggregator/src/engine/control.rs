//! What people and scripts ask of the engine: cutover (refused unless
//! READY, or forced), rollback (always accepted), pause and resume.

use std::time::SystemTime;

use greenlight_proto::names::{color_name, phase_name};
use greenlight_proto::v1::{Action, Decision, Phase, Reason, Verdict};

use super::core::{Engine, phase_words};
use super::deployment::{Deployment, Evaluation};
use super::finding::{Finding, Rule};
use super::stage::Stage;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no deployment named {0:?}")]
    NotFound(String),
    #[error("{deployment} is not READY, so cutover is refused ({}); use --force to override", reasons.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; "))]
    NotReady {
        deployment: String,
        reasons: Vec<Reason>,
    },
    #[error("{0}")]
    WrongPhase(String),
    #[error("{0}")]
    UnknownGate(String),
    #[error(
        "{0} runs in dry-run mode: greenlight decides and explains but never acts (deploy/switch-traffic --force still switches)"
    )]
    DryRun(String),
}

#[derive(Debug)]
pub struct ControlOutcome {
    pub message: String,
    pub verdict: Verdict,
}

impl Engine {
    pub fn cutover(
        &mut self,
        name: &str,
        force: bool,
        by: &str,
        now: SystemTime,
    ) -> Result<ControlOutcome, ControlError> {
        let deployment = self.acting_on(name)?;
        if !matches!(deployment.life.stage(), Stage::PreCutover(_)) {
            let doing = if deployment.life.stage().switching().is_some() {
                "a switch is in flight"
            } else {
                "cutover is for a READY candidate"
            };
            return Err(ControlError::WrongPhase(format!(
                "{name} is {}: traffic is on {}; {doing}",
                phase_name(deployment.life.phase),
                color_name(deployment.life.traffic_on())
            )));
        }
        let evaluation = deployment.evaluate(now);
        if evaluation.decision != Decision::Ready && !force {
            let reasons = evaluation.findings.iter().map(|f| f.to_reason()).collect();
            self.commit(name, evaluation, now);
            return Err(ControlError::NotReady {
                deployment: name.to_string(),
                reasons,
            });
        }
        // A paused deployment stays paused; an explicit cutover resumes it.
        deployment.life.paused = None;
        let forced = if force { " (forced)" } else { "" };
        let evaluation =
            deployment.start_cutover(now, format!("cutover requested by {by}{forced}"));
        let message = if deployment.life.stage().switching().is_some() {
            "cutover decided: the switch hook is moving traffic; the bake starts when it confirms"
        } else {
            "cutover: traffic goes to the candidate; the bake has started"
        };
        Ok(self.control_outcome(name, evaluation, now, message))
    }

    pub fn rollback(
        &mut self,
        name: &str,
        reason: &str,
        by: &str,
        now: SystemTime,
    ) -> Result<ControlOutcome, ControlError> {
        let deployment = self.acting_on(name)?;
        match deployment.life.stage() {
            Stage::PreCutover(_) | Stage::RolledBack(_) | Stage::CuttingOver(_) => {
                let message = format!(
                    "traffic is already on {}: nothing to roll back",
                    color_name(deployment.life.traffic_on())
                );
                let verdict = self.verdict(name, now).expect("deployment exists");
                return Ok(ControlOutcome { message, verdict });
            }
            // After Verified the old side is the standby: roll back to it.
            Stage::Verified(_) => deployment.life.reopen_verified(),
            // A rollback that failed (or hangs) is run again, under a new epoch.
            Stage::Baking(_) | Stage::RollingBack(_) | Stage::RollbackFailed(_) => {}
        }
        let cause = format!("rollback requested by {by}: {reason}");
        let finding = Finding::new(Rule::RolledBack, deployment.life.candidate(), cause.clone());
        let evaluation = deployment.roll_back(vec![finding], cause, now);
        Ok(self.control_outcome(name, evaluation, now, "rollback: traffic goes back"))
    }

    pub fn pause(
        &mut self,
        name: &str,
        reason: &str,
        by: &str,
        now: SystemTime,
    ) -> Result<ControlOutcome, ControlError> {
        let deployment = self.named(name)?;
        deployment.life.paused = Some(format!("{reason} (by {by})"));
        let evaluation = deployment.evaluate(now);
        Ok(self.control_outcome(
            name,
            evaluation,
            now,
            "paused: no automatic action until resume",
        ))
    }

    pub fn resume(
        &mut self,
        name: &str,
        by: &str,
        now: SystemTime,
    ) -> Result<ControlOutcome, ControlError> {
        let deployment = self.named(name)?;
        deployment.life.paused = None;
        let mut evaluation = deployment.evaluate(now);
        if evaluation.action == Action::None && deployment.life.phase == Phase::Held {
            // Out of Held because someone asked: that is the cause.
            evaluation.cause = match phase_words(&evaluation, deployment) {
                Some(words) => format!("resumed by {by}; {words}"),
                None => format!("resumed by {by}"),
            };
        }
        Ok(self.control_outcome(name, evaluation, now, &format!("resumed by {by}")))
    }

    fn named(&mut self, name: &str) -> Result<&mut Deployment, ControlError> {
        self.deployments
            .get_mut(name)
            .ok_or_else(|| ControlError::NotFound(name.to_string()))
    }

    /// A deployment the engine may act on: not in dry-run mode.
    fn acting_on(&mut self, name: &str) -> Result<&mut Deployment, ControlError> {
        let deployment = self.named(name)?;
        if deployment.settings.dry_run {
            return Err(ControlError::DryRun(name.to_string()));
        }
        Ok(deployment)
    }

    pub(super) fn control_outcome(
        &mut self,
        name: &str,
        evaluation: Evaluation,
        now: SystemTime,
        message: &str,
    ) -> ControlOutcome {
        self.commit(name, evaluation, now);
        ControlOutcome {
            message: message.to_string(),
            verdict: self.verdict(name, now).expect("deployment exists"),
        }
    }
}
