//! Reading the configuration: the TOML file, then `GREENLIGHT_AGGREGATOR_`
//! environment variables (`__` separates nested keys:
//! `GREENLIGHT_AGGREGATOR_REDIS__URL`), then flags. An error says which of
//! those the bad value came from: figment keeps, for every value, the
//! provider it came from, and the key says which variable or flag it was.

use std::path::Path;

use figment::error::Kind;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Serialize;

use super::{AggregatorConfig, ConfigError, Origin, RawConfig};
use greenlight_config_words::{Position, locate, reason};

/// Prefix of the environment variables the aggregator reads.
pub const ENV_PREFIX: &str = "GREENLIGHT_AGGREGATOR_";

/// Flags that override the file and environment.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// `--redis-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisOverride>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RedisOverride {
    pub url: String,
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

impl AggregatorConfig {
    /// Loads `file` (if any), then the environment, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Self, ConfigError> {
        load_with_env(file, ENV_PREFIX, overrides)
    }

    /// The configuration `text` says, alone: no file, no environment, no
    /// flags. The same loader as [`AggregatorConfig::load`] (the fuzzer's
    /// way in).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        check_syntax(text).map_err(|error| error.with_origin(None))?;
        load_from(Figment::from(Toml::string(text)), None, ENV_PREFIX)
    }
}

/// [`AggregatorConfig::load`] with another environment prefix, so tests do
/// not race on the real one.
pub(super) fn load_with_env(
    file: Option<&Path>,
    env_prefix: &str,
    overrides: Overrides,
) -> Result<AggregatorConfig, ConfigError> {
    let mut figment = Figment::new();
    let mut text = None;
    if let Some(path) = file {
        let read = read_file(path)?;
        check_syntax(&read).map_err(|error| error.with_origin(Some(Origin::File(path.into()))))?;
        text = Some(read);
        // Read again by figment, which then knows the file as every
        // value's source.
        figment = figment.merge(Toml::file_exact(path));
    }
    // GREENLIGHT_AGGREGATOR_CONFIG names the file (the --config flag's
    // variable); it is not a key of it.
    let figment = figment
        .merge(Env::prefixed(env_prefix).split("__").ignore(&["config"]))
        .merge(overrides);
    load_from(figment, file.zip(text.as_deref()), env_prefix)
}

/// The file's text, or why there is none.
fn read_file(path: &Path) -> Result<String, ConfigError> {
    if path.is_dir() {
        return Err(ConfigError::file(
            path,
            "is a directory; give the path of a TOML config file",
        ));
    }
    std::fs::read_to_string(path).map_err(|error| {
        let reason = match error.kind() {
            std::io::ErrorKind::NotFound => {
                "does not exist; give the path of a TOML config file".to_string()
            }
            _ => format!("cannot be read: {error}"),
        };
        ConfigError::file(path, reason)
    })
}

/// TOML's own syntax, checked before figment reads it: figment's error
/// would have no key, and its position only inside a drawing.
fn check_syntax(text: &str) -> Result<(), ConfigError> {
    let Err(error) = Toml::from_str::<Dict>(text) else {
        return Ok(());
    };
    Err(ConfigError {
        origin: None,
        key: None,
        position: error.span().map(|span| Position::in_text(text, span.start)),
        reason: format!("not valid TOML: {}", error.message().trim_end()),
    })
}

/// The one loader: extracts the settings `figment` holds, validates them,
/// and says where a bad value came from (`file`, the environment variables
/// under `env_prefix`, a flag).
fn load_from(
    figment: Figment,
    file: Option<(&Path, &str)>,
    env_prefix: &str,
) -> Result<AggregatorConfig, ConfigError> {
    let origins = Origins {
        figment: &figment,
        file: file.map(|(path, _)| path),
        text: file.map(|(_, text)| text),
        env_prefix,
    };
    let raw: RawConfig = figment.extract().map_err(|error| origins.explain(error))?;
    raw.validate().map_err(|error| {
        let origin = error.key.as_deref().and_then(|key| origins.of_key(key));
        origins.place(error.with_origin(origin.or_else(|| origins.file())))
    })
}

/// Knows where each value came from.
struct Origins<'a> {
    figment: &'a Figment,
    /// The path as given (figment would show it canonicalized).
    file: Option<&'a Path>,
    /// The file's text, to find the line a key is on.
    text: Option<&'a str>,
    env_prefix: &'a str,
}

impl Origins<'_> {
    fn file(&self) -> Option<Origin> {
        self.file.map(|path| Origin::File(path.to_path_buf()))
    }

    /// `error` with the line of its key, when the key's value is the file's.
    fn place(&self, mut error: ConfigError) -> ConfigError {
        if error.position.is_none() && error.origin.is_some() && error.origin == self.file() {
            error.position = self
                .text
                .zip(error.key.as_deref())
                .and_then(|(text, key)| locate(text, key));
        }
        error
    }

    /// Where the value of `key` came from; `None` for a default.
    fn of_key(&self, key: &str) -> Option<Origin> {
        let metadata = self.figment.find_metadata(key)?;
        self.describe(metadata, key)
    }

    fn describe(&self, metadata: &Metadata, key: &str) -> Option<Origin> {
        if let Some(path) = metadata.source.as_ref().and_then(|s| s.file_path()) {
            let given = self.file.filter(|given| same_file(given, path));
            return Some(Origin::File(given.unwrap_or(path).to_path_buf()));
        }
        if metadata.name.contains("environment") {
            let variable = format!(
                "{}{}",
                self.env_prefix,
                key.replace('.', "__").to_ascii_uppercase()
            );
            return Some(Origin::Env(variable));
        }
        if metadata.name == FLAGS_SOURCE {
            // The flags are `--listen` and `--redis-url`, spelled as the keys
            // they set (`listen`, `redis.url`). The error then names the
            // flag alone: the key is the file's, which did not say it.
            return Some(Origin::Flag(format!("--{}", key.replace(['.', '_'], "-"))));
        }
        None
    }

    /// Turns figment's deserialization error into ours, with origin and key.
    fn explain(&self, error: figment::Error) -> ConfigError {
        let mut path = error.path.clone();
        // Figment may leave the offending field out of the path of these.
        let field = match &error.kind {
            Kind::UnknownField(name, _) => Some(name.as_str()),
            Kind::MissingField(name) => Some(name.as_ref()),
            _ => None,
        };
        if let Some(field) = field.filter(|field| path.last().map(String::as_str) != Some(field)) {
            path.push(field.to_string());
        }
        let key = (!path.is_empty()).then(|| path.join("."));
        let origin = error
            .metadata
            .as_ref()
            .and_then(|metadata| self.describe(metadata, key.as_deref().unwrap_or("")))
            .or_else(|| self.file());
        self.place(ConfigError {
            origin,
            key,
            position: None,
            reason: reason(&error.kind, &path),
        })
    }
}

/// Figment reports a file by its canonical path; the user gave another.
fn same_file(given: &Path, reported: &Path) -> bool {
    given == reported || given.canonicalize().ok().as_deref() == Some(reported)
}
