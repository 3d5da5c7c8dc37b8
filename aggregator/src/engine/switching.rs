//! Switches confirmed, traffic known: what comes back from the world. A
//! hook's outcome (the switch it ran), and the load balancer read back,
//! move the stage; the engine's picture follows where traffic really goes.

use std::time::SystemTime;

use greenlight_proto::names::color_name;
use greenlight_proto::time::rfc3339;
use greenlight_proto::v1::{Action, Color};

use super::core::Engine;
use super::deployment::{Deployment, Evaluation};
use super::severity::Severity;
use super::stage::{Stage, SwitchFailure};
use super::traffic_seen::Disagreement;

/// How a decided switch ended, for good (after the hook's retries).
#[derive(Debug, Clone, PartialEq)]
pub enum SwitchOutcome {
    Succeeded,
    /// Exit status and the tail of its output.
    Failed(String),
}

impl Engine {
    /// The switch decided at `epoch` finished. Returns false when no switch
    /// of that epoch is in flight (a stale outcome: ignored).
    pub fn switch_finished(
        &mut self,
        name: &str,
        epoch: u64,
        outcome: SwitchOutcome,
        now: SystemTime,
    ) -> bool {
        let Some(deployment) = self.deployments.get_mut(name) else {
            return false;
        };
        let Some(switch) = deployment.life.stage().switching().cloned() else {
            return false;
        };
        if switch.epoch != epoch {
            return false;
        }
        let cutover = matches!(deployment.life.stage(), Stage::CuttingOver(_));
        let evaluation = match (cutover, outcome) {
            (true, SwitchOutcome::Succeeded) => {
                deployment.start_bake(now, false);
                deployment
                    .evaluate(now)
                    .caused(format!("{} (switch confirmed)", switch.cause))
            }
            (false, SwitchOutcome::Succeeded) => {
                deployment.finish_rollback(now);
                deployment
                    .evaluate(now)
                    .caused(format!("{} (switch back confirmed)", switch.cause))
            }
            (_, SwitchOutcome::Failed(detail)) => {
                let (candidate, stable) = (
                    color_name(deployment.life.candidate()),
                    color_name(deployment.life.stable()),
                );
                let (summary, rule) = if cutover {
                    (
                        format!(
                            "{name}: CUTOVER FAILED: the switch to {candidate} failed ({detail}); traffic stays on {stable}, no bake started"
                        ),
                        "cutover_failed",
                    )
                } else {
                    (
                        format!(
                            "{name}: ROLLBACK FAILED: the switch back to {stable} failed ({detail}); traffic may still be on {candidate}: run `greenlight rollback {name}` or deploy/switch-traffic --force"
                        ),
                        "rollback_failed",
                    )
                };
                let cause = format!("{rule}: {detail}");
                let failure = SwitchFailure {
                    epoch,
                    at: now,
                    detail,
                };
                if cutover {
                    deployment.life.move_to_pre_cutover(Some(failure));
                } else {
                    deployment.life.move_to_rollback_failed(failure);
                }
                deployment
                    .evaluate(now)
                    .caused(cause)
                    .alerting(Severity::Critical, summary)
            }
        };
        self.commit(name, evaluation, now);
        true
    }

    /// The deployment's traffic source (the load balancer, read back) says
    /// traffic goes to `on` now.
    pub fn traffic_observed(&mut self, name: &str, on: Color, now: SystemTime) {
        let Some(deployment) = self.deployments.get_mut(name) else {
            return;
        };
        deployment.seen.observe(on, now);
        let live = deployment.life.traffic_on();
        if on == live || deployment.life.stage().switching().is_some() {
            // Agreed, or a switch is moving it right now: its outcome decides.
            self.evaluate(name, now);
            return;
        }
        let evaluation = match deployment
            .seen
            .judge(now, deployment.settings.traffic_drift_after)
        {
            Disagreement::Settling => None,
            Disagreement::Drift { switched_at } => {
                let summary = format!(
                    "{name}: TRAFFIC DRIFT: greenlight moved traffic to {} at {}, but the load balancer still sends it to {}; following the load balancer",
                    color_name(live),
                    rfc3339(switched_at),
                    color_name(on)
                );
                Some(deployment.follow(on, now, "traffic_drift", summary, Severity::Critical))
            }
            Disagreement::External => {
                let summary = format!(
                    "{name}: traffic was moved to {} outside greenlight (external_switch)",
                    color_name(on)
                );
                Some(deployment.follow(on, now, "external_switch", summary, Severity::Warning))
            }
        };
        match evaluation {
            Some(evaluation) => self.commit(name, evaluation, now),
            None => self.evaluate(name, now),
        }
    }

    /// Restored with a switch in flight: the hook that ran it died with the
    /// aggregator, so the same action is decided again under a new epoch
    /// (switch-traffic is idempotent: traffic already there is a no-op).
    pub(super) fn redo_switches(&mut self, now: SystemTime) {
        let names: Vec<String> = self
            .deployments
            .iter()
            .filter(|(_, d)| d.life.stage().switching().is_some())
            .map(|(name, _)| name.clone())
            .collect();
        for name in names {
            self.redo_switch(&name, now);
        }
    }

    /// One deployment's switch in flight, decided again (a restart, or a
    /// leader's state taken over).
    pub(super) fn redo_switch(&mut self, name: &str, now: SystemTime) {
        let Some(deployment) = self.deployments.get_mut(name) else {
            return;
        };
        let action = match deployment.life.stage() {
            Stage::CuttingOver(_) => Action::Cutover,
            Stage::RollingBack(_) => Action::Rollback,
            _ => return,
        };
        let mut evaluation = deployment.evaluate(now);
        evaluation.action = action;
        evaluation.cause =
            "the switch was in flight when the aggregator stopped: decided again".into();
        self.commit(name, evaluation, now);
    }
}

impl Deployment {
    /// Traffic is on `on`, whoever moved it: the stage follows. Traffic on
    /// the candidate arms the bake; back on the stable side is a rollback.
    fn follow(
        &mut self,
        on: Color,
        now: SystemTime,
        rule: &str,
        summary: String,
        severity: Severity,
    ) -> Evaluation {
        let cause = format!(
            "{rule}: the load balancer sends traffic to {}, which greenlight did not decide",
            color_name(on)
        );
        if matches!(self.life.stage(), Stage::Verified(_)) {
            // Back to the standby after a bake passed: a rollback by hand.
            self.life.reopen_verified();
        }
        let moved = if on == self.life.candidate() {
            self.start_bake(now, true);
            "bake armed".to_string()
        } else {
            self.finish_rollback(now);
            format!("traffic is back on {}", color_name(on))
        };
        self.evaluate(now)
            .caused(format!("{cause}: {moved}"))
            .alerting(severity, summary)
    }
}
