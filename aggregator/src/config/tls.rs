//! `[tls]`: TLS on the gRPC port. `cert` and `key` are the server's;
//! `client_ca`, when set, makes clients (agents, the CLI) present a
//! certificate that chains to it: mutual TLS. The files are read here,
//! once, so a bad one is a configuration error naming its key; later they
//! are reloaded on SIGHUP or when they change (`poll`), keeping the old
//! certificates when the new files are bad.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::tls::{ClientAuth, Loaded, TlsFiles};

/// The section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
    client_auth: Option<ClientAuth>,
    #[serde(default, with = "humantime_serde")]
    poll: Option<Duration>,
}

/// How often the files are looked at when `poll` is not given.
const DEFAULT_POLL: Duration = Duration::from_secs(10);

/// Validated: the files were read and make a usable server config.
#[derive(Clone)]
pub struct TlsSettings {
    pub files: TlsFiles,
    /// How often the files are read to notice a change.
    pub poll: Duration,
    /// What was read when the config was checked: the server starts with
    /// exactly that.
    pub loaded: Loaded,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("files", &self.files)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

impl RawTls {
    pub(super) fn validate(self) -> Result<TlsSettings, ConfigError> {
        let required = |path: Option<PathBuf>, key: &str, what: &str| {
            path.ok_or_else(|| {
                ConfigError::key(
                    format!("tls.{key}"),
                    format!("required with [tls]: the path of {what} (PEM)"),
                )
            })
        };
        let cert = required(self.cert, "cert", "the server's certificate chain")?;
        let key = required(self.key, "key", "the server's private key")?;
        if self.client_auth.is_some() && self.client_ca.is_none() {
            return Err(ConfigError::key(
                "tls.client_auth",
                "needs tls.client_ca: the CA that client certificates must chain to",
            ));
        }
        let poll = match self.poll {
            Some(poll) if poll < Duration::from_millis(100) => {
                return Err(ConfigError::key(
                    "tls.poll",
                    "must be at least 100ms (the default is 10s; SIGHUP reloads at once)",
                ));
            }
            Some(poll) => poll,
            None => DEFAULT_POLL,
        };
        let files = TlsFiles {
            cert,
            key,
            client_ca: self.client_ca,
            client_auth: self.client_auth.unwrap_or(ClientAuth::Required),
        };
        let loaded = files
            .load()
            .map_err(|error| ConfigError::key(format!("tls.{}", error.key), error.to_string()))?;
        Ok(TlsSettings {
            files,
            poll,
            loaded,
        })
    }
}

impl TlsSettings {
    /// In words, for `--check-config`.
    pub fn describe(&self) -> String {
        let clients = match (&self.files.client_ca, self.files.client_auth) {
            (None, _) => "clients are not asked for a certificate".to_string(),
            (Some(ca), ClientAuth::Required) => {
                format!("client certificates required, chaining to {}", ca.display())
            }
            (Some(ca), ClientAuth::Optional) => format!(
                "client certificates optional; if sent, chaining to {}",
                ca.display()
            ),
        };
        format!(
            "{} ({}); {clients}; files looked at every {} and on SIGHUP",
            self.files.cert.display(),
            self.loaded.shown,
            super::summary::shown(self.poll)
        )
    }
}
