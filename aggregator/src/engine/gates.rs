//! Test gates: commands the aggregator runs against the candidate (the
//! guide's integration tests and API-compatibility check before cutover,
//! its smoke tests right after). The engine only decides: it orders a
//! gate to run (a [`GateOrder`] in the outputs) once the candidate is
//! otherwise READY (before cutover) or once traffic is on it (after), and
//! takes its outcome back as an event (`Engine::gate_finished`). Each gate
//! runs once per candidate run: a candidate agent with a run id these
//! results were not for is a new deployment, and every result starts
//! over. `Engine::rerun_gate` asks for one again.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use greenlight_proto::names::color_name;
use greenlight_proto::v1::Color;
use serde::{Deserialize, Serialize};

use super::finding::{Finding, Rule};
use super::stage::millis;

/// When a gate runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateStage {
    /// Once the candidate is otherwise READY; READY needs it passed.
    BeforeCutover,
    /// Once traffic is on the candidate (Baking); its failure rolls back.
    AfterCutover,
}

impl GateStage {
    pub fn name(self) -> &'static str {
        match self {
            GateStage::BeforeCutover => "before_cutover",
            GateStage::AfterCutover => "after_cutover",
        }
    }

    fn words(self) -> &'static str {
        match self {
            GateStage::BeforeCutover => "before cutover",
            GateStage::AfterCutover => "after cutover",
        }
    }
}

/// A gate as the engine knows it: its name and when it runs (its command
/// is the shell's business).
#[derive(Debug, Clone, PartialEq)]
pub struct GateSpec {
    pub name: String,
    pub stage: GateStage,
}

/// Where one gate is, for the current candidate run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum GateState {
    /// Ordered: its outcome comes back naming `order`.
    Running {
        order: u64,
        attempt: u32,
        #[serde(with = "millis")]
        since: SystemTime,
    },
    Passed {
        attempt: u32,
        #[serde(with = "millis")]
        at: SystemTime,
    },
    Failed {
        attempt: u32,
        #[serde(with = "millis")]
        at: SystemTime,
        /// "exit 1", "killed by a signal", "could not start: ...".
        exit: String,
        /// The end of its output (bounded by the runner).
        tail: String,
    },
    /// Still running at its timeout: killed.
    TimedOut {
        attempt: u32,
        #[serde(with = "millis")]
        at: SystemTime,
        after_ms: u64,
        tail: String,
    },
}

impl GateState {
    fn attempt(&self) -> u32 {
        match self {
            GateState::Running { attempt, .. }
            | GateState::Passed { attempt, .. }
            | GateState::Failed { attempt, .. }
            | GateState::TimedOut { attempt, .. } => *attempt,
        }
    }
}

/// What a gate's run came to, as the shell tells it.
#[derive(Debug, Clone, PartialEq)]
pub enum GateOutcome {
    Passed,
    Failed { exit: String, tail: String },
    TimedOut { after: Duration, tail: String },
}

/// A gate to run now, for the shell.
#[derive(Debug, Clone, PartialEq)]
pub struct GateOrder {
    pub deployment: String,
    pub gate: String,
    pub stage: GateStage,
    /// Fences the outcome: one for an order no longer awaited is ignored.
    pub order: u64,
    pub attempt: u32,
    pub candidate: Color,
    pub live: Color,
}

/// The gates' results for one candidate run. Saved: a restart does not
/// run a passed gate again (one that was running is run again: its
/// process did not survive the restart).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gates {
    /// The candidate agents' run ids these results are for.
    #[serde(default)]
    pub runs: BTreeSet<String>,
    /// By gate name; a gate not here has not started.
    #[serde(default)]
    pub states: BTreeMap<String, GateState>,
    /// Attempts so far, by gate name (a rerun counts on).
    #[serde(default)]
    pub attempts: BTreeMap<String, u32>,
    /// The last order issued: outcomes name theirs.
    #[serde(default)]
    pub last_order: u64,
    /// Ordered by this evaluation, for the outputs.
    #[serde(skip)]
    pub orders: Vec<GateOrder>,
}

impl Gates {
    /// Nothing to save: no gate ran (older states stay byte for byte).
    pub fn is_unused(&self) -> bool {
        self.states.is_empty() && self.attempts.is_empty() && self.last_order == 0
    }

    /// After a restart: a gate that was running runs again.
    pub fn restored(mut self) -> Self {
        self.states
            .retain(|_, state| !matches!(state, GateState::Running { .. }));
        self
    }
}

/// The gates of one stage at one instant.
#[derive(Debug, Default)]
pub struct GateCheck {
    /// Every gate of the stage passed (true when there are none).
    pub passed: bool,
    /// Gates that failed or timed out.
    pub failed: Vec<Finding>,
    /// Gates running, and those that passed (for the record).
    pub info: Vec<Finding>,
}

/// A gate's state as a finding, and whether it is a failure.
pub(super) fn gate_finding(
    deployment: &str,
    name: &str,
    stage: GateStage,
    state: &GateState,
    candidate: Color,
    now: SystemTime,
) -> (Finding, bool) {
    let color = color_name(candidate);
    let attempt = state.attempt();
    let stage_words = stage.words();
    match state {
        GateState::Running { since, .. } => {
            let ran = now.duration_since(*since).unwrap_or_default();
            let text = format!(
                "gate {name} ({stage_words}) is running against {color}: {:.0} s so far, attempt {attempt}",
                ran.as_secs_f64()
            );
            let finding = Finding::new(Rule::GateRunning, candidate, text)
                .check(name)
                .error(&format!("attempt {attempt}"))
                .since(*since);
            (finding, false)
        }
        GateState::Passed { at, .. } => {
            let text = format!("gate {name} ({stage_words}) passed, attempt {attempt}");
            let finding = Finding::new(Rule::GatePassed, candidate, text)
                .check(name)
                .since(*at);
            (finding, false)
        }
        GateState::Failed { at, exit, tail, .. } => {
            let text = format!(
                "gate {name} ({stage_words}) failed against {color}: {exit}, attempt {attempt}{}{}",
                output_words(tail),
                rerun_words(deployment, name, stage)
            );
            let finding = Finding::new(Rule::GateFailed, candidate, text)
                .check(name)
                .error(&format!("attempt {attempt}: {exit}"))
                .since(*at);
            (finding, true)
        }
        GateState::TimedOut {
            at, after_ms, tail, ..
        } => {
            let after = Duration::from_millis(*after_ms).as_secs_f64();
            let text = format!(
                "gate {name} ({stage_words}) was still running at its {after:.0} s timeout and was killed, attempt {attempt}{}{}",
                output_words(tail),
                rerun_words(deployment, name, stage)
            );
            let finding = Finding::new(Rule::GateFailed, candidate, text)
                .check(name)
                .error(&format!("attempt {attempt}: timed out"))
                .observed(after, "seconds", after)
                .since(*at);
            (finding, true)
        }
    }
}

/// The output's end, bounded, on one line: what a reason can carry.
const REASON_OUTPUT: usize = 400;

fn output_words(tail: &str) -> String {
    let lines: Vec<&str> = tail
        .lines()
        .map(|line| {
            line.trim_start_matches("[stdout] ")
                .trim_start_matches("[stderr] ")
                .trim()
        })
        .filter(|line| !line.is_empty())
        .collect();
    if lines.is_empty() {
        return "; no output".into();
    }
    let mut joined = lines.join(" | ");
    if joined.len() > REASON_OUTPUT {
        let mut start = joined.len() - REASON_OUTPUT;
        while !joined.is_char_boundary(start) {
            start += 1;
        }
        joined = format!("...{}", &joined[start..]);
    }
    format!("; output: {joined}")
}

/// Before cutover a failed gate waits for a person: say how to ask again.
/// After cutover its failure rolled back; the next deployment reruns it.
fn rerun_words(deployment: &str, name: &str, stage: GateStage) -> String {
    match stage {
        GateStage::BeforeCutover => {
            format!(" (greenlight gate rerun {deployment} {name} runs it again)")
        }
        GateStage::AfterCutover => String::new(),
    }
}
