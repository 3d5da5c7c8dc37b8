//! `[redis]`: where verdicts are published. The URL is parsed here, once,
//! so a bad one is a configuration error naming where it came from, not a
//! failure of the first publish. AUTH is the URL's
//! (`redis://:password@host`, `redis://user:password@host`); `rediss://`
//! speaks TLS, checking the server's certificate against `ca` when given,
//! else against the system's roots (which `SSL_CERT_FILE` can replace, as
//! for the agent's `rediss://`).
//!
//! The URL's forms and their parsing: `redis_url`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use super::redis_url::{RedisEndpoint, endpoint, redacted};

/// The section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRedis {
    url: String,
    #[serde(default = "default_ttl", with = "humantime_serde")]
    verdict_ttl: Duration,
    #[serde(default = "default_history")]
    history_max_len: u64,
    /// CA certificates (PEM) that a `rediss://` server's must chain to.
    ca: Option<PathBuf>,
}

fn default_ttl() -> Duration {
    Duration::from_secs(15)
}

fn default_history() -> u64 {
    10_000
}

impl RawRedis {
    pub(super) fn validate(self) -> Result<RedisSettings, ConfigError> {
        let settings = RedisSettings::new(self.url, self.verdict_ttl, self.history_max_len)?;
        match self.ca {
            Some(ca) => settings.trusting(ca),
            None => Ok(settings),
        }
    }
}

/// Validated Redis settings: the URL is known to be usable.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// As configured, password included. Shown only through
    /// [`RedisSettings::shown_url`]; connect through
    /// [`RedisSettings::endpoint`].
    pub url: String,
    /// TTL of `greenlight:{<deployment>}:verdict`, refreshed while we live.
    pub verdict_ttl: Duration,
    /// Cap of `greenlight:{<deployment>}:history` (approximate, MAXLEN ~).
    pub history_max_len: u64,
    /// The CA a `rediss://` server's certificate is checked against;
    /// `None`: the system's roots.
    pub ca: Option<PathBuf>,
    /// The parsed URL: connecting does not parse it again.
    endpoint: RedisEndpoint,
}

impl RedisSettings {
    /// Checks the settings; errors name the key under `[redis]`.
    pub fn new(
        url: String,
        verdict_ttl: Duration,
        history_max_len: u64,
    ) -> Result<RedisSettings, ConfigError> {
        let endpoint = endpoint(&url).map_err(|reason| {
            ConfigError::key("redis.url", format!("{:?} {reason}", redacted(&url)))
        })?;
        if verdict_ttl < Duration::from_secs(1) {
            return Err(ConfigError::key("redis.verdict_ttl", "must be at least 1s"));
        }
        if history_max_len == 0 {
            return Err(ConfigError::key(
                "redis.history_max_len",
                "must be at least 1",
            ));
        }
        Ok(RedisSettings {
            url,
            verdict_ttl,
            history_max_len,
            ca: None,
            endpoint,
        })
    }

    /// The same, checking the server's certificate against the CA
    /// certificates in `ca` (PEM) only; the URL must be `rediss://`.
    pub fn trusting(mut self, ca: PathBuf) -> Result<RedisSettings, ConfigError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;

        let refused = |reason: String| ConfigError::key("redis.ca", reason);
        if !self.url.starts_with("rediss://") {
            return Err(refused(format!(
                "is set, but redis.url {:?} is not rediss://: a CA is for TLS",
                redacted(&self.url)
            )));
        }
        let pem = std::fs::read(&ca)
            .map_err(|error| refused(format!("cannot read {}: {error}", ca.display())))?;
        let certificates = CertificateDer::pem_slice_iter(&pem).count();
        if certificates == 0 {
            return Err(refused(format!(
                "{}: no certificate in it (expected -----BEGIN CERTIFICATE-----)",
                ca.display()
            )));
        }
        let certificates = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        };
        let client = redis::Client::build_with_tls(self.url.as_str(), certificates)
            .map_err(|error| refused(format!("{}: {error}", ca.display())))?;
        self.endpoint = RedisEndpoint::Single(client);
        self.ca = Some(ca);
        Ok(self)
    }

    /// Where to connect (nothing connects yet).
    pub fn endpoint(&self) -> &RedisEndpoint {
        &self.endpoint
    }

    /// The URL for logs and `--check-config`: the password hidden.
    pub fn shown_url(&self) -> String {
        redacted(&self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redacted("redis://:s3cret@127.0.0.1:6379/2"),
            "redis://:***@127.0.0.1:6379/2"
        );
        assert_eq!(
            redacted("rediss://greenlight:s3cret@redis.internal"),
            "rediss://greenlight:***@redis.internal"
        );
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }

    #[test]
    fn the_url_is_parsed_once_into_a_client() {
        let settings =
            RedisSettings::new("redis://:pw@127.0.0.1:6380/3".into(), default_ttl(), 5).unwrap();
        let RedisEndpoint::Single(client) = settings.endpoint() else {
            panic!("redis:// is one server: {:?}", settings.endpoint());
        };
        let info = client.get_connection_info();
        assert_eq!(info.addr().to_string(), "127.0.0.1:6380");
        assert_eq!(info.redis_settings().password(), Some("pw"));
        assert_eq!(settings.shown_url(), "redis://:***@127.0.0.1:6380/3");
    }

    #[test]
    fn an_unusable_url_is_refused_without_its_password() {
        let error = RedisSettings::new(
            "redis://:s3cret@127.0.0.1:notaport".into(),
            default_ttl(),
            5,
        )
        .unwrap_err();
        assert_eq!(error.key.as_deref(), Some("redis.url"));
        assert!(error.reason.contains("not a usable Redis URL"), "{error}");
        assert!(!error.reason.contains("s3cret"), "{error}");
    }
}
