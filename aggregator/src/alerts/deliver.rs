//! The sinks' I/O: one attempt to deliver, over HTTP or SMTP.

use std::time::{Duration, SystemTime};

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::email::{EmailContext, render};
use super::event::AlertEvent;
use super::payload;
use super::settings::{SinkTarget, SmtpSettings, shown_url};

pub enum Deliverer {
    Http {
        client: reqwest::Client,
        url: String,
        format: HttpFormat,
    },
    Email {
        /// Boxed: far larger than the HTTP client.
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
        to: Vec<Mailbox>,
        context: EmailContext,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HttpFormat {
    Webhook,
    Slack,
    Alertmanager,
}

impl Deliverer {
    pub fn new(
        target: &SinkTarget,
        timeout: Duration,
        context: &EmailContext,
    ) -> anyhow::Result<Deliverer> {
        let http = |url: &String, format| -> anyhow::Result<Deliverer> {
            let client = reqwest::Client::builder()
                .timeout(timeout)
                .user_agent(concat!("greenlight-aggregator/", env!("CARGO_PKG_VERSION")))
                .build()?;
            Ok(Deliverer::Http {
                client,
                url: url.clone(),
                format,
            })
        };
        match target {
            SinkTarget::Webhook { url } => http(url, HttpFormat::Webhook),
            SinkTarget::Slack { url } => http(url, HttpFormat::Slack),
            SinkTarget::Alertmanager { url } => http(
                &format!("{}/api/v2/alerts", url.trim_end_matches('/')),
                HttpFormat::Alertmanager,
            ),
            SinkTarget::Email(smtp) => email(smtp, timeout, context),
        }
    }

    /// One attempt; the error says why, for the log.
    pub async fn deliver(&self, events: &[&AlertEvent], now: SystemTime) -> Result<(), String> {
        match self {
            Deliverer::Http {
                client,
                url,
                format,
            } => {
                // Logged without the URL's path (a Slack webhook's secret).
                let shown = shown_url(url);
                for body in http_bodies(*format, events, now) {
                    let answer = client
                        .post(url)
                        .json(&body)
                        .send()
                        .await
                        .map_err(|error| format!("POST {shown}: {}", error.without_url()))?;
                    let status = answer.status();
                    if !status.is_success() {
                        let text = answer.text().await.unwrap_or_default();
                        let text: String = text.trim().chars().take(200).collect();
                        return Err(format!("POST {shown}: {status} {text}"));
                    }
                }
                Ok(())
            }
            Deliverer::Email {
                transport,
                from,
                to,
                context,
            } => {
                for event in events {
                    let text = render(event, context);
                    let mut message = Message::builder()
                        .from(from.clone())
                        .subject(text.subject)
                        .header(ContentType::TEXT_PLAIN);
                    for mailbox in to {
                        message = message.to(mailbox.clone());
                    }
                    let message = message
                        .body(text.body)
                        .map_err(|error| format!("building the email: {error}"))?;
                    transport
                        .send(message)
                        .await
                        .map_err(|error| format!("SMTP: {error}"))?;
                }
                Ok(())
            }
        }
    }
}

/// Alertmanager takes all the events in one array; the others one each.
fn http_bodies(
    format: HttpFormat,
    events: &[&AlertEvent],
    now: SystemTime,
) -> Vec<serde_json::Value> {
    match format {
        HttpFormat::Alertmanager => vec![serde_json::Value::Array(
            events
                .iter()
                .map(|e| payload::alertmanager(e, now))
                .collect(),
        )],
        HttpFormat::Webhook => events.iter().map(|e| payload::webhook(e)).collect(),
        HttpFormat::Slack => events.iter().map(|e| payload::slack(e)).collect(),
    }
}

fn email(
    smtp: &SmtpSettings,
    timeout: Duration,
    context: &EmailContext,
) -> anyhow::Result<Deliverer> {
    let mut builder =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host).port(smtp.port);
    if smtp.starttls {
        let mut tls = TlsParameters::builder(smtp.host.clone());
        if let Some(pem) = &smtp.ca_pem {
            tls = tls.add_root_certificate(Certificate::from_pem(pem)?);
        }
        builder = builder.tls(Tls::Required(tls.build_rustls()?));
    }
    if let (Some(username), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
    }
    let transport = builder.timeout(Some(timeout)).build();
    Ok(Deliverer::Email {
        transport: Box::new(transport),
        from: smtp.from.parse()?,
        to: smtp
            .to
            .iter()
            .map(|address| address.parse())
            .collect::<Result<_, _>>()?,
        context: context.clone(),
    })
}
