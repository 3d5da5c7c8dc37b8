//! The bodies each kind of HTTP sink is sent: pure functions of events.

use std::time::SystemTime;

use greenlight_proto::time::rfc3339;
use serde_json::{Value, json};

use super::event::{AlertEvent, AlertSeverity, AlertState};

/// The generic webhook: the event, field by field.
pub fn webhook(event: &AlertEvent) -> Value {
    json!({
        "source": "greenlight",
        "event": event.kind.name(),
        "state": event.state.name(),
        "deployment": event.deployment,
        "color": event.color,
        "severity": event.severity.name(),
        "summary": event.summary,
        "details": event.details,
        "key": event.key,
        "epoch": event.epoch,
        "at": rfc3339(event.at),
        "since": rfc3339(event.since),
    })
}

/// A Slack incoming webhook's message: `text` (mrkdwn), one line per reason.
pub fn slack(event: &AlertEvent) -> Value {
    let mark = match (event.state, event.severity) {
        (AlertState::Resolved, _) => ":white_check_mark:",
        (_, AlertSeverity::Critical) => ":rotating_light:",
        (_, AlertSeverity::Warning) => ":warning:",
        (_, AlertSeverity::Info) => ":information_source:",
    };
    let mut text = format!(
        "{mark} *{}* [{} {}]",
        event.summary,
        event.kind.name(),
        event.state.name()
    );
    for line in &event.details {
        text.push_str("\n• ");
        text.push_str(line);
    }
    json!({ "text": text })
}

/// One alert of Alertmanager's v2 API (`POST /api/v2/alerts` takes an
/// array). Its identity is its labels, so the key is one of them: a
/// resolved event (`endsAt` now) ends the alert its firing started.
pub fn alertmanager(event: &AlertEvent, now: SystemTime) -> Value {
    let mut alert = json!({
        "labels": {
            "alertname": format!("greenlight_{}", event.kind.name()),
            "deployment": event.deployment,
            "color": event.color,
            "severity": event.severity.name(),
            "greenlight_event": event.kind.name(),
            "greenlight_key": event.key,
        },
        "annotations": {
            "summary": event.summary,
            "description": event.details.join("\n"),
        },
        "startsAt": rfc3339(event.since),
    });
    if event.state == AlertState::Resolved {
        alert["endsAt"] = json!(rfc3339(now));
    }
    alert
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::alerts::event::EventKind;

    fn hold(state: AlertState) -> AlertEvent {
        let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        AlertEvent {
            kind: EventKind::Hold,
            state,
            deployment: "escashop".into(),
            color: "green".into(),
            severity: AlertSeverity::Warning,
            summary: "escashop: HOLD".into(),
            details: vec!["postgres is shared".into()],
            key: "escashop/hold".into(),
            epoch: 7,
            at,
            since: at,
        }
    }

    #[test]
    fn alertmanager_labels_and_the_end_of_a_resolved_alert() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_060);
        let firing = alertmanager(&hold(AlertState::Firing), now);
        assert_eq!(firing["labels"]["alertname"], "greenlight_hold");
        assert_eq!(firing["labels"]["greenlight_event"], "hold");
        assert_eq!(firing["labels"]["deployment"], "escashop");
        assert_eq!(firing["labels"]["color"], "green");
        assert_eq!(firing["labels"]["severity"], "warning");
        assert_eq!(firing["annotations"]["description"], "postgres is shared");
        assert_eq!(firing["startsAt"], "2027-01-15T08:00:00.000Z");
        assert!(firing.get("endsAt").is_none(), "{firing}");
        let resolved = alertmanager(&hold(AlertState::Resolved), now);
        assert_eq!(resolved["endsAt"], "2027-01-15T08:01:00.000Z");
        assert_eq!(resolved["labels"], firing["labels"], "the same alert");
    }

    #[test]
    fn webhook_and_slack_say_the_event() {
        let body = webhook(&hold(AlertState::Firing));
        assert_eq!(body["event"], "hold");
        assert_eq!(body["state"], "firing");
        assert_eq!(body["details"][0], "postgres is shared");
        let text = slack(&hold(AlertState::Resolved))["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            text.starts_with(":white_check_mark: *escashop: HOLD* [hold resolved]"),
            "{text}"
        );
        assert!(text.contains("\n• postgres is shared"), "{text}");
    }
}
