//! The validated `[alerts]` settings (config/alerts.rs makes them).

use std::fmt;
use std::time::Duration;

use greenlight_retry::{RetryPolicy, RetryPolicyError};
use humantime_serde::re::humantime::format_duration;

use super::email::EmailContext;
use super::route::Route;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertSettings {
    /// For the email template (`contact`, `rollback_eta`).
    pub email: Option<EmailContext>,
    pub sinks: Vec<SinkSettings>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SinkSettings {
    pub name: String,
    pub target: SinkTarget,
    pub route: Route,
    /// Events waiting for this sink, at most; more are dropped and counted.
    pub queue: usize,
    /// Attempts after the first for one event.
    pub retries: u32,
    /// The first delay between attempts; doubles after each.
    pub backoff: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// The same key in the same state is not sent again within this.
    pub dedup_window: Duration,
    /// Alertmanager only: firing alerts are posted again this often, so
    /// that Alertmanager does not expire them (its `resolve_timeout`).
    pub repost: Duration,
}

impl AlertSettings {
    /// For `--check-config`: one line per sink (or that there is none).
    pub fn describe(&self) -> Vec<String> {
        if self.sinks.is_empty() {
            return vec!["alerts: no sinks (alerts are logged and written to Redis only)".into()];
        }
        self.sinks
            .iter()
            .map(|sink| {
                let target = match &sink.target {
                    SinkTarget::Webhook { url }
                    | SinkTarget::Slack { url }
                    | SinkTarget::Alertmanager { url } => shown_url(url),
                    SinkTarget::Email(smtp) => format!(
                        "smtp {}:{}{}{} to {}",
                        smtp.host,
                        smtp.port,
                        if smtp.starttls { " STARTTLS" } else { " in the clear" },
                        if smtp.username.is_some() { " with AUTH" } else { "" },
                        smtp.to.join(", ")
                    ),
                };
                let words = |names: Option<Vec<String>>| names.map_or("all".to_string(), |n| n.join(", "));
                format!(
                    "alert sink {} ({} {target}): events {}, deployments {}, queue {}, {} retries from {}, timeout {}, repeats held back for {}",
                    sink.name,
                    sink.target.kind(),
                    words(sink.route.events.as_ref().map(|k| k.iter().map(|k| k.name().to_string()).collect())),
                    words(sink.route.deployments.as_ref().map(|d| d.iter().cloned().collect())),
                    sink.queue,
                    sink.retries,
                    format_duration(sink.backoff),
                    format_duration(sink.timeout),
                    format_duration(sink.dedup_window),
                )
            })
            .collect()
    }
}

/// A sink URL without its path, query or credentials: a Slack webhook's
/// path is its secret, and a URL may carry a password.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => format!(
            "{}://{}{}/…",
            parsed.scheme(),
            parsed.host_str().unwrap_or(""),
            parsed.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "(not a URL)".into(),
    }
}

impl SinkSettings {
    pub fn retry_policy(&self) -> Result<RetryPolicy, RetryPolicyError> {
        let max = self.backoff.saturating_mul(1 << self.retries.min(10));
        RetryPolicy::doubling(self.backoff, max)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SinkTarget {
    Webhook { url: String },
    Slack { url: String },
    Alertmanager { url: String },
    Email(SmtpSettings),
}

impl SinkTarget {
    pub fn kind(&self) -> &'static str {
        match self {
            SinkTarget::Webhook { .. } => "webhook",
            SinkTarget::Slack { .. } => "slack",
            SinkTarget::Alertmanager { .. } => "alertmanager",
            SinkTarget::Email(_) => "email",
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_shown_url_keeps_no_secret() {
        assert_eq!(
            super::shown_url("https://user:pw@hooks.slack.com/services/T0/B0/secret?x=1"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            super::shown_url("http://127.0.0.1:9093"),
            "http://127.0.0.1:9093/…"
        );
    }
}

#[derive(Clone, PartialEq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub starttls: bool,
    /// With `password`: AUTH (PLAIN or LOGIN, as the server offers).
    pub username: Option<String>,
    /// Read from `password_file` when the config is loaded.
    pub password: Option<String>,
    /// PEM roots to trust for STARTTLS instead of the system's.
    pub ca_pem: Option<Vec<u8>>,
    pub from: String,
    pub to: Vec<String>,
}

/// Without the password.
impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("starttls", &self.starttls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca_pem", &self.ca_pem.is_some())
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}
