//! What hooks there are: one per switch (cutover, rollback) and one per
//! phase a deployment can enter (Deploying, Ready, Baking, Verified,
//! RolledBack, Held), as defaults (`[hooks.*]`) and per deployment
//! (`[deployments.<name>.hooks.*]`), a deployment's table replacing the
//! default's for that one hook.

use std::collections::BTreeMap;
use std::time::Duration;

use greenlight_proto::v1::{Action, Phase};
use greenlight_retry::{RetryPolicy, RetryPolicyError};

/// When a hook runs: a switch decided, or a phase entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HookPoint {
    Cutover,
    Rollback,
    Deploying,
    Ready,
    Baking,
    Verified,
    RolledBack,
    Held,
}

impl HookPoint {
    pub const ALL: [HookPoint; 8] = [
        HookPoint::Cutover,
        HookPoint::Rollback,
        HookPoint::Deploying,
        HookPoint::Ready,
        HookPoint::Baking,
        HookPoint::Verified,
        HookPoint::RolledBack,
        HookPoint::Held,
    ];

    /// Its key under `[hooks]`, its `{action}`, its metrics label.
    pub fn name(self) -> &'static str {
        match self {
            HookPoint::Cutover => "cutover",
            HookPoint::Rollback => "rollback",
            HookPoint::Deploying => "deploying",
            HookPoint::Ready => "ready",
            HookPoint::Baking => "baking",
            HookPoint::Verified => "verified",
            HookPoint::RolledBack => "rolled_back",
            HookPoint::Held => "held",
        }
    }

    pub fn for_action(action: Action) -> Option<HookPoint> {
        match action {
            Action::Cutover => Some(HookPoint::Cutover),
            Action::Rollback => Some(HookPoint::Rollback),
            Action::None | Action::Unspecified => None,
        }
    }

    /// The hook run when a deployment enters `phase`, if that phase has
    /// one (Normal and Testing have none: nothing happens there to act on).
    pub fn for_phase(phase: Phase) -> Option<HookPoint> {
        match phase {
            Phase::Deploying => Some(HookPoint::Deploying),
            Phase::Ready => Some(HookPoint::Ready),
            Phase::Baking => Some(HookPoint::Baking),
            Phase::Verified => Some(HookPoint::Verified),
            Phase::RolledBack => Some(HookPoint::RolledBack),
            Phase::Held => Some(HookPoint::Held),
            Phase::Normal | Phase::Testing | Phase::Unspecified => None,
        }
    }

    /// The phase whose entry runs this hook; `None` for a switch.
    pub fn phase(self) -> Option<Phase> {
        match self {
            HookPoint::Cutover | HookPoint::Rollback => None,
            HookPoint::Deploying => Some(Phase::Deploying),
            HookPoint::Ready => Some(Phase::Ready),
            HookPoint::Baking => Some(Phase::Baking),
            HookPoint::Verified => Some(Phase::Verified),
            HookPoint::RolledBack => Some(Phase::RolledBack),
            HookPoint::Held => Some(Phase::Held),
        }
    }

    /// A switch hook carries the switch out: its outcome moves the engine.
    /// A phase hook only tells: its outcome is recorded, never obeyed.
    pub fn is_switch(self) -> bool {
        matches!(self, HookPoint::Cutover | HookPoint::Rollback)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HookCommand {
    pub argv: Vec<String>,
    pub timeout: Duration,
    /// Attempts after the first one fails.
    pub retries: u32,
    /// Wait before the first retry; doubled for each next one.
    pub backoff: Duration,
    /// Phase hooks only: how long after the phase is entered the hook
    /// runs; the deployment leaving the phase first cancels it.
    pub delay: Duration,
}

impl HookCommand {
    /// The workspace's one retry policy, shaped by this hook's `backoff`:
    /// doubling from it (half jitter), never capped before the last retry.
    pub fn retry_policy(&self) -> Result<RetryPolicy, RetryPolicyError> {
        let max = self.backoff.saturating_mul(1 << self.retries.min(10));
        RetryPolicy::doubling(self.backoff, max)
    }
}

/// One set of hooks, by when they run.
pub type HookTable = BTreeMap<HookPoint, HookCommand>;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HookSettings {
    /// `[hooks.*]`: every deployment's, unless it has its own.
    pub defaults: HookTable,
    /// `[deployments.<name>.hooks.*]`: each replaces the default of its
    /// point, whole (command, timeout, retries, backoff, delay).
    pub deployments: BTreeMap<String, HookTable>,
    /// `[[deployments.<name>.gates]]`: each deployment's test gates' commands, by name.
    pub gates: BTreeMap<String, BTreeMap<String, GateCommand>>,
}

/// A test gate's command: run once, no retries (a failing test is an
/// answer, not a hiccup; `greenlight gate rerun` asks again).
#[derive(Debug, Clone, PartialEq)]
pub struct GateCommand {
    pub argv: Vec<String>,
    pub timeout: Duration,
    /// Extra environment, besides the GREENLIGHT_* variables.
    pub env: Vec<(String, String)>,
}

impl HookSettings {
    /// The hook `deployment` runs at `point`: its own, else the default.
    pub fn command(&self, deployment: &str, point: HookPoint) -> Option<&HookCommand> {
        self.deployments
            .get(deployment)
            .and_then(|own| own.get(&point))
            .or_else(|| self.defaults.get(&point))
    }

    /// Every hook `deployment` runs, by point, and whether it is its own.
    pub fn effective(&self, deployment: &str) -> Vec<(HookPoint, &HookCommand, bool)> {
        let own = self.deployments.get(deployment);
        HookPoint::ALL
            .into_iter()
            .filter_map(|point| {
                if let Some(command) = own.and_then(|own| own.get(&point)) {
                    return Some((point, command, true));
                }
                self.defaults
                    .get(&point)
                    .map(|command| (point, command, false))
            })
            .collect()
    }

    /// Whether `deployment`'s switches are carried out by a hook (and so
    /// confirmed by its outcome).
    pub fn switches(&self, deployment: &str) -> bool {
        self.command(deployment, HookPoint::Cutover).is_some()
            || self.command(deployment, HookPoint::Rollback).is_some()
    }

    /// Every hook configured anywhere, with the key it is written under.
    pub fn all(&self) -> Vec<(String, &HookCommand)> {
        let defaults = self
            .defaults
            .iter()
            .map(|(point, command)| (format!("hooks.{}", point.name()), command));
        let own = self.deployments.iter().flat_map(|(name, table)| {
            table.iter().map(move |(point, command)| {
                (
                    format!("deployments.{name}.hooks.{}", point.name()),
                    command,
                )
            })
        });
        defaults.chain(own).collect()
    }
}
