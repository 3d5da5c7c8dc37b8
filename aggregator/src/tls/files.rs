//! The TLS files: the server's certificate chain and private key, and the
//! CA that client certificates must chain to, read into one rustls
//! `ServerConfig` (ring, TLS 1.2 and 1.3, ALPN h2 as gRPC needs). Every
//! error names the file, which config key it came from, and what was wrong.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use serde::Deserialize;

/// Whether a client must present a certificate (when `client_ca` is set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// No certificate, no connection: mutual TLS for everyone.
    Required,
    /// A certificate, if presented, must chain to `client_ca`; clients
    /// without one are let in (to be identified by a token instead).
    Optional,
}

/// Where the TLS material lives.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsFiles {
    /// The server's certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates (PEM) that client certificates must chain to;
    /// `None`: clients are not asked for one.
    pub client_ca: Option<PathBuf>,
    pub client_auth: ClientAuth,
}

/// A file that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct TlsFileError {
    /// The key under `[tls]` that names the file: `cert`, `key`, `client_ca`.
    pub key: &'static str,
    pub path: PathBuf,
    pub reason: String,
}

/// The files' contents as read, to tell a change from none.
#[derive(Clone, PartialEq)]
pub(crate) struct Contents {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl fmt::Debug for Contents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key's bytes, not even in a debug log.
        f.debug_struct("Contents")
            .field("cert_bytes", &self.cert.len())
            .finish_non_exhaustive()
    }
}

/// The files read and turned into a server config.
#[derive(Clone)]
pub struct Loaded {
    pub(crate) contents: Contents,
    pub config: Arc<ServerConfig>,
    /// The server certificate's serial (hex) and SANs, for the log.
    pub shown: String,
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("certificate", &self.shown)
            .finish_non_exhaustive()
    }
}

impl TlsFiles {
    /// Reads every file and builds the server config.
    pub fn load(&self) -> Result<Loaded, TlsFileError> {
        let contents = self.read()?;
        self.build(contents)
    }

    pub(crate) fn read(&self) -> Result<Contents, TlsFileError> {
        Ok(Contents {
            cert: read("cert", &self.cert)?,
            key: read("key", &self.key)?,
            client_ca: self
                .client_ca
                .as_deref()
                .map(|path| read("client_ca", path))
                .transpose()?,
        })
    }

    pub(crate) fn build(&self, contents: Contents) -> Result<Loaded, TlsFileError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = certificates("cert", &self.cert, &contents.cert)?;
        let key = PrivateKeyDer::from_pem_slice(&contents.key).map_err(|error| {
            bad(
                "key",
                &self.key,
                format!("no usable private key in PEM (PKCS#8, PKCS#1 or SEC1): {error}"),
            )
        })?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| bad("cert", &self.cert, error.to_string()))?;
        let builder = match (&self.client_ca, &contents.client_ca) {
            (Some(path), Some(pem)) => {
                let mut roots = RootCertStore::empty();
                for ca in certificates("client_ca", path, pem)? {
                    roots.add(ca).map_err(|error| {
                        bad("client_ca", path, format!("not a usable CA: {error}"))
                    })?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = match self.client_auth {
                    ClientAuth::Required => verifier,
                    ClientAuth::Optional => verifier.allow_unauthenticated(),
                };
                let verifier = verifier
                    .build()
                    .map_err(|error| bad("client_ca", path, error.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
            _ => builder.with_no_client_auth(),
        };
        let shown = super::peer::describe(chain[0].as_ref());
        let mut config = builder.with_single_cert(chain, key).map_err(|error| {
            let reason = match error {
                rustls::Error::InconsistentKeys(_) => format!(
                    "this key does not belong to the certificate in {} (is one of the two \
                     files still the old one?)",
                    self.cert.display()
                ),
                other => other.to_string(),
            };
            bad("key", &self.key, reason)
        })?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Loaded {
            contents,
            config: Arc::new(config),
            shown,
        })
    }
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, TlsFileError> {
    std::fs::read(path).map_err(|error| bad(key, path, format!("cannot read it: {error}")))
}

/// Every certificate in a PEM file; at least one.
fn certificates(
    key: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsFileError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| bad(key, path, format!("not PEM certificates: {error}")))?;
    if chain.is_empty() {
        return Err(bad(
            key,
            path,
            "no certificate in it (expected -----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(chain)
}

fn bad(key: &'static str, path: &Path, reason: String) -> TlsFileError {
    TlsFileError {
        key,
        path: path.to_path_buf(),
        reason,
    }
}
