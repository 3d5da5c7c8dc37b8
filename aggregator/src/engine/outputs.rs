//! What the engine asks the shell to carry out: verdicts to publish,
//! actions for the traffic switch, alerts, and state to save.

use greenlight_proto::v1::{Action, Color, Verdict};

use super::saved::SavedState;
pub use super::severity::Severity;

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
    pub alerts: Vec<Alert>,
    /// Every deployment whose saved state changed.
    pub states: Vec<(String, SavedState)>,
}

impl Outputs {
    pub fn is_empty(&self) -> bool {
        self.verdicts.is_empty()
            && self.actions.is_empty()
            && self.alerts.is_empty()
            && self.states.is_empty()
    }
}
