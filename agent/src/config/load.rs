//! Reading the configuration: defaults, then the TOML file, then
//! `GREENLIGHT_` environment variables (`__` separates nested keys:
//! `GREENLIGHT_CHECKS__POSTGRES__URL`), then flags. Errors say which of those
//! the bad value came from.

use std::path::{Path, PathBuf};

use figment::error::Kind;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Serialize;

use super::{AgentConfig, AgentSettings, ConfigError};

/// Prefix of the environment variables the agent reads.
pub const ENV_PREFIX: &str = "GREENLIGHT_";

/// Settings given as flags; they win over the file and the environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

/// Marks values that came from flags, so errors can say so.
const FLAGS_SOURCE: &str = "command-line flag";

impl Provider for Overrides {
    fn metadata(&self) -> Metadata {
        Metadata::named(FLAGS_SOURCE)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::defaults(self).data()
    }
}

impl AgentConfig {
    /// Reads `file` (if any), the `GREENLIGHT_*` environment and `overrides`,
    /// and validates the result.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<AgentConfig, ConfigError> {
        load_with_env(file, ENV_PREFIX, overrides)
    }

    /// The configuration `text` says, alone: no file, no environment, no
    /// flags. The same loader as [`AgentConfig::load`] (the fuzzer's way in).
    pub fn from_toml(text: &str) -> Result<AgentConfig, ConfigError> {
        load_from(Figment::from(Toml::string(text)), None, ENV_PREFIX)
    }
}

/// [`AgentConfig::load`] with another environment prefix, so tests do not
/// race on the real one.
pub(crate) fn load_with_env(
    file: Option<&Path>,
    env_prefix: &str,
    overrides: &Overrides,
) -> Result<AgentConfig, ConfigError> {
    let mut figment = Figment::new();
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::whole(format!(
                "{}: no such configuration file",
                path.display()
            )));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    let figment = figment
        // GREENLIGHT_CONFIG names the file; it is not a key of it. And
        // GREENLIGHT_AGGREGATOR_* are the aggregator's settings, not unknown
        // keys of the agent's, where both share an environment.
        .merge(
            Env::prefixed(env_prefix)
                .split("__")
                .ignore(&["config"])
                .filter(|key| !key.as_str().to_ascii_lowercase().starts_with("aggregator_")),
        )
        .merge(overrides.clone());
    load_from(figment, file, env_prefix)
}

/// The one loader: extracts the settings `figment` holds, validates them,
/// and says where a bad value came from (`file`, the environment variables
/// under `env_prefix`, a flag).
fn load_from(
    figment: Figment,
    file: Option<&Path>,
    env_prefix: &str,
) -> Result<AgentConfig, ConfigError> {
    let file_name = file.map(|path| path.display().to_string());
    let origins = Origins {
        figment: &figment,
        file: file.map(Path::to_path_buf),
        file_name,
        env_prefix,
    };
    let settings: AgentSettings = figment.extract().map_err(|err| origins.explain(err))?;
    settings.validate().map_err(|err| {
        let origin = err.key.as_deref().and_then(|key| origins.of_key(key));
        let origin = origin.or_else(|| origins.file_name.clone());
        err.with_origin(origin)
    })
}

/// Knows where each value came from.
struct Origins<'a> {
    figment: &'a Figment,
    file: Option<PathBuf>,
    /// The path as the user wrote it (figment would show it canonicalized).
    file_name: Option<String>,
    env_prefix: &'a str,
}

impl Origins<'_> {
    /// Where the value of `key` came from; `None` for a default.
    fn of_key(&self, key: &str) -> Option<String> {
        let metadata = self.figment.find_metadata(key)?;
        self.describe(metadata, key)
    }

    fn describe(&self, metadata: &Metadata, key: &str) -> Option<String> {
        if let Some(path) = metadata.source.as_ref().and_then(|s| s.file_path()) {
            let same_file = self.file.as_deref() == Some(path);
            return Some(match (&self.file_name, same_file) {
                (Some(name), true) => name.clone(),
                _ => path.display().to_string(),
            });
        }
        if metadata.name.contains("environment") {
            let variable = format!(
                "{}{}",
                self.env_prefix,
                key.replace('.', "__").to_ascii_uppercase()
            );
            return Some(format!("environment variable {variable}"));
        }
        if metadata.name == FLAGS_SOURCE {
            return Some(format!("flag --{}", key.replace('_', "-")));
        }
        None
    }

    /// Turns figment's deserialization error into ours, with origin and key.
    fn explain(&self, error: figment::Error) -> ConfigError {
        let mut path = error.path.clone();
        let reason = match &error.kind {
            Kind::UnknownField(name, expected) => {
                push_once(&mut path, name);
                format!("unknown key; expected one of: {}", expected.join(", "))
            }
            Kind::MissingField(name) => {
                push_once(&mut path, name);
                "required but missing".to_string()
            }
            Kind::InvalidType(actual, expected) => {
                format!("expected {expected}, found {actual}")
            }
            Kind::InvalidValue(actual, expected) => {
                format!("expected {expected}, found {actual}")
            }
            other => other.to_string(),
        };
        let key = (!path.is_empty()).then(|| path.join("."));
        let origin = error
            .metadata
            .as_ref()
            .and_then(|metadata| self.describe(metadata, key.as_deref().unwrap_or("")))
            .or_else(|| self.file_name.clone());
        ConfigError {
            origin,
            key,
            reason,
        }
    }
}

/// Figment sometimes already ends the path with the offending field.
fn push_once(path: &mut Vec<String>, name: &str) {
    if path.last().map(String::as_str) != Some(name) {
        path.push(name.to_string());
    }
}
