//! `[hooks.cutover]` and `[hooks.rollback]`: the commands run when a
//! cutover or a rollback is decided, checked before anything runs (an argv
//! with a program, known placeholders only, a timeout, sane retries).
//! Whether the program is there is this machine's business, not the
//! file's: [`AggregatorConfig::unrunnable_hooks`] asks it apart, for
//! `--check-config` and the start.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::{AggregatorConfig, ConfigError, Origin};
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

impl AggregatorConfig {
    /// Each hook whose program cannot run here (missing, not executable,
    /// not on `PATH`), said as a config error of its `command` in `file`.
    /// Empty when every hook can run.
    pub fn unrunnable_hooks(&self, file: Option<&Path>) -> Vec<ConfigError> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let hooks = [
            ("cutover", &self.hooks.cutover),
            ("rollback", &self.hooks.rollback),
        ];
        hooks
            .into_iter()
            .filter_map(|(action, hook)| {
                let program = hook.as_ref()?.argv.first()?;
                let why = unrunnable(program, &path)?;
                let error = ConfigError::key(
                    format!("hooks.{action}.command"),
                    format!("the {action} hook cannot run: {why}"),
                );
                Some(error.with_origin(file.map(|file| Origin::File(file.to_path_buf()))))
            })
            .collect()
    }
}

/// Why `program` cannot be started, and what to do; `None` if it can. A
/// name with a slash is a path (relative to the working directory, as the
/// hook runs it); a bare name is looked for on `search_path`.
fn unrunnable(program: &str, search_path: &std::ffi::OsStr) -> Option<String> {
    if program.contains('/') {
        return match executable(Path::new(program)) {
            Ok(()) => None,
            Err(Unrunnable::Missing) => Some(format!(
                "{program} does not exist; {}",
                install_hint(program)
            )),
            Err(Unrunnable::NotAProgram(why)) => Some(format!("{program} {why}")),
        };
    }
    let found = std::env::split_paths(search_path)
        .map(|dir| dir.join(program))
        .any(|candidate| executable(&candidate).is_ok());
    (!found).then(|| {
        format!(
            "{program:?} is not found on PATH ({}); install it there, or give its full path",
            std::env::join_paths(std::env::split_paths(search_path))
                .map(|joined| joined.to_string_lossy().into_owned())
                .unwrap_or_default()
        )
    })
}

/// What to do about a program that is not there: the shipped switch
/// script has its own way in.
fn install_hint(program: &str) -> String {
    if Path::new(program).file_name() == Some("switch-traffic".as_ref()) {
        format!(
            "install this repository's deploy/switch-traffic there \
             (install -m 0755 deploy/switch-traffic {program}; see docs/deploy.md), \
             or point the hook at where it is"
        )
    } else {
        "install it there, or point the hook at the program's real path".into()
    }
}

/// Why a file cannot be run.
enum Unrunnable {
    Missing,
    NotAProgram(String),
}

fn executable(path: &Path) -> Result<(), Unrunnable> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => Unrunnable::Missing,
        _ => Unrunnable::NotAProgram(format!("cannot be looked at: {error}")),
    })?;
    if metadata.is_dir() {
        return Err(Unrunnable::NotAProgram(
            "is a directory, not a program".into(),
        ));
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err(Unrunnable::NotAProgram(format!(
            "is not executable; chmod +x {}",
            path.display()
        )));
    }
    Ok(())
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

    #[test]
    fn a_program_must_exist_and_be_executable_or_be_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("switch");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let script = script.to_str().unwrap();
        let path = std::ffi::OsString::from(dir.path());

        let why = unrunnable(script, &path).unwrap();
        assert!(why.contains("is not executable; chmod +x"), "{why}");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(unrunnable(script, &path), None);
        // A bare name is looked for on PATH.
        assert_eq!(unrunnable("switch", &path), None);
        let why = unrunnable("switch", "/nonexistent/bin".as_ref()).unwrap();
        assert!(
            why.contains("not found on PATH (/nonexistent/bin)"),
            "{why}"
        );

        let why = unrunnable("/nonexistent/bin/switch-traffic", &path).unwrap();
        assert!(
            why.starts_with("/nonexistent/bin/switch-traffic does not exist; install"),
            "{why}"
        );
        assert!(why.contains("deploy/switch-traffic"), "{why}");
        let dir_name = dir.path().to_str().unwrap();
        let why = unrunnable(dir_name, &path).unwrap();
        assert!(why.contains("is a directory"), "{why}");
    }
}
