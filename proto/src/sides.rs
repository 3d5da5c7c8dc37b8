//! Which color carries traffic and what the other one is, in words a tired
//! person reads right: the CLI's and the status page's one wording. The verdict's `live` is where traffic goes and
//! `candidate` the color being deployed; while the new side bakes they are
//! the same color, which "live green, candidate green" says badly.
//!
//! The engine (docs/verdicts.md, Phases): before cutover traffic is on the
//! stable side and the candidate is the other color; from the cutover
//! through the bake (and a rollback in flight, or one that failed) traffic
//! is on the candidate; Verified makes the candidate the stable side (the
//! other color becomes the standby); RolledBack puts traffic back.

use crate::json::VerdictJson;

/// `live green (new, baking until 12:05:00 UTC), previous blue`.
pub fn sides(doc: &VerdictJson) -> String {
    let live = doc.live.as_str();
    let candidate = doc.candidate.as_str();
    let has = |rule: &str| doc.reasons.iter().any(|reason| reason.rule == rule);
    if live == candidate {
        // Traffic is on the new side; the old one is where a rollback goes.
        let previous = other(live);
        let state = match (doc.phase.as_str(), doc.decision.as_str()) {
            ("Baking", "ROLLBACK") => format!("new, rolling back to {previous}"),
            ("Held", "ROLLBACK") => format!("new; the rollback to {previous} failed"),
            ("Baking", _) => match clock(doc.bake_deadline.as_deref()) {
                Some(until) => format!("new, baking until {until}"),
                None => "new, baking".to_string(),
            },
            ("Held", _) => "new, bake on hold".to_string(),
            _ => "new".to_string(),
        };
        return format!("live {live} ({state}), previous {previous}");
    }
    match doc.phase.as_str() {
        "Normal" => format!("live {live}, no {candidate} deployed"),
        "Deploying" => format!("live {live}, candidate {candidate} deploying (not healthy yet)"),
        "Testing" => {
            format!("live {live}, candidate {candidate} healthy, readiness window running")
        }
        "Ready" if has("switching") => format!("live {live}, switching to {candidate}"),
        "Ready" => format!("live {live}, candidate {candidate} ready for cutover"),
        // The load balancer says traffic is not where greenlight put it
        // (traffic_drift): the verdict follows the load balancer.
        "Baking" => format!("live {live}, candidate {candidate} baking without the traffic"),
        "Verified" => format!("live {live} (verified), standby {candidate}"),
        "RolledBack" => format!("live {live} (rolled back from {candidate})"),
        "Held" => format!("live {live}, candidate {candidate} (on hold)"),
        _ => format!("live {live}, candidate {candidate}"),
    }
}

fn other(color: &str) -> &str {
    match color {
        "blue" => "green",
        "green" => "blue",
        _ => "the other side",
    }
}

/// `12:05:00 UTC` from an RFC 3339 UTC time (`2026-12-02T12:05:00.000Z`).
pub fn clock(rfc3339: Option<&str>) -> Option<String> {
    let time = rfc3339?.split_once('T')?.1;
    Some(format!("{} UTC", time.get(..8)?))
}

#[cfg(test)]
mod tests {
    use crate::names::{PHASES, phase_name};

    use super::*;

    fn verdict(phase: &str, decision: &str, live: &str, candidate: &str) -> VerdictJson {
        serde_json::from_value(serde_json::json!({
            "deployment": "escashop", "epoch": 12, "decision": decision, "phase": phase,
            "live": live, "candidate": candidate, "decided_at": null,
            "candidate_healthy_since": null, "ready_after_seconds": 30.0,
            "live_healthy": true, "standby_healthy": true,
            "bake_started": "2026-12-02T12:00:00.000Z",
            "bake_deadline": "2026-12-02T12:05:00.000Z",
            "dry_run": false, "auto_cutover": false, "action": "none",
            "transitions": [], "reasons": [], "agents": []
        }))
        .unwrap()
    }

    #[test]
    fn every_phase_says_where_traffic_is() {
        let cases = [
            (
                "Normal",
                "NOT_READY",
                "blue",
                "green",
                "live blue, no green deployed",
            ),
            (
                "Deploying",
                "NOT_READY",
                "blue",
                "green",
                "live blue, candidate green deploying (not healthy yet)",
            ),
            (
                "Testing",
                "NOT_READY",
                "blue",
                "green",
                "live blue, candidate green healthy, readiness window running",
            ),
            (
                "Ready",
                "READY",
                "blue",
                "green",
                "live blue, candidate green ready for cutover",
            ),
            (
                "Baking",
                "READY",
                "green",
                "green",
                "live green (new, baking until 12:05:00 UTC), previous blue",
            ),
            (
                "Baking",
                "ROLLBACK",
                "green",
                "green",
                "live green (new, rolling back to blue), previous blue",
            ),
            (
                "Verified",
                "READY",
                "green",
                "blue",
                "live green (verified), standby blue",
            ),
            (
                "RolledBack",
                "ROLLBACK",
                "blue",
                "green",
                "live blue (rolled back from green)",
            ),
            (
                "Held",
                "ROLLBACK",
                "green",
                "green",
                "live green (new; the rollback to blue failed), previous blue",
            ),
            (
                "Held",
                "HOLD",
                "green",
                "green",
                "live green (new, bake on hold), previous blue",
            ),
            (
                "Held",
                "HOLD",
                "blue",
                "green",
                "live blue, candidate green (on hold)",
            ),
        ];
        for (phase, decision, live, candidate, words) in cases {
            assert_eq!(
                sides(&verdict(phase, decision, live, candidate)),
                words,
                "{phase} {decision}"
            );
        }
        // Every phase has its words: none falls through to the bare pair.
        for phase in PHASES {
            let name = phase_name(phase);
            let text = sides(&verdict(name, "NOT_READY", "blue", "green"));
            assert_ne!(text, "live blue, candidate green", "{name}");
            assert!(!text.contains("candidate blue"), "{name}: {text}");
        }
    }

    #[test]
    fn a_cutover_in_flight_says_so() {
        let mut doc = verdict("Ready", "READY", "blue", "green");
        doc.reasons = serde_json::from_value(serde_json::json!([{
            "rule": "switching", "color": "green", "observed_value": 0.0,
            "threshold": 0.0, "since": null, "message": "switching traffic to green"
        }]))
        .unwrap();
        assert_eq!(sides(&doc), "live blue, switching to green");
    }

    #[test]
    fn a_bake_without_a_deadline_still_reads() {
        let mut doc = verdict("Baking", "READY", "green", "green");
        doc.bake_deadline = None;
        assert_eq!(sides(&doc), "live green (new, baking), previous blue");
    }
}
