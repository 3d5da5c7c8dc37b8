//! What each publication writes: one MULTI/EXEC per publication, so a
//! reader sees a batch whole or not at all. Each verdict goes to its key
//! (with a TTL), channel and history stream; each action, alert, hook
//! attempt and gap to the history stream; each saved state to its key.
//! And what each refresh writes again, from what [`Written`] remembers.

use std::time::SystemTime;

use greenlight_proto::json::VerdictJson;
use greenlight_proto::names::{action_name, color_name, decision_name};
use greenlight_proto::time::rfc3339;
use redis::streams::StreamMaxlen;

use super::written::Written;
use super::{Publication, history_stream, state_key, verdict_channel, verdict_key};
use crate::config::RedisSettings;
use crate::engine::{Alert, Outputs};
use crate::hooks::HookOutcome;

/// A publication ready to send.
pub(super) struct Prepared {
    pub(super) pipe: redis::Pipeline,
    /// The saved states it writes, by deployment, in the order of the
    /// pipeline's replies (whether each key existed before).
    pub(super) states: Vec<(String, String)>,
}

/// How long what is written lives: the settings, in Redis' terms.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// TTL of a verdict key without a refresh, in whole seconds.
    pub(super) ttl_seconds: u64,
    /// Cap of a history stream.
    pub(super) cap: StreamMaxlen,
}

impl Limits {
    pub(super) fn of(settings: &RedisSettings) -> Limits {
        Limits {
            ttl_seconds: settings.verdict_ttl.as_secs().max(1),
            cap: StreamMaxlen::Approx(settings.history_max_len as usize),
        }
    }
}

/// Builds the publication's MULTI and remembers the verdicts it carries
/// in `written`, for the refresh.
pub(super) fn prepare(
    publication: &Publication,
    limits: Limits,
    written: &mut Written,
) -> Prepared {
    let mut pipe = redis::pipe();
    pipe.atomic();
    let mut states = Vec::new();
    match publication {
        Publication::Engine(batch, _) => {
            engine_step(&mut pipe, batch, limits, written);
            for (name, state) in &batch.states {
                let json = serde_json::to_string(state).unwrap_or_default();
                saved_state(&mut pipe, name, &json);
                states.push((name.clone(), json));
            }
        }
        Publication::Hook(outcome) => hook(&mut pipe, outcome, limits.cap),
        Publication::Gate(ran) => gate(&mut pipe, ran, limits.cap),
        Publication::Gap {
            deployment,
            from,
            to,
            what,
        } => gap(&mut pipe, limits.cap, deployment, *from, *to, what),
    }
    Prepared { pipe, states }
}

fn engine_step(pipe: &mut redis::Pipeline, batch: &Outputs, limits: Limits, written: &mut Written) {
    let Limits {
        ttl_seconds: ttl,
        cap,
    } = limits;
    for verdict in &batch.verdicts {
        let json = serde_json::to_string(&VerdictJson::from(verdict)).unwrap_or_default();
        let name = &verdict.deployment;
        let epoch = verdict.epoch.to_string();
        pipe.set_ex(verdict_key(name), &json, ttl).ignore();
        pipe.publish(verdict_channel(name), &json).ignore();
        pipe.xadd_maxlen(
            history_stream(name),
            cap,
            "*",
            &[
                ("kind", "verdict"),
                ("epoch", &epoch),
                ("decision", decision_name(verdict.decision())),
                ("verdict", &json),
            ],
        )
        .ignore();
        written.verdict(name, json);
    }
    for action in &batch.actions {
        let epoch = action.epoch.to_string();
        pipe.xadd_maxlen(
            history_stream(&action.deployment),
            cap,
            "*",
            &[
                ("kind", "action"),
                ("epoch", &epoch),
                ("action", action_name(action.action)),
                ("from", color_name(action.from)),
                ("to", color_name(action.to)),
                ("cause", &action.cause),
            ],
        )
        .ignore();
    }
    for alert in &batch.alerts {
        self::alert(pipe, alert, cap);
    }
}

fn hook(pipe: &mut redis::Pipeline, outcome: &HookOutcome, cap: StreamMaxlen) {
    let result = &outcome.result;
    let fields = [
        ("kind", "hook".to_string()),
        ("epoch", outcome.epoch.to_string()),
        ("action", outcome.point.name().to_string()),
        (
            "attempt",
            format!("{}/{}", outcome.attempt, outcome.attempts),
        ),
        (
            "outcome",
            if result.succeeded() { "ok" } else { "failed" }.to_string(),
        ),
        ("exit", result.describe()),
        ("duration_ms", result.duration.as_millis().to_string()),
        ("output", result.output_tail.clone()),
    ];
    pipe.xadd_maxlen(history_stream(&outcome.deployment), cap, "*", &fields)
        .ignore();
}

/// One run of a test gate: `kind=gate`, its name, stage, attempt, exit
/// and the tail of its output (bounded by the runner).
fn gate(pipe: &mut redis::Pipeline, ran: &crate::hooks::GateRan, cap: StreamMaxlen) {
    let result = &ran.result;
    let fields = [
        ("kind", "gate".to_string()),
        ("gate", ran.order.gate.clone()),
        ("stage", ran.order.stage.name().to_string()),
        ("candidate", color_name(ran.order.candidate).to_string()),
        ("attempt", ran.order.attempt.to_string()),
        (
            "outcome",
            if result.succeeded() { "ok" } else { "failed" }.to_string(),
        ),
        ("exit", result.describe()),
        ("duration_ms", result.duration.as_millis().to_string()),
        ("output", result.output_tail.clone()),
    ];
    pipe.xadd_maxlen(history_stream(&ran.order.deployment), cap, "*", &fields)
        .ignore();
}

fn alert(pipe: &mut redis::Pipeline, alert: &Alert, cap: StreamMaxlen) {
    let epoch = alert.epoch.to_string();
    let details = alert.details.join("\n");
    pipe.xadd_maxlen(
        history_stream(&alert.deployment),
        cap,
        "*",
        &[
            ("kind", "alert"),
            ("epoch", &epoch),
            ("severity", alert.severity.name()),
            ("summary", &alert.summary),
            ("details", &details),
        ],
    )
    .ignore();
}

/// The refresh: every gap not yet noted, then every verdict and state
/// written again. `None` when nothing was written yet.
pub(super) fn reassertion(written: &Written, limits: Limits) -> Option<Prepared> {
    if written.is_empty() {
        return None;
    }
    let mut pipe = redis::pipe();
    pipe.atomic();
    for gap in written.unwritten_gaps() {
        let what = gap.what();
        self::gap(
            &mut pipe,
            limits.cap,
            &gap.deployment,
            gap.from,
            gap.to,
            &what,
        );
    }
    for (name, json) in written.verdicts() {
        pipe.set_ex(verdict_key(name), json, limits.ttl_seconds)
            .ignore();
    }
    let mut states = Vec::new();
    for (name, json) in written.states() {
        saved_state(&mut pipe, name, json);
        states.push((name.to_string(), json.to_string()));
    }
    Some(Prepared { pipe, states })
}

/// Writes a state key and asks whether it existed before (one reply per
/// state, in order), in the same MULTI so nothing comes between.
fn saved_state(pipe: &mut redis::Pipeline, deployment: &str, json: &str) {
    let key = state_key(deployment);
    pipe.exists(&key);
    pipe.set(&key, json).ignore();
}

/// A `kind=gap` history entry: from and to in RFC 3339, and what is missing.
pub(super) fn gap(
    pipe: &mut redis::Pipeline,
    cap: StreamMaxlen,
    deployment: &str,
    from: SystemTime,
    to: SystemTime,
    what: &str,
) {
    pipe.xadd_maxlen(
        history_stream(deployment),
        cap,
        "*",
        &[
            ("kind", "gap"),
            ("from", &rfc3339(from)),
            ("to", &rfc3339(to)),
            ("what", what),
        ],
    )
    .ignore();
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    fn state(name: &str, json: &str) -> Vec<(String, String)> {
        vec![(name.to_string(), json.to_string())]
    }

    #[test]
    fn the_reassertion_carries_the_latest_of_each() {
        let limits = Limits {
            ttl_seconds: 15,
            cap: StreamMaxlen::Approx(100),
        };
        let mut written = Written::default();
        assert!(
            reassertion(&written, limits).is_none(),
            "nothing written yet"
        );
        written.verdict("shop", "{\"epoch\":1}".into());
        written.confirmed(state("shop", "{\"epoch\":1}"), &[false], at(0));
        written.confirmed(state("shop", "{\"epoch\":2}"), &[true], at(1));
        let prepared = reassertion(&written, limits).expect("something to re-assert");
        assert_eq!(prepared.states, state("shop", "{\"epoch\":2}"));
    }
}
