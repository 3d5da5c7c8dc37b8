//! Certificates made by the test that needs them (none are committed): a
//! CA of its own, and the server and client certificates it signs, written
//! as PEM files where the processes under test read them.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType,
    SerialNumber,
};

/// A certificate authority that lives as long as the test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, as files.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA named `name` (its common name).
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("empty SANs");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("a CA key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("a self-signed CA"),
        }
    }

    /// The CA's certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes the CA's certificate to `dir/<name>.pem`; its path.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(format!("{name}.pem"));
        std::fs::write(&path, self.pem()).expect("writing a CA certificate");
        path
    }

    /// Signs a certificate for `names` (IP addresses, DNS names, and URIs:
    /// anything with `://`) with serial number `serial`, and writes it and
    /// its key to `dir/<stem>.pem` and `dir/<stem>.key`.
    pub fn issue(&self, dir: &Path, stem: &str, names: &[&str], serial: u64) -> Issued {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("empty SANs");
        params.distinguished_name.push(DnType::CommonName, stem);
        params.serial_number = Some(SerialNumber::from(serial));
        for name in names {
            params.subject_alt_names.push(if name.contains("://") {
                SanType::URI((*name).try_into().expect("an ASCII URI"))
            } else if let Ok(ip) = name.parse() {
                SanType::IpAddress(ip)
            } else {
                SanType::DnsName((*name).try_into().expect("an ASCII DNS name"))
            });
        }
        let key = KeyPair::generate().expect("a key");
        let cert = params.signed_by(&key, &self.issuer).expect("signing");
        let issued = Issued {
            cert: dir.join(format!("{stem}.pem")),
            key: dir.join(format!("{stem}.key")),
        };
        // A reader between the two writes sees a pair that does not match:
        // the aggregator refuses it and keeps its certificates until both
        // are in.
        std::fs::write(&issued.key, key.serialize_pem()).expect("writing a key");
        std::fs::write(&issued.cert, cert.pem()).expect("writing a certificate");
        issued
    }
}
