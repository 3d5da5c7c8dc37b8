//! `aggregator`: where reports go. One address, or several separated by
//! commas (`"http://10.0.0.5:7070,http://10.0.0.6:7070"`; the flag and the
//! environment variable take the same), or in a file a TOML array of
//! addresses. Several aggregators share one Redis, one leads each
//! deployment and the others stand by computing the same verdicts, so the
//! agent streams every report to each of them. They share one scheme: the
//! `[tls]` settings apply to every `https://` stream alike.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use url::Url;

use super::ConfigError;
use super::url_setting::parse_url;

const KEY: &str = "aggregator";

/// Parses the `aggregator` setting: at least one address, each once, all
/// `http://` or all `https://`. A single address is refused with the same
/// words as any URL setting; in a list, the refusal says which element.
pub(super) fn parse_aggregators(text: &str) -> Result<Vec<Url>, ConfigError> {
    let elements: Vec<&str> = text.split(',').map(str::trim).collect();
    if let [single] = elements.as_slice() {
        return Ok(vec![parse_url(KEY, single, &["http", "https"])?]);
    }
    let count = elements.len();
    let mut aggregators: Vec<Url> = Vec::with_capacity(count);
    for (index, element) in elements.iter().enumerate() {
        let place = format!("element {} of {count}", index + 1);
        if element.is_empty() {
            return Err(ConfigError::key(
                KEY,
                format!(
                    "{place} is empty in {text:?}: separate the addresses with single commas, \
                     e.g. \"http://10.0.0.5:7070,http://10.0.0.6:7070\""
                ),
            ));
        }
        let url = parse_url(KEY, element, &["http", "https"]).map_err(|error| {
            ConfigError::key(KEY, format!("{place} ({element:?}): {}", error.reason))
        })?;
        let first_scheme = aggregators.first().map(Url::scheme);
        if let Some(first) = first_scheme.filter(|first| *first != url.scheme()) {
            return Err(ConfigError::key(
                KEY,
                format!(
                    "{place} is {}:// but element 1 is {}://: every aggregator takes the same \
                     scheme (the [tls] settings apply to each)",
                    url.scheme(),
                    first
                ),
            ));
        }
        let origin = url.origin();
        if let Some(earlier) = aggregators.iter().position(|seen| seen.origin() == origin) {
            return Err(ConfigError::key(
                KEY,
                format!(
                    "{place} ({}) repeats element {}: list each aggregator once",
                    origin.ascii_serialization(),
                    earlier + 1
                ),
            ));
        }
        aggregators.push(url);
    }
    Ok(aggregators)
}

/// `aggregator` as a file may write it: a string (one address, or several
/// separated by commas) or an array of addresses, which becomes the comma
/// form so that one parser checks both.
pub(super) fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    deserializer.deserialize_any(OneOrMany)
}

struct OneOrMany;

impl<'de> Visitor<'de> for OneOrMany {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an address (\"http://host:port\"), several separated by commas, or an array of addresses")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
        Ok(text.to_string())
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<String, E> {
        Ok(text)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
        let mut addresses = Vec::new();
        while let Some(address) = seq.next_element::<String>()? {
            addresses.push(address);
        }
        // An empty array is an empty setting: "required but missing".
        Ok(addresses.join(","))
    }
}
