//! The `[deployments.<name>.traffic_source]` section as written, and its
//! validation into a [`TrafficSource`].

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{TrafficSource, TrafficSourceKind};

/// The section as written in the file (or the environment).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum RawTrafficSource {
    Haproxy {
        socket: String,
        backend: String,
        #[serde(default = "blue")]
        blue_server: String,
        #[serde(default = "green")]
        green_server: String,
        #[serde(default, with = "humantime_serde")]
        poll: Option<Duration>,
    },
    Nginx {
        site: PathBuf,
        blue_config: PathBuf,
        green_config: PathBuf,
        #[serde(default, with = "humantime_serde")]
        poll: Option<Duration>,
    },
}

fn blue() -> String {
    "blue".into()
}

fn green() -> String {
    "green".into()
}

/// How often a load balancer is read when the config does not say.
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);

impl RawTrafficSource {
    /// Checks the section; an error names the key (relative to the
    /// section) and says what is wrong.
    pub fn validate(self) -> Result<TrafficSource, (&'static str, String)> {
        let (kind, poll) = match self {
            RawTrafficSource::Haproxy {
                socket,
                backend,
                blue_server,
                green_server,
                poll,
            } => {
                for (key, value) in [
                    ("socket", &socket),
                    ("backend", &backend),
                    ("blue_server", &blue_server),
                    ("green_server", &green_server),
                ] {
                    if value.trim().is_empty() {
                        return Err((key, "must not be empty".into()));
                    }
                }
                if blue_server == green_server {
                    return Err((
                        "green_server",
                        format!("is {green_server:?}, the same as blue_server"),
                    ));
                }
                let kind = TrafficSourceKind::Haproxy {
                    socket,
                    backend,
                    blue_server,
                    green_server,
                };
                (kind, poll)
            }
            RawTrafficSource::Nginx {
                site,
                blue_config,
                green_config,
                poll,
            } => {
                if blue_config == green_config {
                    return Err((
                        "green_config",
                        format!("is {}, the same as blue_config", green_config.display()),
                    ));
                }
                let kind = TrafficSourceKind::Nginx {
                    site,
                    blue_config,
                    green_config,
                };
                (kind, poll)
            }
        };
        let poll = poll.unwrap_or(DEFAULT_POLL);
        if poll < Duration::from_millis(100) {
            return Err(("poll", format!("{poll:?} is too often; at least 100ms")));
        }
        Ok(TrafficSource { kind, poll })
    }
}
