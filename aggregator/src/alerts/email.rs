//! The email's subject and text. A rollback follows the guide's emergency
//! template ("Emergency Communication"): time, reason, status, ETA, contact.

use greenlight_proto::time::rfc3339;

use super::event::{AlertEvent, EventKind};

/// What the template needs beyond the event (`[alerts]`).
#[derive(Debug, Clone, PartialEq)]
pub struct EmailContext {
    pub contact: String,
    pub rollback_eta: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmailText {
    pub subject: String,
    pub body: String,
}

pub fn render(event: &AlertEvent, context: &EmailContext) -> EmailText {
    if event.kind == EventKind::Rollback {
        let reason = event
            .details
            .first()
            .cloned()
            .unwrap_or_else(|| event.summary.clone());
        let subject = format!(
            "🚨 EMERGENCY: {} deployment rollback initiated",
            event.deployment
        );
        let mut body = format!(
            "{subject}\nTime: {}\nReason: {reason}\nStatus: Rolling back to {}\nETA: {}\nContact: {}\n",
            rfc3339(event.at),
            event.color,
            context.rollback_eta,
            context.contact
        );
        push_details(&mut body, &event.details);
        return EmailText { subject, body };
    }
    let subject = format!(
        "[greenlight {} {}] {}",
        event.severity.name(),
        event.state.name(),
        event.summary
    );
    let mut body = format!(
        "{}\nEvent: {} ({})\nTime: {}\nDeployment: {}\nColor: {}\nContact: {}\n",
        event.summary,
        event.kind.name(),
        event.state.name(),
        rfc3339(event.at),
        event.deployment,
        event.color,
        context.contact
    );
    push_details(&mut body, &event.details);
    EmailText { subject, body }
}

fn push_details(body: &mut String, details: &[String]) {
    if details.is_empty() {
        return;
    }
    body.push_str("\nDetails:\n");
    for line in details {
        body.push_str("- ");
        body.push_str(line);
        body.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::alerts::event::{AlertSeverity, AlertState};

    #[test]
    fn a_rollback_fills_in_the_emergency_template() {
        let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let event = AlertEvent {
            kind: EventKind::Rollback,
            state: AlertState::Firing,
            deployment: "escashop".into(),
            color: "blue".into(),
            severity: AlertSeverity::Critical,
            summary: "escashop: ROLLBACK, traffic goes back to blue".into(),
            details: vec!["error_ratio 0.30 > 0.05".into()],
            key: "escashop/rollback/9".into(),
            epoch: 9,
            at,
            since: at,
        };
        let context = EmailContext {
            contact: "oncall@escashop.example".into(),
            rollback_eta: "2-3 minutes".into(),
        };
        let text = render(&event, &context);
        assert_eq!(
            text.subject,
            "🚨 EMERGENCY: escashop deployment rollback initiated"
        );
        let expected = "🚨 EMERGENCY: escashop deployment rollback initiated\n\
             Time: 2027-01-15T08:00:00.000Z\n\
             Reason: error_ratio 0.30 > 0.05\n\
             Status: Rolling back to blue\n\
             ETA: 2-3 minutes\n\
             Contact: oncall@escashop.example\n";
        assert!(text.body.starts_with(expected), "{}", text.body);
    }
}
