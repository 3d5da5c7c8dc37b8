//! `[[deployments.<name>.gates]]`: a deployment's test gates, each a
//! command (argv, never a shell string) the aggregator runs against the
//! candidate: `stage = "before_cutover"` (the guide's integration tests
//! and API-compatibility check: READY needs them passed) or
//! `"after_cutover"` (its smoke tests: a failure rolls back). Per
//! deployment only: what a gate tests belongs to one service, so there is
//! no `[defaults]` or top-level form. Checked before anything runs: a
//! unique name, an argv with a program, known placeholders only, a
//! timeout between 1s and 1h; whether the program can run here is
//! `unrunnable_hooks`' business, as for the hooks.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::engine::{GateSpec, GateStage};
use crate::hooks::{GATE_PLACEHOLDERS, GateCommand};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGate {
    name: String,
    /// argv: the program, then its arguments; placeholders allowed.
    command: Vec<String>,
    stage: GateStage,
    #[serde(default = "default_gate_timeout", with = "humantime_serde")]
    timeout: Duration,
    /// More environment for the command, besides the GREENLIGHT_* ones.
    #[serde(default)]
    env: BTreeMap<String, String>,
}

/// A test suite's time, by default.
fn default_gate_timeout() -> Duration {
    Duration::from_secs(300)
}

/// The longest a gate may run: longer is a pipeline's job, not a gate's.
const MAX_GATE_TIMEOUT: Duration = Duration::from_secs(3600);

/// The gates of `[deployments.<name>]` (`prefix`): what the engine knows
/// of them, and their commands, by name.
pub(super) fn validate(
    raw: Vec<RawGate>,
    prefix: &str,
) -> Result<(Vec<GateSpec>, BTreeMap<String, GateCommand>), ConfigError> {
    let mut specs = Vec::new();
    let mut commands = BTreeMap::new();
    for (index, gate) in raw.into_iter().enumerate() {
        let key = format!("{prefix}.gates[{index}]");
        let name_ok = !gate.name.is_empty()
            && gate.name.len() <= 64
            && gate
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(ConfigError::key(
                format!("{key}.name"),
                format!(
                    "{:?}: a gate's name is 1 to 64 letters, digits, - or _ (it is typed in `greenlight gate rerun`)",
                    gate.name
                ),
            ));
        }
        if commands.contains_key(&gate.name) {
            return Err(ConfigError::key(
                format!("{key}.name"),
                format!("a second gate named {:?}: names must be unique", gate.name),
            ));
        }
        match gate.command.first() {
            None => {
                return Err(ConfigError::key(
                    format!("{key}.command"),
                    "must name a program, e.g. [\"tests/integration.sh\", \"{candidate}\"]",
                ));
            }
            Some(program) if program.trim().is_empty() => {
                return Err(ConfigError::key(
                    format!("{key}.command"),
                    "the program is empty",
                ));
            }
            Some(_) => {}
        }
        for arg in &gate.command {
            if let Some(word) = super::hooks::unknown_placeholder(arg, &GATE_PLACEHOLDERS) {
                return Err(ConfigError::key(
                    format!("{key}.command"),
                    format!(
                        "unknown placeholder {word} in {arg:?}; known: {}",
                        GATE_PLACEHOLDERS.join(", ")
                    ),
                ));
            }
        }
        if gate.timeout.is_zero() || gate.timeout > MAX_GATE_TIMEOUT {
            return Err(ConfigError::key(
                format!("{key}.timeout"),
                "must be more than 0s and at most 1h",
            ));
        }
        if let Some(bad) = gate
            .env
            .keys()
            .find(|k| k.is_empty() || k.contains('=') || k.starts_with("GREENLIGHT_"))
        {
            return Err(ConfigError::key(
                format!("{key}.env"),
                format!(
                    "{bad:?}: a variable's name has no '=' and does not start with GREENLIGHT_ (those are greenlight's)"
                ),
            ));
        }
        specs.push(GateSpec {
            name: gate.name.clone(),
            stage: gate.stage,
        });
        commands.insert(
            gate.name,
            GateCommand {
                argv: gate.command,
                timeout: gate.timeout,
                env: gate.env.into_iter().collect(),
            },
        );
    }
    Ok((specs, commands))
}
