//! One deployment's lifecycle: its stage, changed only through the named
//! transitions below, and what it has done (transitions, the last action).
//! This is the part of the engine's state that is saved and survives a
//! restart.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use greenlight_proto::names::other_color;
use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::{Action, Color, Phase, Transition};

use super::saved::SavedTransition;
use super::stage::{Baking, PreCutover, Settled, Stage, SwitchFailure, Switching};

/// Transitions kept (and shown in verdicts, newest last).
const KEPT_TRANSITIONS: usize = 50;

#[derive(Debug, Clone)]
pub struct Lifecycle {
    stage: Stage,
    /// The phase of the latest verdict.
    pub phase: Phase,
    /// The known-good side: where a rollback goes.
    stable: Color,
    pub paused: Option<String>,
    transitions: VecDeque<Transition>,
    /// The transitions as saved, rebuilt on each transition (rare) rather
    /// than on each save (every candidate report of a bake).
    saved_transitions: Arc<[SavedTransition]>,
    /// The last action decided, with its epoch: never decided twice.
    pub last_action: Option<(Action, u64)>,
    /// Until then, agents that are absent or stale are not missing data:
    /// after a restart, or after the aggregator itself stalled.
    pub grace_until: Option<SystemTime>,
}

impl Lifecycle {
    pub fn new(live: Color) -> Self {
        Lifecycle {
            stage: Stage::PreCutover(PreCutover::default()),
            phase: Phase::Normal,
            stable: live,
            paused: None,
            transitions: VecDeque::new(),
            saved_transitions: Arc::from([]),
            last_action: None,
            grace_until: None,
        }
    }

    /// A lifecycle as saved.
    pub fn restored(stage: Stage, stable: Color, phase: Phase) -> Self {
        Lifecycle {
            stage,
            phase,
            ..Lifecycle::new(stable)
        }
    }

    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    pub fn stable(&self) -> Color {
        self.stable
    }

    pub fn candidate(&self) -> Color {
        other_color(self.stable)
    }

    /// Where user traffic goes now, as far as greenlight knows.
    pub fn traffic_on(&self) -> Color {
        if self.stage.traffic_on_candidate() {
            self.candidate()
        } else {
            self.stable
        }
    }

    pub fn in_grace(&self, now: SystemTime) -> bool {
        self.grace_until.is_some_and(|until| now < until)
    }

    pub fn baking_mut(&mut self) -> Option<&mut Baking> {
        match &mut self.stage {
            Stage::Baking(bake) => Some(bake),
            _ => None,
        }
    }

    pub fn move_to_cutting_over(&mut self, now: SystemTime, cause: String) {
        self.stage = Stage::CuttingOver(Switching {
            epoch: 0,
            decided_at: now,
            cause,
        });
    }

    pub fn move_to_baking(
        &mut self,
        now: SystemTime,
        bake_for: Duration,
        stable_seen: bool,
        external: bool,
    ) {
        // Whole milliseconds, as saved: a restored deadline is the same instant.
        let now = whole_millis(now);
        self.stage = Stage::Baking(Baking {
            started: now,
            deadline: now + bake_for,
            held_since: None,
            requests: 0,
            stable_seen,
            external,
        });
    }

    pub fn move_to_rolling_back(&mut self, now: SystemTime, cause: String) {
        self.stage = Stage::RollingBack(Switching {
            epoch: 0,
            decided_at: now,
            cause,
        });
    }

    pub fn move_to_rolled_back(&mut self, runs: BTreeSet<String>) {
        self.stage = Stage::RolledBack(Settled { runs });
    }

    pub fn move_to_rollback_failed(&mut self, failure: SwitchFailure) {
        self.stage = Stage::RollbackFailed(failure);
    }

    pub fn move_to_pre_cutover(&mut self, cutover_failed: Option<SwitchFailure>) {
        self.stage = Stage::PreCutover(PreCutover { cutover_failed });
    }

    /// The candidate passed its bake: it becomes the stable side, and the
    /// old side the standby (and the next deployment's candidate).
    pub fn move_to_verified(&mut self, runs: BTreeSet<String>) {
        self.stable = self.candidate();
        self.stage = Stage::Verified(Settled { runs });
    }

    /// After Verified, a rollback goes to the standby: it becomes the stable
    /// side again and the verified color the candidate being rolled back.
    pub fn reopen_verified(&mut self) {
        if matches!(self.stage, Stage::Verified(_)) {
            self.stable = self.candidate();
        }
    }

    /// The epoch the verdict deciding `action` got, kept by the switch in
    /// flight so that its outcome is matched to it.
    pub fn stamp_action(&mut self, action: Action, epoch: u64) {
        self.last_action = Some((action, epoch));
        if let Stage::CuttingOver(switch) | Stage::RollingBack(switch) = &mut self.stage {
            switch.epoch = epoch;
        }
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
        self.saved_transitions = self.transitions.iter().map(SavedTransition::of).collect();
    }

    pub fn transitions(&self) -> &VecDeque<Transition> {
        &self.transitions
    }

    /// Puts restored transitions back.
    pub fn set_transitions(&mut self, transitions: VecDeque<Transition>) {
        self.transitions = transitions;
        self.saved_transitions = self.transitions.iter().map(SavedTransition::of).collect();
    }

    pub fn saved_transitions(&self) -> Arc<[SavedTransition]> {
        self.saved_transitions.clone()
    }
}

fn whole_millis(time: SystemTime) -> SystemTime {
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    std::time::UNIX_EPOCH + Duration::from_millis(since.as_millis() as u64)
}
