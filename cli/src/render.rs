//! How verdicts look to a person, and as JSON for scripts.

use std::fmt::Write;

use greenlight_proto::json::{TransitionJson, VerdictJson};
use greenlight_proto::v1::Verdict;

pub use greenlight_proto::sides::sides;

pub fn json(verdict: &Verdict) -> String {
    serde_json::to_string_pretty(&VerdictJson::from(verdict)).unwrap_or_else(|_| "{}".into())
}

/// One line: `escashop: READY, phase Baking, epoch 12: live green (new,
/// baking until 12:05:00 UTC), previous blue`.
pub fn headline(verdict: &Verdict) -> String {
    let doc = VerdictJson::from(verdict);
    let led = if doc.leader.is_empty() {
        String::new()
    } else {
        format!(" (led by {})", doc.leader)
    };
    format!(
        "{}: {}, phase {}, epoch {}: {}{led}",
        doc.deployment,
        doc.decision,
        doc.phase,
        doc.epoch,
        sides(&doc)
    )
}

/// The headline, then every reason and agent, so a person understands the
/// decision without reading logs.
pub fn full(verdict: &Verdict) -> String {
    let doc = VerdictJson::from(verdict);
    let mut out = headline(verdict);
    out.push('\n');
    if let Some(decided_at) = &doc.decided_at {
        let _ = writeln!(out, "  decided at {decided_at}");
    }
    if let (Some(started), Some(deadline)) = (&doc.bake_started, &doc.bake_deadline) {
        let _ = writeln!(out, "  bake: started {started}, ends {deadline}");
    }
    if doc.dry_run {
        let _ = writeln!(out, "  dry run: decisions are explained, never acted on");
    }
    if !doc.paused_reason.is_empty() {
        let _ = writeln!(out, "  paused: {}", doc.paused_reason);
    }
    if !doc.transitions.is_empty() {
        // This deployment's transitions only: the previous one's bake is
        // no news about this one (`history` has all of them).
        let start = doc
            .transitions
            .iter()
            .rposition(starts_a_deployment)
            .unwrap_or(0);
        let (earlier, current) = doc.transitions.split_at(start);
        let _ = writeln!(out, "  recent transitions (this deployment):");
        if !earlier.is_empty() {
            let _ = writeln!(
                out,
                "    (earlier deployments: `greenlight history {}`)",
                doc.deployment
            );
        }
        for transition in current.iter().rev().take(3).rev() {
            // An older aggregator may have recorded no cause: no dangling ": ".
            let cause = match transition.cause.as_str() {
                "" => String::new(),
                cause => format!(": {cause}"),
            };
            let _ = writeln!(
                out,
                "    {} {} -> {} (epoch {}){cause}",
                transition.at.as_deref().unwrap_or("?"),
                transition.from,
                transition.to,
                transition.epoch,
            );
        }
    }
    if doc.reasons.is_empty() {
        let _ = writeln!(out, "  reasons: none, every rule is satisfied");
    } else {
        let _ = writeln!(out, "  reasons:");
        for reason in &doc.reasons {
            let since = reason
                .since
                .as_deref()
                .map(|since| format!(" (since {since})"))
                .unwrap_or_default();
            let _ = writeln!(out, "    - {}{since}", reason.message);
        }
    }
    if doc.agents.is_empty() {
        let _ = writeln!(out, "  agents: none connected");
    } else {
        let _ = writeln!(out, "  agents:");
        for agent in &doc.agents {
            let state = match (agent.connected, agent.fresh) {
                (true, true) => "fresh",
                (true, false) => "connected, stale",
                (false, _) => "disconnected",
            };
            let failing = if agent.failing_checks.is_empty() {
                "all checks pass".to_string()
            } else {
                format!("failing: {}", agent.failing_checks.join(", "))
            };
            let _ = writeln!(
                out,
                "    {:<5} {:<20} backend {:<10} {state}, seq {}, {failing}",
                agent.color, agent.instance_id, agent.backend_version, agent.last_sequence
            );
        }
    }
    out
}

/// Out of a settled deployment (Verified, RolledBack) back before a
/// cutover: the candidate side runs something new.
fn starts_a_deployment(transition: &TransitionJson) -> bool {
    matches!(transition.from.as_str(), "Verified" | "RolledBack")
        && matches!(
            transition.to.as_str(),
            "Normal" | "Deploying" | "Testing" | "Ready" | "Held"
        )
}

#[cfg(test)]
mod tests {
    use greenlight_proto::v1::{Phase, Transition};

    use super::*;

    fn transition(from: Phase, to: Phase, epoch: u64, cause: &str) -> Transition {
        let mut transition = Transition {
            cause: cause.into(),
            epoch,
            ..Default::default()
        };
        transition.set_from(from);
        transition.set_to(to);
        transition
    }

    #[test]
    fn a_transition_without_a_cause_has_no_dangling_colon() {
        let verdict = Verdict {
            deployment: "escashop".into(),
            transitions: vec![
                transition(Phase::Testing, Phase::Ready, 7, ""),
                transition(Phase::Testing, Phase::Ready, 8, "green healthy for 30 s"),
            ],
            ..Default::default()
        };
        let text = full(&verdict);
        assert!(text.contains("Testing -> Ready (epoch 7)\n"), "{text}");
        assert!(
            text.contains("Testing -> Ready (epoch 8): green healthy for 30 s\n"),
            "{text}"
        );
        assert!(!text.contains(": \n"), "{text}");
    }

    #[test]
    fn the_previous_deployments_bake_is_not_shown_as_this_ones() {
        let mut verdict = Verdict {
            deployment: "escashop".into(),
            transitions: vec![
                transition(Phase::Ready, Phase::Baking, 4, "cutover requested by ci"),
                transition(
                    Phase::Baking,
                    Phase::Verified,
                    5,
                    "bake passed: 300 s with 30100 requests and no trigger",
                ),
                transition(
                    Phase::Verified,
                    Phase::Testing,
                    6,
                    "a new blue deployment started",
                ),
            ],
            ..Default::default()
        };
        verdict.set_phase(Phase::Testing);
        let text = full(&verdict);
        assert!(!text.contains("bake"), "{text}");
        assert!(!text.contains("cutover requested"), "{text}");
        assert!(
            text.contains("Verified -> Testing (epoch 6): a new blue deployment started"),
            "{text}"
        );
        assert!(
            text.contains("(earlier deployments: `greenlight history escashop`)"),
            "{text}"
        );
        // A first deployment has no earlier ones.
        verdict.transitions.drain(..2);
        let text = full(&verdict);
        assert!(!text.contains("earlier deployments"), "{text}");
    }
}
