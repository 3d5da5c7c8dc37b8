//! `greenlight history`: the deployment's whole audit trail (the Redis
//! history stream, through the aggregator's GetHistory), paged newest
//! first and printed oldest first. Without Redis there is no stream: the
//! verdict's recent transitions are shown instead, and the output says so.

use std::time::{Duration, SystemTime};

use greenlight_proto::json::VerdictJson;
use greenlight_proto::time::{from_timestamp, rfc3339, to_timestamp};
use greenlight_proto::v1::{GetHistoryRequest, HistoryEntry};
use serde_json::json;
use tonic::Code;

use crate::client::{connect, fetch_verdict};
use crate::exit::Failure;
use crate::output::{note, print, println};
use crate::target::Target;

/// What one page asks for; the aggregator caps it at 1000.
const PAGE: u32 = 500;

/// `--since`: an RFC 3339 time, or a duration back from now ("90m").
pub fn parse_since(text: &str) -> Result<Since, String> {
    if let Ok(ago) = humantime::parse_duration(text) {
        return Ok(Since::Ago(ago));
    }
    humantime::parse_rfc3339_weak(text)
        .map(Since::At)
        .map_err(|_| {
            format!("{text:?} is neither a duration back from now (\"30m\", \"2h\") nor a time (\"2026-12-02T15:00:00Z\")")
        })
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Since {
    At(SystemTime),
    Ago(Duration),
}

impl Since {
    fn at(self, now: SystemTime) -> SystemTime {
        match self {
            Since::At(at) => at,
            Since::Ago(ago) => now.checked_sub(ago).unwrap_or(SystemTime::UNIX_EPOCH),
        }
    }
}

pub struct Query {
    pub since: Option<Since>,
    /// The newest this many; `None`: all.
    pub limit: Option<usize>,
    pub json: bool,
}

pub async fn history(
    address: &Target,
    timeout: Duration,
    deployment: &str,
    query: Query,
) -> Result<(), Failure> {
    let mut connection = connect(address, timeout).await?;
    let since = query.since.map(|since| since.at(SystemTime::now()));
    let mut entries: Vec<HistoryEntry> = Vec::new();
    let mut before = String::new();
    loop {
        let wanted = query.limit.map(|limit| limit - entries.len());
        let page = wanted.map_or(PAGE, |left| PAGE.min(left as u32));
        let request = GetHistoryRequest {
            deployment: deployment.to_string(),
            before: before.clone(),
            since: since.map(to_timestamp),
            limit: page,
        };
        let answer = tokio::time::timeout(timeout, connection.verdicts.get_history(request))
            .await
            .map_err(|_| Failure::unreachable(address, "no answer in time"))?;
        let answer = match answer {
            Ok(answer) => answer.into_inner(),
            Err(status) if status.code() == Code::FailedPrecondition => {
                return transitions_only(address, timeout, deployment, &query, status.message())
                    .await;
            }
            // The aggregator answered, but its Redis did not.
            Err(status)
                if status.code() == Code::Unavailable && status.message().contains("Redis") =>
            {
                return Err(Failure::new(
                    crate::exit::UNREACHABLE,
                    format!(
                        "the aggregator at {address} answered, but {}",
                        status.message()
                    ),
                ));
            }
            Err(status) => return Err(address.failure(&status)),
        };
        entries.extend(answer.entries);
        let full = query.limit.is_some_and(|limit| entries.len() >= limit);
        if answer.next_before.is_empty() || full {
            break;
        }
        before = answer.next_before;
    }
    entries.reverse();
    if query.json {
        let docs: Vec<serde_json::Value> = entries.iter().map(entry_json).collect();
        println(&serde_json::to_string_pretty(&docs).unwrap_or_else(|_| "[]".into()))?;
    } else if entries.is_empty() {
        println(&format!(
            "{deployment}: no history entries{}",
            since_words(since)
        ))?;
    } else {
        // One write: a reader that leaves early (`| head`) ends it at once.
        let text: String = entries.iter().map(|entry| line(entry) + "\n").collect();
        print(&text)?;
    }
    Ok(())
}

fn since_words(since: Option<SystemTime>) -> String {
    since.map_or(String::new(), |at| format!(" since {}", rfc3339(at)))
}

/// Without Redis: the transitions the verdict carries, marked as such.
async fn transitions_only(
    address: &Target,
    timeout: Duration,
    deployment: &str,
    query: &Query,
    why: &str,
) -> Result<(), Failure> {
    let verdict = fetch_verdict(address, timeout, deployment).await?;
    let doc = VerdictJson::from(&verdict);
    let mut transitions = doc.transitions;
    if let Some(limit) = query.limit {
        let skip = transitions.len().saturating_sub(limit);
        transitions.drain(..skip);
    }
    if query.json {
        let docs: Vec<serde_json::Value> = transitions
            .iter()
            .map(|t| json!({"kind": "transition", "at": t.at, "epoch": t.epoch, "from": t.from, "to": t.to, "cause": t.cause}))
            .collect();
        println(&serde_json::to_string_pretty(&docs).unwrap_or_else(|_| "[]".into()))?;
    } else {
        note(&format!("{why}; showing the recent transitions only"));
        if transitions.is_empty() {
            println(&format!(
                "{deployment}: no transitions yet (phase {})",
                doc.phase
            ))?;
        }
        for t in &transitions {
            println(&format!(
                "{}  transition  epoch {:>4}  {} -> {}: {}",
                t.at.as_deref().unwrap_or("?"),
                t.epoch,
                t.from,
                t.to,
                t.cause
            ))?;
        }
    }
    Ok(())
}

fn entry_json(entry: &HistoryEntry) -> serde_json::Value {
    let mut fields = serde_json::Map::new();
    for (key, value) in &entry.fields {
        // The verdict is JSON itself: nested, not a string to parse again.
        let value = match key.as_str() {
            "verdict" => serde_json::from_str(value).unwrap_or_else(|_| json!(value)),
            _ => json!(value),
        };
        fields.insert(key.clone(), value);
    }
    json!({
        "id": entry.id,
        "at": entry.at.as_ref().and_then(from_timestamp).map(rfc3339),
        "kind": entry.kind,
        "fields": fields,
    })
}

/// A run's captured output on one line, after the run's words.
fn output_words(output: &str) -> String {
    match output.trim() {
        "" => String::new(),
        output => format!(" output: {}", output.replace('\n', " | ")),
    }
}

/// One line a person reads: when, what kind, and what it says.
fn line(entry: &HistoryEntry) -> String {
    let at = entry
        .at
        .as_ref()
        .and_then(from_timestamp)
        .map(rfc3339)
        .unwrap_or_else(|| entry.id.clone());
    let field = |name: &str| entry.fields.get(name).map(String::as_str).unwrap_or("");
    let epoch = match field("epoch") {
        "" => String::new(),
        epoch => format!("epoch {epoch:>4}  "),
    };
    let what = match entry.kind.as_str() {
        "verdict" => verdict_words(field("verdict"), field("decision")),
        "action" => format!(
            "decided {} from {} to {}: {}",
            field("action"),
            field("from"),
            field("to"),
            field("cause")
        ),
        "hook" => format!(
            "{} hook attempt {}: {} ({}, {} ms){}",
            // A phase hook's point: `verified`, `rolled_back`.
            field("action").replace('_', " "),
            field("attempt"),
            field("outcome"),
            field("exit"),
            field("duration_ms"),
            output_words(field("output"))
        ),
        "gate" => format!(
            "gate {} ({}) attempt {} on {}: {} ({}, {} ms){}",
            field("gate"),
            field("stage").replace('_', " "),
            field("attempt"),
            field("candidate"),
            field("outcome"),
            field("exit"),
            field("duration_ms"),
            output_words(field("output"))
        ),
        "alert" => format!(
            "ALERT {} {}{}",
            field("severity"),
            field("summary"),
            match field("details") {
                "" => String::new(),
                details => format!(" ({})", details.replace('\n', "; ")),
            }
        ),
        "gap" => format!(
            "GAP from {} to {}: {}",
            field("from"),
            field("to"),
            field("what")
        ),
        // A kind this CLI does not know (a newer aggregator's): its fields.
        _ => {
            let mut fields: Vec<String> = entry
                .fields
                .iter()
                .filter(|(key, _)| key.as_str() != "kind")
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            fields.sort();
            fields.join(" ")
        }
    };
    format!("{at}  {:<7}  {epoch}{what}", entry.kind)
}

/// "READY, phase Ready (Testing -> Ready: candidate healthy for 30s)".
fn verdict_words(json: &str, decision: &str) -> String {
    let Ok(doc) = serde_json::from_str::<VerdictJson>(json) else {
        return format!("decision {decision}");
    };
    let transition = doc
        .transitions
        .iter()
        .rev()
        .find(|t| t.epoch == doc.epoch)
        .map(|t| match t.cause.as_str() {
            "" => format!(" ({} -> {})", t.from, t.to),
            cause => format!(" ({} -> {}: {cause})", t.from, t.to),
        })
        .unwrap_or_default();
    let reason = match doc.reasons.first() {
        Some(reason) if transition.is_empty() => format!(": {}", reason.message),
        _ => String::new(),
    };
    format!(
        "{}, phase {}, live {}{transition}{reason}",
        doc.decision, doc.phase, doc.live
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn entry(kind: &str, fields: &[(&str, &str)]) -> HistoryEntry {
        let mut map: HashMap<String, String> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.insert("kind".into(), kind.into());
        HistoryEntry {
            id: "1764687600000-0".into(),
            at: Some(to_timestamp(
                SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_687_600_000),
            )),
            kind: kind.into(),
            fields: map,
        }
    }

    #[test]
    fn since_takes_a_duration_back_or_a_time() {
        assert_eq!(
            parse_since("90m"),
            Ok(Since::Ago(Duration::from_secs(5400)))
        );
        let at = parse_since("2026-12-02T15:00:00Z").unwrap();
        let now = SystemTime::now();
        assert_eq!(
            at.at(now),
            humantime::parse_rfc3339("2026-12-02T15:00:00Z").unwrap()
        );
        let error = parse_since("yesterday").unwrap_err();
        assert!(error.contains("neither a duration"), "{error}");
    }

    #[test]
    fn each_kind_reads_as_a_sentence() {
        let action = line(&entry(
            "action",
            &[
                ("epoch", "7"),
                ("action", "ROLLBACK"),
                ("from", "green"),
                ("to", "blue"),
                ("cause", "error ratio 0.2 > 0.05"),
            ],
        ));
        assert_eq!(
            action,
            "2025-12-02T15:00:00.000Z  action   epoch    7  decided ROLLBACK from green to blue: error ratio 0.2 > 0.05"
        );
        let hook = line(&entry(
            "hook",
            &[
                ("action", "ROLLBACK"),
                ("attempt", "1/3"),
                ("outcome", "failed"),
                ("exit", "exit 1"),
                ("duration_ms", "12"),
                ("output", "no route\n"),
            ],
        ));
        assert!(
            hook.ends_with("ROLLBACK hook attempt 1/3: failed (exit 1, 12 ms) output: no route"),
            "{hook}"
        );
        for (point, words) in [("verified", "verified"), ("rolled_back", "rolled back")] {
            let phase_hook = line(&entry(
                "hook",
                &[
                    ("epoch", "9"),
                    ("action", point),
                    ("attempt", "1/1"),
                    ("outcome", "ok"),
                    ("exit", "exit 0"),
                    ("duration_ms", "40"),
                    ("output", ""),
                ],
            ));
            assert!(
                phase_hook.ends_with(&format!(
                    "epoch    9  {words} hook attempt 1/1: ok (exit 0, 40 ms)"
                )),
                "{phase_hook}"
            );
        }
        let gate = line(&entry(
            "gate",
            &[
                ("gate", "integration"),
                ("stage", "before_cutover"),
                ("candidate", "green"),
                ("attempt", "2"),
                ("outcome", "failed"),
                ("exit", "exit 1"),
                ("duration_ms", "840"),
                ("output", "3 tests failed\n"),
            ],
        ));
        assert!(
            gate.ends_with(
                "gate     gate integration (before cutover) attempt 2 on green: failed (exit 1, 840 ms) output: 3 tests failed"
            ),
            "{gate}"
        );
        let gap = line(&entry(
            "gap",
            &[("from", "a"), ("to", "b"), ("what", "lost")],
        ));
        assert!(gap.ends_with("GAP from a to b: lost"), "{gap}");
        let odd = line(&entry("future", &[("x", "1")]));
        assert!(odd.ends_with("future   x=1"), "{odd}");
    }

    #[test]
    fn a_verdict_entry_says_its_transition() {
        let doc = json!({
            "deployment": "escashop", "epoch": 4, "decision": "READY", "phase": "Ready",
            "live": "blue", "candidate": "green", "ready_after_seconds": 30.0,
            "live_healthy": true, "standby_healthy": true, "dry_run": false, "auto_cutover": false,
            "action": "NONE", "paused_reason": "",
            "transitions": [{"from": "Testing", "to": "Ready", "at": null, "cause": "green healthy for 30s", "epoch": 4}],
            "reasons": [], "agents": []
        });
        let words = verdict_words(&doc.to_string(), "READY");
        assert_eq!(
            words,
            "READY, phase Ready, live blue (Testing -> Ready: green healthy for 30s)"
        );
        assert_eq!(verdict_words("not json", "HOLD"), "decision HOLD");
    }
}
