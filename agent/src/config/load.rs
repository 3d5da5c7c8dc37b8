//! Reading the configuration: defaults, then the TOML file, then
//! `GREENLIGHT_` environment variables (`__` separates nested keys:
//! `GREENLIGHT_CHECKS__POSTGRES__URL`), then flags. Errors say which of those
//! the bad value came from.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Serialize;

use super::{AgentConfig, AgentSettings, ConfigError};
use greenlight_config_words::{Position, locate, reason};

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
        check_syntax(text)?;
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
    let mut text = None;
    if let Some(path) = file {
        let shown = Some(path.display().to_string());
        let read = read_file(path).map_err(|error| error.with_origin(shown.clone()))?;
        check_syntax(&read).map_err(|error| error.with_origin(shown))?;
        text = Some(read);
        // Read again by figment, which then knows the file as every
        // value's source.
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
    load_from(figment, file.zip(text.as_deref()), env_prefix)
}

/// The file's text, or why there is none.
fn read_file(path: &Path) -> Result<String, ConfigError> {
    if path.is_dir() {
        return Err(ConfigError::whole(
            "is a directory; give the path of a TOML config file",
        ));
    }
    std::fs::read_to_string(path).map_err(|error| {
        ConfigError::whole(match error.kind() {
            std::io::ErrorKind::NotFound => {
                "does not exist; give the path of a TOML config file".to_string()
            }
            _ => format!("cannot be read: {error}"),
        })
    })
}

/// TOML's own syntax, checked before figment reads it: figment's error
/// would have no key, and its position only inside a drawing.
fn check_syntax(text: &str) -> Result<(), ConfigError> {
    let Err(error) = Toml::from_str::<Dict>(text) else {
        return Ok(());
    };
    Err(ConfigError {
        position: error.span().map(|span| Position::in_text(text, span.start)),
        ..ConfigError::whole(format!("not valid TOML: {}", error.message().trim_end()))
    })
}

/// The one loader: extracts the settings `figment` holds, validates them,
/// and says where a bad value came from (`file`, the environment variables
/// under `env_prefix`, a flag).
fn load_from(
    figment: Figment,
    file: Option<(&Path, &str)>,
    env_prefix: &str,
) -> Result<AgentConfig, ConfigError> {
    let file_name = file.map(|(path, _)| path.display().to_string());
    let origins = Origins {
        figment: &figment,
        file: file.map(|(path, _)| path.to_path_buf()),
        text: file.map(|(_, text)| text),
        file_name,
        env_prefix,
    };
    let settings: AgentSettings = figment.extract().map_err(|err| origins.explain(err))?;
    settings.validate().map_err(|err| {
        let origin = err.key.as_deref().and_then(|key| origins.of_key(key));
        let origin = origin.or_else(|| origins.file_name.clone());
        origins.place(err.with_origin(origin))
    })
}

/// Knows where each value came from.
struct Origins<'a> {
    figment: &'a Figment,
    file: Option<PathBuf>,
    /// The file's text, to find the line a key is on.
    text: Option<&'a str>,
    /// The path as the user wrote it (figment would show it canonicalized).
    file_name: Option<String>,
    env_prefix: &'a str,
}

impl Origins<'_> {
    /// `error` with the line of its key, when the key's value is the file's.
    fn place(&self, mut error: ConfigError) -> ConfigError {
        if error.position.is_none() && error.origin.is_some() && error.origin == self.file_name {
            error.position = self
                .text
                .zip(error.key.as_deref())
                .and_then(|(text, key)| locate(text, key));
        }
        error
    }

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
            // Named alone: the key is the file's, which did not say it.
            return Some(format!("--{}", key.replace('_', "-")));
        }
        None
    }

    /// Turns figment's deserialization error into ours, with origin and key.
    fn explain(&self, error: figment::Error) -> ConfigError {
        let mut path = error.path.clone();
        // Figment may leave the offending field out of the path of these.
        match &error.kind {
            figment::error::Kind::UnknownField(name, _) => push_once(&mut path, name),
            figment::error::Kind::MissingField(name) => push_once(&mut path, name),
            _ => {}
        }
        let key = (!path.is_empty()).then(|| path.join("."));
        let origin = error
            .metadata
            .as_ref()
            .and_then(|metadata| self.describe(metadata, key.as_deref().unwrap_or("")))
            .or_else(|| self.file_name.clone());
        self.place(ConfigError {
            origin,
            key,
            position: None,
            reason: reason(&error.kind, &path),
        })
    }
}

/// Figment sometimes already ends the path with the offending field.
fn push_once(path: &mut Vec<String>, name: &str) {
    if path.last().map(String::as_str) != Some(name) {
        path.push(name.to_string());
    }
}
