//! `[http]`: the aggregator's HTTP face (`/health`, `/metrics`, the JSON
//! API and the status page). Off unless the section names `listen`. It is
//! read-only and asks for no credentials: bind it to a private address.

use std::net::SocketAddr;

use serde::Deserialize;

use super::ConfigError;

/// The section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    listen: Option<String>,
}

/// Validated: an address to bind.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    pub listen: SocketAddr,
}

impl RawHttp {
    /// `grpc_listen` is the gRPC address: the two cannot share a port.
    pub(super) fn validate(self, grpc_listen: SocketAddr) -> Result<HttpSettings, ConfigError> {
        let Some(text) = self.listen else {
            return Err(ConfigError::key(
                "http.listen",
                "is missing: [http] turns the HTTP face on, and needs an address such as \"127.0.0.1:7071\"",
            ));
        };
        let listen: SocketAddr = text.parse().map_err(|_| {
            ConfigError::key(
                "http.listen",
                format!("{text:?} is not an address like 127.0.0.1:7071"),
            )
        })?;
        if listen.port() != 0
            && listen.port() == grpc_listen.port()
            && same_host(listen, grpc_listen)
        {
            return Err(ConfigError::key(
                "http.listen",
                format!("{listen} is also `listen` (gRPC): give the HTTP face a port of its own"),
            ));
        }
        Ok(HttpSettings { listen })
    }
}

/// Whether binding both would collide (an unspecified address binds all).
fn same_host(a: SocketAddr, b: SocketAddr) -> bool {
    a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(listen: Option<&str>) -> Result<HttpSettings, ConfigError> {
        RawHttp {
            listen: listen.map(str::to_string),
        }
        .validate("127.0.0.1:7070".parse().unwrap())
    }

    #[test]
    fn an_address_is_taken() {
        assert_eq!(
            validate(Some("127.0.0.1:7071")).unwrap().listen,
            "127.0.0.1:7071".parse().unwrap()
        );
    }

    #[test]
    fn missing_bad_or_shared_addresses_are_refused_by_key() {
        for (listen, words) in [
            (None, "is missing"),
            (Some("localhost"), "is not an address"),
            (Some("0.0.0.0:7070"), "port of its own"),
        ] {
            let error = validate(listen).unwrap_err().to_string();
            assert!(error.contains("http.listen"), "{error}");
            assert!(error.contains(words), "{listen:?}: {error}");
        }
    }
}
