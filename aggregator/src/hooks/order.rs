//! One hook to run: what it is for (a switch decided, a phase entered),
//! and what it is told: its argv's placeholders replaced by the
//! decision's values, and the decision in environment variables.

use greenlight_proto::names::{color_name, phase_name};
use greenlight_proto::v1::{Action, Color, Phase};

use super::HookPoint;
use crate::engine::{ActionOrder, PhaseEntry};

/// The words any hook's argv may contain, replaced by the decision's
/// values (each from a fixed alphabet, so an argument never carries
/// anything else).
pub const PLACEHOLDERS: [&str; 6] = [
    "{direction}",
    "{from}",
    "{to}",
    "{deployment}",
    "{epoch}",
    "{action}",
];

/// The words only a phase hook's argv may contain: the phase entered and
/// the one left.
pub const PHASE_PLACEHOLDERS: [&str; 2] = ["{phase}", "{from_phase}"];

/// One hook to run, fenced by the epoch of the verdict that decided it.
#[derive(Debug, Clone)]
pub struct HookOrder {
    pub deployment: String,
    pub point: HookPoint,
    pub epoch: u64,
    /// The switch this is about: for a cutover, Baking, Verified (and the
    /// phases before a cutover) the old side to the new; for a rollback
    /// and RolledBack, the new side back to the old.
    pub from: Color,
    pub to: Color,
    /// The side the deployment brings in (the new side, whichever way the
    /// switch goes): what an alert about this hook's failure concerns.
    pub candidate: Color,
    pub cause: String,
    /// Phase hooks: the phase left and the phase entered.
    pub phases: Option<(Phase, Phase)>,
    /// The verdict that decided it, as JSON.
    pub verdict_json: String,
}

impl HookOrder {
    /// The order for a switch hook; `None` for an action with no hook.
    pub fn switch(order: &ActionOrder, verdict_json: String) -> Option<Self> {
        Some(HookOrder {
            deployment: order.deployment.clone(),
            point: HookPoint::for_action(order.action)?,
            epoch: order.epoch,
            from: order.from,
            to: order.to,
            candidate: match order.action {
                Action::Rollback => order.from,
                _ => order.to,
            },
            cause: order.cause.clone(),
            phases: None,
            verdict_json,
        })
    }

    /// The order for a phase hook; `None` for a phase with no hook.
    pub fn phase(entry: &PhaseEntry, verdict_json: String) -> Option<Self> {
        Some(HookOrder {
            deployment: entry.deployment.clone(),
            point: HookPoint::for_phase(entry.phase)?,
            epoch: entry.epoch,
            from: entry.from,
            to: entry.to,
            candidate: entry.candidate,
            cause: entry.cause.clone(),
            phases: Some((entry.from_phase, entry.phase)),
            verdict_json,
        })
    }

    /// Replaces the placeholders in each argument; nothing else is
    /// interpreted.
    pub fn expand(&self, argv: &[String]) -> Vec<String> {
        let from = color_name(self.from);
        let to = color_name(self.to);
        let direction = format!("{from}-to-{to}");
        let epoch = self.epoch.to_string();
        let (from_phase, phase) = self
            .phases
            .map(|(left, entered)| (phase_name(left), phase_name(entered)))
            .unwrap_or_default();
        argv.iter()
            .map(|arg| {
                arg.replace("{direction}", &direction)
                    .replace("{from}", from)
                    .replace("{to}", to)
                    .replace("{deployment}", &self.deployment)
                    .replace("{epoch}", &epoch)
                    .replace("{action}", self.point.name())
                    .replace("{phase}", phase)
                    .replace("{from_phase}", from_phase)
            })
            .collect()
    }

    pub fn environment(&self) -> Vec<(String, String)> {
        let from = color_name(self.from);
        let to = color_name(self.to);
        let mut env = vec![
            ("GREENLIGHT_DEPLOYMENT", self.deployment.clone()),
            ("GREENLIGHT_ACTION", self.point.name().to_string()),
            ("GREENLIGHT_FROM", from.to_string()),
            ("GREENLIGHT_TO", to.to_string()),
            ("GREENLIGHT_DIRECTION", format!("{from}-to-{to}")),
            ("GREENLIGHT_EPOCH", self.epoch.to_string()),
            ("GREENLIGHT_CAUSE", self.cause.clone()),
            ("GREENLIGHT_VERDICT", self.verdict_json.clone()),
        ];
        if let Some((left, entered)) = self.phases {
            env.push(("GREENLIGHT_PHASE", phase_name(entered).to_string()));
            env.push(("GREENLIGHT_FROM_PHASE", phase_name(left).to_string()));
        }
        env.into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect()
    }
}
