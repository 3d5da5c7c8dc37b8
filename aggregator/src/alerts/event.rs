//! What an alert says: one event, firing or resolved, about one deployment.

use std::time::SystemTime;

/// What happened. `name()` is the word used in config (`events = [...]`),
/// payloads and Alertmanager's `greenlight_event` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    PhaseChanged,
    Ready,
    Cutover,
    Rollback,
    Hold,
    StaleAgent,
    ClockSkew,
    HookFailed,
    TrafficDrift,
    RollbackTargetIncompatible,
}

impl EventKind {
    pub const ALL: [EventKind; 10] = [
        EventKind::PhaseChanged,
        EventKind::Ready,
        EventKind::Cutover,
        EventKind::Rollback,
        EventKind::Hold,
        EventKind::StaleAgent,
        EventKind::ClockSkew,
        EventKind::HookFailed,
        EventKind::TrafficDrift,
        EventKind::RollbackTargetIncompatible,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventKind::PhaseChanged => "phase_changed",
            EventKind::Ready => "ready",
            EventKind::Cutover => "cutover",
            EventKind::Rollback => "rollback",
            EventKind::Hold => "hold",
            EventKind::StaleAgent => "stale_agent",
            EventKind::ClockSkew => "clock_skew",
            EventKind::HookFailed => "hook_failed",
            EventKind::TrafficDrift => "traffic_drift",
            EventKind::RollbackTargetIncompatible => "rollback_target_incompatible",
        }
    }

    pub fn parse(word: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|kind| kind.name() == word)
    }

    /// A condition that lasts, and so is resolved when it clears; the
    /// others are moments (they fire once).
    pub fn is_condition(self) -> bool {
        matches!(
            self,
            EventKind::Hold
                | EventKind::StaleAgent
                | EventKind::ClockSkew
                | EventKind::TrafficDrift
                | EventKind::RollbackTargetIncompatible
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertState {
    Firing,
    Resolved,
}

impl AlertState {
    pub fn name(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// How loud: the engine's two levels, and `info` for moments that are
/// news rather than trouble (a phase change, READY, a cutover).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertSeverity {
    Info,
    Warning,
    Critical,
}

impl AlertSeverity {
    pub fn name(self) -> &'static str {
        match self {
            AlertSeverity::Info => "info",
            AlertSeverity::Warning => "warning",
            AlertSeverity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    pub kind: EventKind,
    pub state: AlertState,
    pub deployment: String,
    /// The color it is about: the candidate, the rollback's target, a
    /// stale agent's color.
    pub color: String,
    pub severity: AlertSeverity,
    pub summary: String,
    /// The reasons, one readable line each.
    pub details: Vec<String>,
    /// The same for every event about the same thing (a condition's firing
    /// and resolved share it): de-duplication and Alertmanager's identity.
    pub key: String,
    /// The verdict that said it.
    pub epoch: u64,
    /// When greenlight saw it (firing) or saw it clear (resolved).
    pub at: SystemTime,
    /// When the condition started (for a resolved event: when it fired).
    pub since: SystemTime,
}
