//! Where a deployment is in its cycle, and what it has done: the part of
//! the engine's state that is saved to Redis and survives a restart.

use std::collections::{BTreeSet, VecDeque};
use std::time::SystemTime;

use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::{Action, Color, Phase, Transition};

/// Transitions kept (and shown in verdicts, newest last).
const KEPT_TRANSITIONS: usize = 50;

/// The lasting part of the phase. The phase shown in a verdict adds what a
/// single evaluation says (Deploying/Testing/Ready before cutover, Held).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    PreCutover,
    Baking,
    Verified,
    RolledBack,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::PreCutover => "pre_cutover",
            Stage::Baking => "baking",
            Stage::Verified => "verified",
            Stage::RolledBack => "rolled_back",
        }
    }

    pub fn parse(text: &str) -> Option<Stage> {
        [
            Stage::PreCutover,
            Stage::Baking,
            Stage::Verified,
            Stage::RolledBack,
        ]
        .into_iter()
        .find(|stage| stage.name() == text)
    }
}

#[derive(Debug, Clone)]
pub struct Lifecycle {
    pub stage: Stage,
    /// The phase of the latest verdict.
    pub phase: Phase,
    /// The known-good side: where a rollback goes.
    pub stable: Color,
    /// Where user traffic goes now.
    pub traffic_on: Color,
    pub bake_started: Option<SystemTime>,
    pub bake_deadline: Option<SystemTime>,
    /// While a bake is held: since when (the deadline moves by the hold).
    pub held_since: Option<SystemTime>,
    /// Requests the candidate served since cutover.
    pub bake_requests: u64,
    /// The candidate agents' runs when the deployment settled (Verified or
    /// RolledBack): a run not among them is a new deployment.
    pub settled_runs: BTreeSet<String>,
    pub paused: Option<String>,
    pub transitions: VecDeque<Transition>,
    /// The last action decided, with its epoch: never decided twice.
    pub last_action: Option<(Action, u64)>,
    /// After a restore, agents get until then to come back.
    pub grace_until: Option<SystemTime>,
}

impl Lifecycle {
    pub fn new(live: Color) -> Self {
        Lifecycle {
            stage: Stage::PreCutover,
            phase: Phase::Normal,
            stable: live,
            traffic_on: live,
            bake_started: None,
            bake_deadline: None,
            held_since: None,
            bake_requests: 0,
            settled_runs: BTreeSet::new(),
            paused: None,
            transitions: VecDeque::new(),
            last_action: None,
            grace_until: None,
        }
    }

    pub fn candidate(&self) -> Color {
        greenlight_proto::names::other_color(self.stable)
    }

    pub fn record(&mut self, from: Phase, to: Phase, at: SystemTime, cause: String, epoch: u64) {
        let mut transition = Transition {
            at: Some(to_timestamp(at)),
            cause,
            epoch,
            ..Default::default()
        };
        transition.set_from(from);
        transition.set_to(to);
        self.transitions.push_back(transition);
        while self.transitions.len() > KEPT_TRANSITIONS {
            self.transitions.pop_front();
        }
    }
}
