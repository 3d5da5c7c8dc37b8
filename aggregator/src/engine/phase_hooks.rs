//! What comes back from a phase hook (run for a `PhaseEntry`): only its
//! failure, as an alert. A phase hook tells the world a phase was entered;
//! it does not switch, so its outcome moves nothing (a failed Verified
//! hook rolls nothing back).

use std::time::SystemTime;

use greenlight_proto::names::phase_name;
use greenlight_proto::v1::{Color, Phase};

use super::core::Engine;
use super::outputs::{Alert, PhaseHookFailed};
use super::severity::Severity;

impl Engine {
    /// The hook run when `name` entered `phase` at `epoch` failed for good
    /// (after its retries): a warning alert (and the sinks' `hook_failed`,
    /// about `color`, the entry's candidate), and nothing else.
    pub fn phase_hook_failed(
        &mut self,
        name: &str,
        phase: Phase,
        epoch: u64,
        color: Color,
        detail: &str,
        now: SystemTime,
    ) {
        self.last_now = self.last_now.max(now);
        self.outputs.phase_hooks_failed.push(PhaseHookFailed {
            deployment: name.to_string(),
            phase,
            color,
            epoch,
            detail: detail.to_string(),
        });
        let phase = phase_name(phase);
        self.outputs.alerts.push(Alert {
            deployment: name.to_string(),
            epoch,
            severity: Severity::Warning,
            summary: format!("{name}: the {phase} hook failed ({detail})"),
            details: vec![format!(
                "the hook run on entering {phase} (epoch {epoch}) failed after its retries; \
                 greenlight does not act on a phase hook's outcome: the phase stands, nothing is switched"
            )],
        });
    }
}
