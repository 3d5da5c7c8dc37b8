//! TLS on a real loopback socket, served by tonic over [`incoming`]: a
//! handler sees the client certificate's SANs; a client without a
//! certificate or with one from another CA is refused; a reload changes
//! what new handshakes get while an open connection keeps being served.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::pem::PemObject;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity, Server};
use tonic::{Request, Response, Status};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use super::*;

const AGENT_URI: &str = "spiffe://greenlight/escashop/green/green-1";

struct Ca(CertifiedIssuer<'static, KeyPair>);

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        Ca(CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap())
    }

    /// (certificate PEM, key PEM) for `names`; a name with `://` is a URI SAN.
    fn issue(&self, names: &[&str]) -> (String, String) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        for name in names {
            params.subject_alt_names.push(if name.contains("://") {
                SanType::URI((*name).try_into().unwrap())
            } else if let Ok(ip) = name.parse() {
                SanType::IpAddress(ip)
            } else {
                SanType::DnsName((*name).try_into().unwrap())
            });
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.0).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Answers every Check with the peer's URI SANs in `x-peer-uris`.
struct Echo;

#[tonic::async_trait]
impl Health for Echo {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let uris = peer_identity(&request).map_or("none".to_string(), |peer| peer.uris.join(" "));
        let mut response = Response::new(HealthCheckResponse { status: 1 });
        response
            .metadata_mut()
            .insert("x-peer-uris", uris.parse().unwrap());
        Ok(response)
    }

    type WatchStream = tokio_stream::Empty<Result<HealthCheckResponse, Status>>;

    async fn watch(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

/// The server's files in `dir`, a server certificate from `ca`.
fn server_files(dir: &Path, ca: &Ca, client_ca: Option<&Ca>, auth: ClientAuth) -> TlsFiles {
    let (cert, key) = ca.issue(&["127.0.0.1"]);
    std::fs::write(dir.join("server.pem"), cert).unwrap();
    std::fs::write(dir.join("server.key"), key).unwrap();
    let client_ca = client_ca.map(|client_ca| {
        let path = dir.join("client-ca.pem");
        std::fs::write(&path, client_ca.0.pem()).unwrap();
        path
    });
    TlsFiles {
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
        client_ca,
        client_auth: auth,
    }
}

struct Served {
    address: SocketAddr,
    tls: Arc<ServerTls>,
    shutdown: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn serve(files: TlsFiles) -> Served {
    let loaded = files.load().unwrap();
    let tls = Arc::new(ServerTls::new(files, Duration::from_secs(3600), loaded));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let incoming = incoming(listener, tls.clone(), &TaskTracker::new(), shutdown.clone());
    tokio::spawn(
        Server::builder()
            .add_service(HealthServer::new(Echo))
            .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned()),
    );
    Served {
        address,
        tls,
        shutdown,
    }
}

/// A client trusting `ca`, presenting `identity` (certificate, key PEM).
async fn client(
    address: SocketAddr,
    ca: &Ca,
    identity: Option<&(String, String)>,
) -> Result<HealthClient<Channel>, String> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.0.pem()));
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let channel = Endpoint::from_shared(format!("https://{address}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|error| format!("{error:?}"))?;
    Ok(HealthClient::new(channel))
}

/// One Check; the `x-peer-uris` the server saw.
async fn check(client: &mut HealthClient<Channel>) -> Result<String, String> {
    let response = client
        .check(HealthCheckRequest::default())
        .await
        .map_err(|status| format!("{status:?}"))?;
    Ok(response
        .metadata()
        .get("x-peer-uris")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string())
}

/// Connects and checks; the error of either.
async fn seen(
    address: SocketAddr,
    ca: &Ca,
    identity: Option<&(String, String)>,
) -> Result<String, String> {
    check(&mut client(address, ca, identity).await?).await
}

#[tokio::test]
async fn a_handler_sees_the_uri_san_of_the_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (server_ca, agents_ca) = (Ca::new("server CA"), Ca::new("agents CA"));
    let served = serve(server_files(
        dir.path(),
        &server_ca,
        Some(&agents_ca),
        ClientAuth::Required,
    ))
    .await;
    let agent = agents_ca.issue(&[AGENT_URI, "green-1.escashop"]);
    assert_eq!(
        seen(served.address, &server_ca, Some(&agent))
            .await
            .unwrap(),
        AGENT_URI
    );
    let identity = identity_of(
        rustls::pki_types::CertificateDer::from_pem_slice(agent.0.as_bytes())
            .unwrap()
            .as_ref(),
    )
    .unwrap();
    assert_eq!(identity.uris, [AGENT_URI]);
    assert_eq!(identity.dns_names, ["green-1.escashop"]);
}

#[tokio::test]
async fn without_a_certificate_or_with_one_from_another_ca_a_client_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (server_ca, agents_ca) = (Ca::new("server CA"), Ca::new("agents CA"));
    let served = serve(server_files(
        dir.path(),
        &server_ca,
        Some(&agents_ca),
        ClientAuth::Required,
    ))
    .await;
    let error = seen(served.address, &server_ca, None).await.unwrap_err();
    assert!(
        error.contains("CertificateRequired") || error.contains("certificate"),
        "{error}"
    );
    let stranger = Ca::new("another CA").issue(&[AGENT_URI]);
    let error = seen(served.address, &server_ca, Some(&stranger))
        .await
        .unwrap_err();
    assert!(
        error.contains("UnknownCA") || error.contains("certificate"),
        "{error}"
    );
    // The server is still there for a good client.
    let agent = agents_ca.issue(&[AGENT_URI]);
    assert_eq!(
        seen(served.address, &server_ca, Some(&agent))
            .await
            .unwrap(),
        AGENT_URI
    );
}

#[tokio::test]
async fn with_optional_client_auth_a_client_without_a_certificate_has_no_identity() {
    let dir = tempfile::tempdir().unwrap();
    let (server_ca, agents_ca) = (Ca::new("server CA"), Ca::new("agents CA"));
    let served = serve(server_files(
        dir.path(),
        &server_ca,
        Some(&agents_ca),
        ClientAuth::Optional,
    ))
    .await;
    assert_eq!(
        seen(served.address, &server_ca, None).await.unwrap(),
        "none"
    );
    let stranger = Ca::new("another CA").issue(&[AGENT_URI]);
    assert!(
        seen(served.address, &server_ca, Some(&stranger))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_reload_changes_new_handshakes_and_open_connections_live_on() {
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, new_ca) = (Ca::new("old server CA"), Ca::new("new server CA"));
    let files = server_files(dir.path(), &old_ca, None, ClientAuth::Required);
    let served = serve(files.clone()).await;
    let mut open = client(served.address, &old_ca, None).await.unwrap();
    check(&mut open).await.unwrap();

    let (cert, key) = new_ca.issue(&["127.0.0.1"]);
    std::fs::write(&files.cert, cert).unwrap();
    std::fs::write(&files.key, key).unwrap();
    assert_eq!(served.tls.reload(), Reloaded::Swapped);
    assert!(
        seen(served.address, &old_ca, None).await.is_err(),
        "a new handshake gets the new certificate"
    );
    seen(served.address, &new_ca, None).await.unwrap();
    // The old connection still works: it never handshakes again (a new
    // handshake would fail, it trusts the old CA only).
    check(&mut open).await.unwrap();

    // A half-written pair: the old key with a new certificate. Refused,
    // naming the key file; the certificates in force stay.
    let (cert, _) = new_ca.issue(&["127.0.0.1"]);
    std::fs::write(&files.cert, cert).unwrap();
    let Reloaded::Refused(error) = served.tls.reload() else {
        panic!("a key that is not the certificate's was taken");
    };
    assert_eq!(error.key, "key");
    assert!(error.reason.contains("does not belong"), "{error}");
    seen(served.address, &new_ca, None).await.unwrap();
    check(&mut open).await.unwrap();
}

#[test]
fn unusable_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("CA");
    let mut files = server_files(dir.path(), &ca, Some(&ca), ClientAuth::Required);
    std::fs::write(&files.key, "not a key").unwrap();
    let error = files.load().unwrap_err();
    assert_eq!(error.key, "key");
    assert!(error.to_string().contains("server.key"), "{error}");
    files.client_ca = Some(dir.path().join("missing.pem"));
    let error = files.load().unwrap_err();
    assert_eq!(error.key, "client_ca");
    assert!(error.reason.contains("cannot read"), "{error}");
    files.client_ca = None;
    std::fs::write(&files.cert, "").unwrap();
    assert!(files.load().unwrap_err().reason.contains("no certificate"));
}
