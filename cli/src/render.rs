//! How verdicts look to a person, and as JSON for scripts.

use std::fmt::Write;

use greenlight_proto::json::VerdictJson;
use greenlight_proto::v1::Verdict;

pub use crate::sides::sides;

pub fn json(verdict: &Verdict) -> String {
    serde_json::to_string_pretty(&VerdictJson::from(verdict)).unwrap_or_else(|_| "{}".into())
}

/// One line: `escashop: READY, phase Baking, epoch 12: live green (new,
/// baking until 12:05:00 UTC), previous blue`.
pub fn headline(verdict: &Verdict) -> String {
    let doc = VerdictJson::from(verdict);
    format!(
        "{}: {}, phase {}, epoch {}: {}",
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
        let _ = writeln!(out, "  recent transitions:");
        for transition in doc.transitions.iter().rev().take(3).rev() {
            let _ = writeln!(
                out,
                "    {} {} -> {} (epoch {}): {}",
                transition.at.as_deref().unwrap_or("?"),
                transition.from,
                transition.to,
                transition.epoch,
                transition.cause
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
