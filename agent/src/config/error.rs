//! What was wrong with the configuration, said so a person can fix it:
//! where the value came from, which key, and why it was refused.

use std::fmt;

use greenlight_config_words::Position;

/// A configuration that cannot be used. Displays as
/// `agent.toml line 9, column 1: key "checks.postgres.url": relative URL
/// without a base`; a flag is named alone, as the source of its value
/// (`--color: must be "blue" or "green", not "teal"`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigError {
    /// Where the offending value came from: a file path, an environment
    /// variable, a flag (with its dashes: `--color`). `None` for settings
    /// built in code or defaults.
    pub origin: Option<String>,
    /// The dotted key, e.g. `checks.traffic.window`; `None` when the problem
    /// is not one key's (a file that does not parse).
    pub key: Option<String>,
    /// Where in the file, when the file is the origin and the place is known.
    pub position: Option<Position>,
    /// Why the value was refused.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn key(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            origin: None,
            key: Some(key.into()),
            position: None,
            reason: reason.into(),
        }
    }

    pub(crate) fn whole(reason: impl Into<String>) -> Self {
        ConfigError {
            origin: None,
            key: None,
            position: None,
            reason: reason.into(),
        }
    }

    pub(crate) fn with_origin(mut self, origin: Option<String>) -> Self {
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
            if let Some(position) = self.position {
                write!(f, " {position}")?;
            }
            f.write_str(": ")?;
        }
        // A flag sets one key; naming the key too would blame the file's.
        let from_flag = self
            .origin
            .as_deref()
            .is_some_and(|origin| origin.starts_with("--"));
        if let Some(key) = self.key.as_ref().filter(|_| !from_flag) {
            write!(f, "key \"{key}\": ")?;
        }
        f.write_str(&self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_origin_key_and_reason() {
        let error = ConfigError::key("checks.postgres.url", "relative URL without a base")
            .with_origin(Some("agent.toml".into()));
        assert_eq!(
            error.to_string(),
            "agent.toml: key \"checks.postgres.url\": relative URL without a base"
        );
        assert_eq!(
            ConfigError::whole("no check is enabled").to_string(),
            "no check is enabled"
        );
        let error = ConfigError::key("color", "must be \"blue\" or \"green\", not \"teal\"")
            .with_origin(Some("--color".into()));
        assert_eq!(
            error.to_string(),
            "--color: must be \"blue\" or \"green\", not \"teal\""
        );
        let error = ConfigError {
            position: Some(Position { line: 3, column: 1 }),
            ..ConfigError::key("intervall", "unknown key").with_origin(Some("agent.toml".into()))
        };
        assert_eq!(
            error.to_string(),
            "agent.toml line 3, column 1: key \"intervall\": unknown key"
        );
    }
}
