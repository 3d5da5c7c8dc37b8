//! `[alerts]` and its `[[alerts.sink]]` entries: where alerts go (a JSON
//! webhook, Slack, Alertmanager, email), which events and deployments each
//! wants, and how hard each tries. Files (`password_file`, `ca`) are read
//! here, once, so a bad one is an error naming its key.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::alerts::{
    AlertSettings, EmailContext, EventKind, Route, SinkSettings, SinkTarget, SmtpSettings,
};

/// The section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    /// Who to call, in the rollback email (the guide's `[EMERGENCY_CONTACT]`).
    contact: Option<String>,
    #[serde(default = "default_eta")]
    rollback_eta: String,
    #[serde(default)]
    sink: Vec<RawSink>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSink {
    name: String,
    kind: String,
    url: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    #[serde(default = "yes")]
    starttls: bool,
    username: Option<String>,
    password_file: Option<PathBuf>,
    /// PEM roots for STARTTLS instead of the system's.
    ca: Option<PathBuf>,
    from: Option<String>,
    #[serde(default)]
    to: Vec<String>,
    events: Option<Vec<String>>,
    deployments: Option<Vec<String>>,
    #[serde(default = "default_queue")]
    queue: usize,
    #[serde(default = "default_retries")]
    retries: u32,
    #[serde(default = "default_backoff", with = "humantime_serde")]
    backoff: Duration,
    #[serde(default = "default_timeout", with = "humantime_serde")]
    timeout: Duration,
    #[serde(default = "default_dedup_window", with = "humantime_serde")]
    dedup_window: Duration,
    #[serde(default = "default_repost", with = "humantime_serde")]
    repost: Duration,
}

fn default_eta() -> String {
    "2-3 minutes".into()
}
fn yes() -> bool {
    true
}
fn default_queue() -> usize {
    256
}
fn default_retries() -> u32 {
    3
}
fn default_backoff() -> Duration {
    Duration::from_secs(1)
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_dedup_window() -> Duration {
    Duration::from_secs(600)
}
fn default_repost() -> Duration {
    Duration::from_secs(60)
}

impl RawAlerts {
    pub(super) fn validate(self) -> Result<AlertSettings, ConfigError> {
        let mut names = BTreeSet::new();
        let mut sinks = Vec::new();
        for (index, raw) in self.sink.into_iter().enumerate() {
            let key = format!("alerts.sink[{index}]");
            if raw.name.trim().is_empty() {
                return Err(ConfigError::key(format!("{key}.name"), "must not be empty"));
            }
            if !names.insert(raw.name.clone()) {
                return Err(ConfigError::key(
                    format!("{key}.name"),
                    format!(
                        "{:?} names another sink too; names must differ (they label the counters)",
                        raw.name
                    ),
                ));
            }
            let sink = raw.validate(&key)?;
            if matches!(sink.target, SinkTarget::Email(_)) && self.contact.is_none() {
                return Err(ConfigError::key(
                    "alerts.contact",
                    "required with an email sink: the rollback email says whom to contact",
                ));
            }
            sinks.push(sink);
        }
        let email = self.contact.map(|contact| EmailContext {
            contact,
            rollback_eta: self.rollback_eta,
        });
        Ok(AlertSettings { email, sinks })
    }
}

impl RawSink {
    fn validate(self, key: &str) -> Result<SinkSettings, ConfigError> {
        let field = |name: &str| format!("{key}.{name}");
        let url = |url: Option<String>| -> Result<String, ConfigError> {
            let url = url.ok_or_else(|| {
                ConfigError::key(field("url"), format!("required for a {} sink", self.kind))
            })?;
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || reqwest::Url::parse(&url).is_err()
            {
                return Err(ConfigError::key(
                    field("url"),
                    format!("{url:?} is not an http:// or https:// URL"),
                ));
            }
            Ok(url)
        };
        let target = match self.kind.as_str() {
            "webhook" => SinkTarget::Webhook {
                url: url(self.url.clone())?,
            },
            "slack" => SinkTarget::Slack {
                url: url(self.url.clone())?,
            },
            "alertmanager" => SinkTarget::Alertmanager {
                url: url(self.url.clone())?,
            },
            "email" => SinkTarget::Email(self.smtp(key)?),
            other => {
                return Err(ConfigError::key(
                    field("kind"),
                    format!(
                        "{other:?} is not a sink kind; known: webhook, slack, alertmanager, email"
                    ),
                ));
            }
        };
        let events = match self.events {
            None => None,
            Some(words) if words.is_empty() => {
                return Err(ConfigError::key(
                    field("events"),
                    "an empty list sends nothing; leave it out for every event",
                ));
            }
            Some(words) => {
                let mut kinds = BTreeSet::new();
                for word in &words {
                    let kind = EventKind::parse(word).ok_or_else(|| {
                        let known: Vec<_> = EventKind::ALL.iter().map(|k| k.name()).collect();
                        ConfigError::key(
                            field("events"),
                            format!("unknown event {word:?}; known: {}", known.join(", ")),
                        )
                    })?;
                    kinds.insert(kind);
                }
                Some(kinds)
            }
        };
        if self.deployments.as_ref().is_some_and(Vec::is_empty) {
            return Err(ConfigError::key(
                field("deployments"),
                "an empty list sends nothing; leave it out for every deployment",
            ));
        }
        let deployments = self.deployments.map(|names| names.into_iter().collect());
        if self.queue == 0 || self.queue > 100_000 {
            return Err(ConfigError::key(
                field("queue"),
                "must be between 1 and 100000",
            ));
        }
        if self.retries > 20 {
            return Err(ConfigError::key(
                field("retries"),
                format!("{} is too many; at most 20", self.retries),
            ));
        }
        for (name, value) in [("timeout", self.timeout), ("repost", self.repost)] {
            if value.is_zero() {
                return Err(ConfigError::key(field(name), "must be more than 0s"));
            }
        }
        let settings = SinkSettings {
            name: self.name,
            target,
            route: Route {
                events,
                deployments,
            },
            queue: self.queue,
            retries: self.retries,
            backoff: self.backoff,
            timeout: self.timeout,
            dedup_window: self.dedup_window,
            repost: self.repost,
        };
        settings
            .retry_policy()
            .map_err(|error| ConfigError::key(field("backoff"), error.to_string()))?;
        Ok(settings)
    }

    fn smtp(&self, key: &str) -> Result<SmtpSettings, ConfigError> {
        let field = |name: &str| format!("{key}.{name}");
        let required = |value: &Option<String>, name: &str| {
            value
                .clone()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| ConfigError::key(field(name), "required for an email sink"))
        };
        let host = required(&self.host, "host")?;
        let from = required(&self.from, "from")?;
        check_address(&from).map_err(|why| ConfigError::key(field("from"), why))?;
        if self.to.is_empty() {
            return Err(ConfigError::key(
                field("to"),
                "required for an email sink: at least one address",
            ));
        }
        for address in &self.to {
            check_address(address).map_err(|why| ConfigError::key(field("to"), why))?;
        }
        let password = match &self.password_file {
            None => None,
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|error| {
                        ConfigError::key(
                            field("password_file"),
                            format!("cannot read {}: {error}", path.display()),
                        )
                    })?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
        };
        if self.username.is_some() != password.is_some() {
            return Err(ConfigError::key(
                field("username"),
                "username and password_file go together (AUTH needs both)",
            ));
        }
        if password.is_some() && !self.starttls {
            return Err(ConfigError::key(
                field("starttls"),
                "false with a password: the password would cross the network in the clear",
            ));
        }
        let ca_pem = match &self.ca {
            None => None,
            Some(path) => Some(std::fs::read(path).map_err(|error| {
                ConfigError::key(
                    field("ca"),
                    format!("cannot read {}: {error}", path.display()),
                )
            })?),
        };
        Ok(SmtpSettings {
            host,
            port: self.port.unwrap_or(if self.starttls { 587 } else { 25 }),
            starttls: self.starttls,
            username: self.username.clone(),
            password,
            ca_pem,
            from,
            to: self.to.clone(),
        })
    }
}

/// An address lettre will take (`oncall@example.com` or `Name <a@b>`).
fn check_address(address: &str) -> Result<(), String> {
    address
        .parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|error| format!("{address:?} is not an email address: {error}"))
}

#[cfg(test)]
mod tests {
    use crate::AggregatorConfig;
    use crate::alerts::{EventKind, SinkTarget};

    fn refused(text: &str) -> String {
        AggregatorConfig::from_toml(text).unwrap_err().to_string()
    }

    #[test]
    fn sinks_with_their_routes_and_defaults() {
        let config = AggregatorConfig::from_toml(
            r#"
[alerts]
contact = "oncall@example.com"
[[alerts.sink]]
name = "am"
kind = "alertmanager"
url = "http://127.0.0.1:9093"
[[alerts.sink]]
name = "pager"
kind = "webhook"
url = "https://hooks.example.com/x"
events = ["rollback", "hold"]
deployments = ["escashop"]
queue = 8
"#,
        )
        .unwrap();
        let [am, pager] = &config.alerts.sinks[..] else {
            panic!("two sinks: {:?}", config.alerts.sinks)
        };
        assert!(matches!(am.target, SinkTarget::Alertmanager { .. }));
        assert_eq!((am.queue, am.retries), (256, 3));
        assert!(am.route.events.is_none() && am.route.deployments.is_none());
        assert_eq!(pager.queue, 8);
        assert_eq!(
            pager.route.events,
            Some([EventKind::Rollback, EventKind::Hold].into())
        );
        let email = config.alerts.email.unwrap();
        assert_eq!(email.rollback_eta, "2-3 minutes");
    }

    #[test]
    fn mistakes_are_named() {
        let sink = |body: &str| format!("[[alerts.sink]]\nname = \"s\"\n{body}\n");
        assert!(
            refused(&sink("kind = \"pager\"\nurl = \"http://x\"")).contains("alerts.sink[0].kind")
        );
        assert!(refused(&sink("kind = \"webhook\"")).contains("alerts.sink[0].url"));
        assert!(refused(&sink("kind = \"slack\"\nurl = \"ftp://x\"")).contains("not an http"));
        let unknown = refused(&sink(
            "kind = \"webhook\"\nurl = \"http://x\"\nevents = [\"rolback\"]",
        ));
        assert!(unknown.contains("unknown event \"rolback\""), "{unknown}");
        let empty = refused(&sink("kind = \"webhook\"\nurl = \"http://x\"\nevents = []"));
        assert!(empty.contains("sends nothing"), "{empty}");
        assert!(
            refused(&sink("kind = \"webhook\"\nurl = \"http://x\"\nqueue = 0")).contains("queue")
        );
        let twice = format!(
            "{}{}",
            sink("kind = \"webhook\"\nurl = \"http://x\""),
            sink("kind = \"slack\"\nurl = \"http://y\"")
        );
        assert!(refused(&twice).contains("names another sink"));
        let email = sink(
            "kind = \"email\"\nhost = \"smtp\"\nfrom = \"gl@example.com\"\nto = [\"a@example.com\"]",
        );
        assert!(
            refused(&email).contains("alerts.contact"),
            "the template needs a contact"
        );
        let no_to = format!(
            "[alerts]\ncontact = \"x\"\n{}",
            sink("kind = \"email\"\nhost = \"smtp\"\nfrom = \"gl@example.com\"")
        );
        assert!(refused(&no_to).contains("alerts.sink[0].to"));
        let bad_from = format!(
            "[alerts]\ncontact = \"x\"\n{}",
            sink("kind = \"email\"\nhost = \"smtp\"\nfrom = \"nobody\"\nto = [\"a@example.com\"]")
        );
        assert!(refused(&bad_from).contains("not an email address"));
    }
}
