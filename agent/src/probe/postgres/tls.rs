//! TLS for the postgres check, as libpq's `sslmode` means it: `disable`
//! speaks plain text; `prefer` (the default) and `require` encrypt, and
//! `prefer` falls back to plain text when the server has no TLS. Like
//! libpq's `require`, the server's certificate is not checked against a CA
//! (a database beside the backend often has a self-signed one); the
//! handshake's signatures still are. `verify-ca`/`verify-full` are refused
//! by the URL parser.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The TLS connector for `config`'s `sslmode`; `None` for `disable`.
pub(super) fn connector(config: &tokio_postgres::Config) -> Option<MakeRustlsConnect> {
    if config.get_ssl_mode() == SslMode::Disable {
        return None;
    }
    // ring, chosen explicitly: no process-wide default provider to install.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
        .with_no_client_auth();
    Some(MakeRustlsConnect::new(tls))
}

/// Accepts any server certificate, checks the handshake's signatures.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> tokio_postgres::Config {
        url.parse().unwrap()
    }

    #[test]
    fn sslmode_chooses_the_connector() {
        assert!(connector(&config("postgres://u@h/db?sslmode=disable")).is_none());
        assert!(connector(&config("postgres://u@h/db?sslmode=require")).is_some());
        assert!(connector(&config("postgres://u@h/db?sslmode=prefer")).is_some());
        assert!(
            connector(&config("postgres://u@h/db")).is_some(),
            "prefer is the default, as in libpq"
        );
    }
}
