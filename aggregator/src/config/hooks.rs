//! `[hooks.cutover]` and `[hooks.rollback]`: the commands run when a
//! cutover or a rollback is decided, checked before anything runs (an argv
//! with a program, known placeholders only, a timeout, sane retries).

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::hooks::{HookCommand, HookSettings, PLACEHOLDERS};

/// The `[hooks]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHooks {
    cutover: Option<RawHook>,
    rollback: Option<RawHook>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHook {
    /// argv: the program, then its arguments; placeholders allowed.
    command: Vec<String>,
    #[serde(default = "default_hook_timeout", with = "humantime_serde")]
    timeout: Duration,
    #[serde(default = "default_hook_retries")]
    retries: u32,
    #[serde(default = "default_hook_backoff", with = "humantime_serde")]
    backoff: Duration,
}

fn default_hook_timeout() -> Duration {
    Duration::from_secs(60)
}

fn default_hook_retries() -> u32 {
    2
}

fn default_hook_backoff() -> Duration {
    Duration::from_secs(1)
}

impl RawHooks {
    pub(super) fn validate(self) -> Result<HookSettings, ConfigError> {
        Ok(HookSettings {
            cutover: self
                .cutover
                .map(|hook| hook.validate("hooks.cutover"))
                .transpose()?,
            rollback: self
                .rollback
                .map(|hook| hook.validate("hooks.rollback"))
                .transpose()?,
        })
    }
}

impl RawHook {
    fn validate(self, key: &str) -> Result<HookCommand, ConfigError> {
        let command = format!("{key}.command");
        let Some(program) = self.command.first() else {
            return Err(ConfigError::key(
                command,
                "must name a program, e.g. [\"deploy/switch-traffic\", \"{direction}\"]",
            ));
        };
        if program.trim().is_empty() {
            return Err(ConfigError::key(command, "the program is empty"));
        }
        for arg in &self.command {
            if let Some(word) = unknown_placeholder(arg) {
                return Err(ConfigError::key(
                    command,
                    format!(
                        "unknown placeholder {word} in {arg:?}; known: {}",
                        PLACEHOLDERS.join(", ")
                    ),
                ));
            }
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::key(
                format!("{key}.timeout"),
                "must be more than 0s",
            ));
        }
        if self.retries > 10 {
            return Err(ConfigError::key(
                format!("{key}.retries"),
                format!("{} is too many; at most 10", self.retries),
            ));
        }
        let command = HookCommand {
            argv: self.command,
            timeout: self.timeout,
            retries: self.retries,
            backoff: self.backoff,
        };
        command
            .retry_policy()
            .map_err(|error| ConfigError::key(format!("{key}.backoff"), error.to_string()))?;
        Ok(command)
    }
}

/// The first `{word}` in `arg` that is not a known placeholder.
fn unknown_placeholder(arg: &str) -> Option<&str> {
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}')?;
        let word = &rest[open..open + close + 1];
        if !PLACEHOLDERS.contains(&word) {
            return Some(word);
        }
        rest = &rest[open + close + 1..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_checked_word_by_word() {
        assert_eq!(unknown_placeholder("{direction}"), None);
        assert_eq!(unknown_placeholder("--to={to}:{epoch}"), None);
        assert_eq!(unknown_placeholder("{from}-{colour}"), Some("{colour}"));
        assert_eq!(unknown_placeholder("an { unclosed"), None);
    }
}
