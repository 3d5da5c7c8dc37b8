//! A setting whose value is a URL: parsed, its scheme one the key allows,
//! its host present; each failure naming the key. The agent's own
//! `aggregator` and every check's target are such settings.

use url::Url;

use super::ConfigError;

/// Parses `text` as a URL whose scheme is one of `schemes`.
pub(super) fn parse_url(key: &str, text: &str, schemes: &[&str]) -> Result<Url, ConfigError> {
    if text.trim().is_empty() {
        return Err(ConfigError::key(
            key,
            format!("required but missing: a {}:// URL", schemes[0]),
        ));
    }
    let url = Url::parse(text).map_err(|err| ConfigError::key(key, err.to_string()))?;
    if !schemes.contains(&url.scheme()) {
        let reason = format!(
            "scheme \"{}\" is not supported here; use {}",
            url.scheme(),
            schemes
                .iter()
                .map(|scheme| format!("{scheme}://"))
                .collect::<Vec<_>>()
                .join(" or ")
        );
        return Err(ConfigError::key(key, reason));
    }
    if url.scheme() != "unix" && url.scheme() != "redis+unix" && url.host_str().is_none() {
        return Err(ConfigError::key(key, "the URL has no host"));
    }
    Ok(url)
}
