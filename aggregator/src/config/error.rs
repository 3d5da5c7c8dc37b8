//! What was wrong with the configuration, said so a person can fix it:
//! where the bad value came from (the file, the environment variable, the
//! flag), which key, and why it was refused.

use std::fmt;
use std::path::PathBuf;

use greenlight_config_words::Position;

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
            Origin::Flag(flag) => f.write_str(flag),
        }
    }
}

/// A configuration that cannot be used. Displays as
/// `aggregator.toml line 3, column 1: key "defaults.ready_after": expected a
/// duration`; a flag is named alone, as the source of its value
/// (`--listen: "nowhere" is not an address like 127.0.0.1:7070`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigError {
    /// Where the bad value came from; `None` when no one source holds it
    /// (settings built in code).
    pub origin: Option<Origin>,
    /// The dotted key, e.g. `deployments.escashop.live`; `None` when the
    /// problem is not one key's (a file that is missing or does not parse).
    pub key: Option<String>,
    /// Where in the file, when the file is the origin and the place is known.
    pub position: Option<Position>,
    /// Why the value was refused, and what would do.
    pub reason: String,
}

impl ConfigError {
    /// `key` was refused; where it came from is filled in by the loader.
    pub(crate) fn key(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            origin: None,
            key: Some(key.into()),
            position: None,
            reason: reason.into(),
        }
    }

    /// The file at `path` cannot be used as a whole (missing, unreadable,
    /// not TOML).
    pub(crate) fn file(path: &std::path::Path, reason: impl Into<String>) -> Self {
        ConfigError {
            origin: Some(Origin::File(path.to_path_buf())),
            key: None,
            position: None,
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
            write!(f, "{origin}")?;
            if let Some(Position { line, column }) = self.position {
                write!(f, " line {line}, column {column}")?;
            }
            f.write_str(": ")?;
        }
        // A flag sets one key; naming the key too would blame the file's.
        let from_flag = matches!(self.origin, Some(Origin::Flag(_)));
        if let Some(key) = self.key.as_ref().filter(|_| !from_flag) {
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
        let error = ConfigError::key("listen", "\"nowhere\" is not an address")
            .with_origin(Some(Origin::Flag("--listen".into())));
        assert_eq!(error.to_string(), "--listen: \"nowhere\" is not an address");
        let error = ConfigError::file("agg.toml".as_ref(), "does not exist");
        assert_eq!(error.to_string(), "agg.toml: does not exist");
        let error = ConfigError {
            position: Some(Position { line: 3, column: 1 }),
            ..ConfigError::key("defaults.lisen", "unknown key")
                .with_origin(Some(Origin::File("agg.toml".into())))
        };
        assert_eq!(
            error.to_string(),
            "agg.toml line 3, column 1: key \"defaults.lisen\": unknown key"
        );
    }
}
