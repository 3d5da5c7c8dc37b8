//! What was wrong with the configuration, said so a person can fix it:
//! where the bad value came from (the file, the environment variable, the
//! flag), which key, and why it was refused.

use std::fmt;
use std::path::PathBuf;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The TOML file, as its path was given.
    File(PathBuf),
    /// An environment variable, by its full name
    /// (`GREENLIGHT_AGGREGATOR_REDIS__URL`).
    Env(String),
    /// A command-line flag, with its dashes (`--redis-url`).
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Env(variable) => write!(f, "environment variable {variable}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A configuration that cannot be used. Displays as
/// `aggregator.toml: key "defaults.ready_after": expected a duration`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigError {
    /// Where the bad value came from; `None` when no one source holds it
    /// (settings built in code).
    pub origin: Option<Origin>,
    /// The dotted key, e.g. `deployments.escashop.live`; `None` when the
    /// problem is not one key's (a file that is missing or does not parse).
    pub key: Option<String>,
    /// Why the value was refused, and what would do.
    pub reason: String,
}

impl ConfigError {
    /// `key` was refused; where it came from is filled in by the loader.
    pub(crate) fn key(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            origin: None,
            key: Some(key.into()),
            reason: reason.into(),
        }
    }

    pub(crate) fn with_origin(mut self, origin: Option<Origin>) -> Self {
        if self.origin.is_none() {
            self.origin = origin;
        }
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(origin) = &self.origin {
            write!(f, "{origin}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "key {key:?}: ")?;
        }
        f.write_str(&self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_origin_key_and_reason() {
        let error = ConfigError::key("redis.url", "must start with redis://")
            .with_origin(Some(Origin::Env("GREENLIGHT_AGGREGATOR_REDIS__URL".into())));
        assert_eq!(
            error.to_string(),
            "environment variable GREENLIGHT_AGGREGATOR_REDIS__URL: key \"redis.url\": \
             must start with redis://"
        );
        let error = ConfigError::key("listen", "not an address")
            .with_origin(Some(Origin::Flag("--listen".into())));
        assert_eq!(
            error.to_string(),
            "flag --listen: key \"listen\": not an address"
        );
        let error = ConfigError {
            origin: Some(Origin::File("agg.toml".into())),
            key: None,
            reason: "no such file".into(),
        };
        assert_eq!(error.to_string(), "agg.toml: no such file");
    }
}
