//! What the engine asks the shell to carry out: verdicts to publish,
//! actions for the traffic switch, phases entered (for their hooks),
//! alerts, and state to save.

use greenlight_proto::v1::{Action, Color, Phase, Verdict};

use super::deployment::{Deployment, Evaluation};
use super::gates::GateOrder;
use super::saved::SavedState;
pub use super::severity::Severity;
use super::stage::Stage;

/// A decision to move traffic, fenced by the epoch of the verdict that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionOrder {
    pub deployment: String,
    pub action: Action,
    pub epoch: u64,
    pub from: Color,
    pub to: Color,
    pub cause: String,
}

/// A deployment entered a phase, at the epoch of the verdict that
/// entered it: said once per entry (a restored state is not an entry), so
/// a phase hook runs once per entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseEntry {
    pub deployment: String,
    pub epoch: u64,
    pub from_phase: Phase,
    pub phase: Phase,
    /// The switch this phase is about: the old side to the new one, but
    /// after a rollback the new side back to the old (for Verified, `from`
    /// is the side that just became the standby).
    pub from: Color,
    pub to: Color,
    /// The side this deployment brings in (for Verified, the side just
    /// verified): the color a phase hook's failure alert concerns.
    pub candidate: Color,
    pub cause: String,
}

impl PhaseEntry {
    /// The phase an evaluation enters, for its hook. Its switch: after a
    /// rollback (and while one runs) the new side back to the stable one;
    /// after Verified (the stable side has just become the verified color)
    /// the standby to it; otherwise the stable side to the candidate.
    pub(super) fn of(
        name: &str,
        deployment: &Deployment,
        before: Phase,
        evaluation: &Evaluation,
        cause: &str,
        epoch: u64,
    ) -> Self {
        let life = &deployment.life;
        let back = matches!(
            life.stage(),
            Stage::RollingBack(_) | Stage::RolledBack(_) | Stage::RollbackFailed(_)
        );
        let (from, to) = if back || evaluation.phase == Phase::Verified {
            (life.candidate(), life.stable())
        } else {
            (life.stable(), life.candidate())
        };
        // Verified made the new side the stable one.
        let candidate = if evaluation.phase == Phase::Verified {
            life.stable()
        } else {
            life.candidate()
        };
        PhaseEntry {
            deployment: name.to_string(),
            epoch,
            from_phase: before,
            phase: evaluation.phase,
            from,
            to,
            candidate,
            cause: cause.to_string(),
        }
    }
}

/// A phase hook that failed for good: for the alert sinks' `hook_failed`
/// (the matching [`Alert`] is the log's and the history's).
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseHookFailed {
    pub deployment: String,
    pub phase: Phase,
    /// The side the deployment brings in (the verified one for Verified).
    pub color: Color,
    pub epoch: u64,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub deployment: String,
    pub epoch: u64,
    pub severity: Severity,
    pub summary: String,
    /// The reasons, one readable line each.
    pub details: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Outputs {
    /// New epochs, oldest first.
    pub verdicts: Vec<Verdict>,
    pub actions: Vec<ActionOrder>,
    /// Phases entered, in order.
    pub phases: Vec<PhaseEntry>,
    /// Phase hooks that failed for good (told, never obeyed).
    pub phase_hooks_failed: Vec<PhaseHookFailed>,
    pub alerts: Vec<Alert>,
    /// Test gates to run now.
    pub gates: Vec<GateOrder>,
    /// Every deployment whose saved state changed.
    pub states: Vec<(String, SavedState)>,
}

impl Outputs {
    pub fn is_empty(&self) -> bool {
        self.verdicts.is_empty()
            && self.actions.is_empty()
            && self.phases.is_empty()
            && self.phase_hooks_failed.is_empty()
            && self.alerts.is_empty()
            && self.gates.is_empty()
            && self.states.is_empty()
    }
}

impl Outputs {
    /// Moves out what `keep` refuses, given each item's deployment and
    /// epoch (`None` for a gate order), leaving the rest in order. A
    /// standby computes every deployment's verdicts, but only a leader
    /// publishes and acts, and only on the epochs of its own term.
    pub fn split_off(&mut self, keep: impl Fn(&str, Option<u64>) -> bool) -> Outputs {
        fn part<T>(items: &mut Vec<T>, keep: impl Fn(&T) -> bool) -> Vec<T> {
            let (kept, other) = std::mem::take(items).into_iter().partition(keep);
            *items = kept;
            other
        }
        Outputs {
            verdicts: part(&mut self.verdicts, |v| keep(&v.deployment, Some(v.epoch))),
            actions: part(&mut self.actions, |a| keep(&a.deployment, Some(a.epoch))),
            phases: part(&mut self.phases, |p| keep(&p.deployment, Some(p.epoch))),
            phase_hooks_failed: part(&mut self.phase_hooks_failed, |p| {
                keep(&p.deployment, Some(p.epoch))
            }),
            alerts: part(&mut self.alerts, |a| keep(&a.deployment, Some(a.epoch))),
            gates: part(&mut self.gates, |g| keep(&g.deployment, None)),
            states: part(&mut self.states, |(name, state)| {
                keep(name, Some(state.epoch))
            }),
        }
    }
}
