//! `[hooks.cutover]` and `[hooks.rollback]`: the commands run when a
//! cutover or a rollback is decided; `[hooks.deploying]`, `[hooks.ready]`,
//! `[hooks.baking]`, `[hooks.verified]`, `[hooks.rolled_back]` and
//! `[hooks.held]`: the ones run when a deployment enters that phase. The
//! same tables under `[deployments.<name>.hooks]` replace the defaults for
//! that deployment, hook by hook. Checked before anything runs (an argv
//! with a program, known placeholders only, a timeout, sane retries, a
//! delay only on a phase hook).
//! Whether the program is there is this machine's business, not the
//! file's: [`AggregatorConfig::unrunnable_hooks`] asks it apart, for
//! `--check-config` and the start.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::{AggregatorConfig, ConfigError, Origin};
use crate::hooks::{HookCommand, HookPoint, HookTable, PHASE_PLACEHOLDERS, PLACEHOLDERS};

/// A `[hooks]` or `[deployments.<name>.hooks]` section as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHooks {
    cutover: Option<RawHook>,
    rollback: Option<RawHook>,
    deploying: Option<RawHook>,
    ready: Option<RawHook>,
    baking: Option<RawHook>,
    verified: Option<RawHook>,
    rolled_back: Option<RawHook>,
    held: Option<RawHook>,
}

#[derive(Debug, Clone, Deserialize)]
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
    /// Phase hooks only: run this long after the phase is entered.
    #[serde(default, with = "humantime_serde")]
    delay: Duration,
}

/// The longest a phase hook may wait: a day (Argo's scaleDownDelay is
/// seconds to minutes; longer belongs to a scheduler, not a hook).
const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

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
    /// The hooks under `prefix` (`hooks`, `deployments.<name>.hooks`).
    pub(super) fn validate(self, prefix: &str) -> Result<HookTable, ConfigError> {
        let written = [
            (HookPoint::Cutover, self.cutover),
            (HookPoint::Rollback, self.rollback),
            (HookPoint::Deploying, self.deploying),
            (HookPoint::Ready, self.ready),
            (HookPoint::Baking, self.baking),
            (HookPoint::Verified, self.verified),
            (HookPoint::RolledBack, self.rolled_back),
            (HookPoint::Held, self.held),
        ];
        let mut table = HookTable::new();
        for (point, raw) in written {
            if let Some(raw) = raw {
                let key = format!("{prefix}.{}", point.name());
                table.insert(point, raw.validate(&key, point)?);
            }
        }
        Ok(table)
    }
}

impl RawHook {
    fn validate(self, key: &str, point: HookPoint) -> Result<HookCommand, ConfigError> {
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
        let known: Vec<&str> = if point.is_switch() {
            PLACEHOLDERS.to_vec()
        } else {
            PLACEHOLDERS.into_iter().chain(PHASE_PLACEHOLDERS).collect()
        };
        for arg in &self.command {
            if let Some(word) = unknown_placeholder(arg, &known) {
                let only_phases = PHASE_PLACEHOLDERS.contains(&word);
                return Err(ConfigError::key(
                    command,
                    format!(
                        "{} placeholder {word} in {arg:?}; known: {}",
                        if only_phases {
                            "a switch hook has no phase: no"
                        } else {
                            "unknown"
                        },
                        known.join(", ")
                    ),
                ));
            }
        }
        if !self.delay.is_zero() && point.is_switch() {
            return Err(ConfigError::key(
                format!("{key}.delay"),
                "a switch is never delayed; only a phase hook (e.g. [hooks.verified]) has a delay",
            ));
        }
        if self.delay > MAX_DELAY {
            return Err(ConfigError::key(format!("{key}.delay"), "at most 1 day"));
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
            delay: self.delay,
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
    /// The test gates' programs are asked the same way.
    pub fn unrunnable_hooks(&self, file: Option<&Path>) -> Vec<ConfigError> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let hooks = self
            .hooks
            .all()
            .into_iter()
            .map(|(key, hook)| (key, &hook.argv));
        let gates = self.hooks.gates.iter().flat_map(|(name, gates)| {
            gates.iter().map(move |(gate, command)| {
                (format!("deployments.{name}.gates.{gate}"), &command.argv)
            })
        });
        hooks
            .chain(gates)
            .filter_map(|(key, argv)| {
                let program = argv.first()?;
                let why = unrunnable(program, &path)?;
                let name = key.rsplit('.').next().unwrap_or_default();
                let kind = if key.contains(".gates.") {
                    "gate"
                } else {
                    "hook"
                };
                let error = ConfigError::key(
                    format!("{key}.command"),
                    format!("the {name} {kind} cannot run: {why}"),
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

/// The first `{word}` in `arg` that is not in `known`.
pub(super) fn unknown_placeholder<'a>(arg: &'a str, known: &[&str]) -> Option<&'a str> {
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}')?;
        let word = &rest[open..open + close + 1];
        if !known.contains(&word) {
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
        let known = PLACEHOLDERS;
        assert_eq!(unknown_placeholder("{direction}", &known), None);
        assert_eq!(unknown_placeholder("--to={to}:{epoch}", &known), None);
        assert_eq!(
            unknown_placeholder("{from}-{colour}", &known),
            Some("{colour}")
        );
        assert_eq!(unknown_placeholder("an { unclosed", &known), None);
        assert_eq!(unknown_placeholder("{phase}", &known), Some("{phase}"));
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
