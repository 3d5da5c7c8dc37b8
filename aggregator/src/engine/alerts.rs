//! Which new verdicts are worth a person's attention.

use greenlight_proto::names::color_name;
use greenlight_proto::v1::{Action, Phase};

use super::deployment::{Deployment, Evaluation};
use super::outputs::Alert;
use super::severity::Severity;

/// A rollback decided, a HOLD entered, or what an evaluation raised itself
/// (a switch that failed, traffic moved behind greenlight's back).
pub fn alert_for(
    name: &str,
    deployment: &Deployment,
    evaluation: &Evaluation,
    before: Phase,
    epoch: u64,
) -> Option<Alert> {
    let candidate = color_name(deployment.life.candidate());
    let (severity, summary) = if let Some((severity, summary)) = &evaluation.alert {
        (*severity, summary.clone())
    } else if evaluation.action == Action::Rollback {
        (
            Severity::Critical,
            format!(
                "{name}: ROLLBACK, traffic goes back to {}",
                color_name(deployment.life.stable())
            ),
        )
    } else if evaluation.phase == Phase::Held && before != Phase::Held {
        (
            Severity::Warning,
            format!("{name}: HOLD, greenlight will not act on {candidate} until this clears"),
        )
    } else {
        return None;
    };
    Some(Alert {
        deployment: name.to_string(),
        epoch,
        severity,
        summary,
        details: evaluation
            .findings
            .iter()
            .map(|finding| finding.to_reason().message)
            .collect(),
    })
}
