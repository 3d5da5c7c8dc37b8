//! The validated `[alerts]` settings (config/alerts.rs makes them).

use std::fmt;
use std::time::Duration;

use greenlight_retry::{RetryPolicy, RetryPolicyError};

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
