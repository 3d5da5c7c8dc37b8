//! What was wrong with the configuration, said so a person can fix it:
//! where the value came from, which key, and why it was refused.

use std::fmt;

/// A configuration that cannot be used. Displays as
/// `agent.toml: key "checks.postgres.url": relative URL without a base`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigError {
    /// Where the offending value came from: a file path, an environment
    /// variable, a flag. `None` for settings built in code or defaults.
    pub origin: Option<String>,
    /// The dotted key, e.g. `checks.traffic.window`; `None` when the problem
    /// is not one key's (a file that does not parse).
    pub key: Option<String>,
    /// Why the value was refused.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn key(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            origin: None,
            key: Some(key.into()),
            reason: reason.into(),
        }
    }

    pub(crate) fn whole(reason: impl Into<String>) -> Self {
        ConfigError {
            origin: None,
            key: None,
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
            write!(f, "{origin}: ")?;
        }
        if let Some(key) = &self.key {
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
    }
}
