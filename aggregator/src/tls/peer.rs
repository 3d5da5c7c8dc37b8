//! Who is on the other end: the SANs of the client certificate that the
//! TLS handshake verified. tonic keeps the peer's certificates in each
//! request's extensions (its `Connected` for tokio-rustls streams), so any
//! handler can ask; identity binding matches these names (e.g.
//! `spiffe://greenlight/<deployment>/<color>/<instance>`) against what a
//! stream says it is.

use tonic::Request;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The names a client certificate vouches for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerIdentity {
    /// URI SANs, e.g. `spiffe://greenlight/escashop/green/green-1`.
    pub uris: Vec<String>,
    /// DNS SANs.
    pub dns_names: Vec<String>,
}

/// The identity of the client certificate of `request`'s connection:
/// `None` on a plaintext connection or when the client sent no certificate
/// (allowed with `client_auth = "optional"`).
pub fn peer_identity<T>(request: &Request<T>) -> Option<PeerIdentity> {
    let certificates = request.peer_certs()?;
    identity_of(certificates.first()?.as_ref())
}

/// The SANs of one DER certificate; `None` if it does not parse (it was
/// verified by the handshake, so that does not happen to a peer's).
pub fn identity_of(der: &[u8]) -> Option<PeerIdentity> {
    let (_, certificate) = X509Certificate::from_der(der).ok()?;
    let mut identity = PeerIdentity::default();
    if let Ok(Some(names)) = certificate.subject_alternative_name() {
        for name in &names.value.general_names {
            match name {
                GeneralName::URI(uri) => identity.uris.push((*uri).to_string()),
                GeneralName::DNSName(dns) => identity.dns_names.push((*dns).to_string()),
                _ => {}
            }
        }
    }
    Some(identity)
}

/// A certificate in a few words for the log: serial, SANs, expiry.
pub(super) fn describe(der: &[u8]) -> String {
    let Ok((_, certificate)) = X509Certificate::from_der(der) else {
        return "a certificate that does not parse".into();
    };
    let mut names = Vec::new();
    if let Ok(Some(sans)) = certificate.subject_alternative_name() {
        for name in &sans.value.general_names {
            names.push(name.to_string());
        }
    }
    format!(
        "serial {}, names [{}], valid until {}",
        certificate.raw_serial_as_string(),
        names.join(", "),
        certificate.validity().not_after
    )
}
