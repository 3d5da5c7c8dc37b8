//! `[tls]`: TLS for the stream to the aggregator. `aggregator =
//! "https://..."` always speaks TLS: the aggregator's certificate is
//! checked against `tls.ca`, or the system's roots without it; `tls.cert`
//! and `tls.key` are this agent's certificate for an aggregator that
//! requires mutual TLS. The files are checked when the configuration is,
//! and read again at every connection attempt, so renewed certificates are
//! picked up at the next reconnect without a restart.

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use super::ConfigError;

/// `[tls]` as written; every key is a path to a PEM file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// CA certificates the aggregator's certificate must chain to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// This agent's certificate chain, for mutual TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// The private key of `cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
}

/// TLS to an `https://` aggregator, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AggregatorTls {
    /// `None`: the system's roots.
    ca: Option<PathBuf>,
    /// (certificate, key).
    identity: Option<(PathBuf, PathBuf)>,
}

impl TlsSettings {
    /// `Some` exactly for an `https://` aggregator; the keys are refused
    /// for `http://` (they would be ignored, and the stream plaintext).
    pub(crate) fn validate(self, https: bool) -> Result<Option<AggregatorTls>, ConfigError> {
        if !https {
            let set = [
                ("tls.ca", &self.ca),
                ("tls.cert", &self.cert),
                ("tls.key", &self.key),
            ]
            .into_iter()
            .find_map(|(key, value)| value.as_ref().map(|_| key));
            return match set {
                Some(key) => Err(ConfigError::key(
                    key,
                    "is set, but the aggregator address is http:// (plaintext): write \
                     https:// to speak TLS",
                )),
                None => Ok(None),
            };
        }
        let identity = match (self.cert, self.key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::key(
                    "tls.key",
                    "required with tls.cert: the private key of the agent's certificate",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::key(
                    "tls.cert",
                    "required with tls.key: the agent's certificate",
                ));
            }
        };
        let tls = AggregatorTls {
            ca: self.ca,
            identity,
        };
        tls.read()
            .map_err(|(key, reason)| ConfigError::key(key, reason))?;
        Ok(Some(tls))
    }
}

/// The files' contents, checked to hold what they should.
struct Read {
    ca: Option<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl AggregatorTls {
    /// tonic's TLS settings from the files as they are now.
    pub(crate) fn client_config(&self) -> Result<ClientTlsConfig, String> {
        let read = self
            .read()
            .map_err(|(key, reason)| format!("{key}: {reason}"))?;
        let tls = ClientTlsConfig::new();
        let tls = match read.ca {
            Some(pem) => tls.ca_certificate(Certificate::from_pem(pem)),
            None => tls.with_native_roots(),
        };
        Ok(match read.identity {
            Some((cert, key)) => tls.identity(Identity::from_pem(cert, key)),
            None => tls,
        })
    }

    /// Where the trust comes from and who this agent says it is, in words.
    pub(crate) fn describe(&self) -> String {
        let trust = match &self.ca {
            Some(ca) => format!("certificate checked against {}", ca.display()),
            None => "certificate checked against the system's roots".to_string(),
        };
        match &self.identity {
            Some((cert, _)) => format!("TLS, {trust}, client certificate {}", cert.display()),
            None => format!("TLS, {trust}, no client certificate"),
        }
    }

    /// Reads every file; the error names the key and says what is wrong.
    fn read(&self) -> Result<Read, (&'static str, String)> {
        let ca = match &self.ca {
            Some(path) => Some(certificates("tls.ca", path)?),
            None => None,
        };
        let identity = match &self.identity {
            Some((cert, key)) => {
                let cert = certificates("tls.cert", cert)?;
                let pem = file("tls.key", key)?;
                PrivateKeyDer::from_pem_slice(&pem).map_err(|error| {
                    (
                        "tls.key",
                        format!(
                            "{}: no usable private key in PEM (PKCS#8, PKCS#1 or SEC1): {error}",
                            key.display()
                        ),
                    )
                })?;
                Some((cert, pem))
            }
            None => None,
        };
        Ok(Read { ca, identity })
    }
}

fn file(key: &'static str, path: &Path) -> Result<Vec<u8>, (&'static str, String)> {
    std::fs::read(path).map_err(|error| (key, format!("cannot read {}: {error}", path.display())))
}

/// A PEM file with at least one certificate.
fn certificates(key: &'static str, path: &Path) -> Result<Vec<u8>, (&'static str, String)> {
    let pem = file(key, path)?;
    let found = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| {
            (
                key,
                format!("{}: not PEM certificates: {error}", path.display()),
            )
        })?;
    if found.is_empty() {
        return Err((
            key,
            format!(
                "{}: no certificate in it (expected -----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        ));
    }
    Ok(pem)
}
