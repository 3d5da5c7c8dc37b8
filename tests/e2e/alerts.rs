//! Issue 11, alerts: events reach a real Alertmanager (and are resolved
//! there when the condition clears), an in-test webhook and Slack
//! receiver, and an SMTP server (aiosmtpd, STARTTLS and AUTH) with the
//! guide's emergency template; a sink that never answers delays no rollback.

mod alertmanager;
mod dead_sink;
mod email;
pub mod receiver;
mod story;
mod webhook_slack;
