//! TLS for the backend's own URLs: `https://` for the http and traffic
//! checks, `wss://` for the websocket check. The server's certificate is
//! checked against the system's roots, which `SSL_CERT_FILE` or
//! `SSL_CERT_DIR` can replace (as for `rediss://`; a backend with a
//! self-signed certificate is trusted by pointing `SSL_CERT_FILE` at it).
//! The roots are loaded once, at the first TLS connection, so an agent that
//! speaks plain HTTP never holds them.

use std::sync::{Arc, OnceLock};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use url::Url;

use crate::error_text::describe;

/// Whether a URL's connections speak TLS, and trusting what.
#[derive(Clone)]
pub(crate) enum Tls {
    /// `http://`, `ws://`.
    Plain,
    /// `https://`, `wss://`: the system's roots.
    SystemRoots,
    /// Only these roots (tests).
    #[cfg_attr(not(test), allow(dead_code))]
    Trusting(Arc<ClientConfig>),
}

impl Tls {
    pub(crate) fn for_url(url: &Url) -> Tls {
        match url.scheme() {
            "https" | "wss" => Tls::SystemRoots,
            _ => Tls::Plain,
        }
    }

    /// The client configuration; `None` for plain connections.
    pub(crate) fn config(&self) -> Option<Result<Arc<ClientConfig>, String>> {
        static SYSTEM: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
        match self {
            Tls::Plain => None,
            Tls::SystemRoots => Some(SYSTEM.get_or_init(system_roots).clone()),
            Tls::Trusting(config) => Some(Ok(config.clone())),
        }
    }
}

/// Runs the TLS handshake on `stream` for `host` (the URL's host: a name
/// or an IP address, which the certificate must name).
pub(crate) async fn connect(
    config: Arc<ClientConfig>,
    stream: TcpStream,
    host: &str,
) -> Result<TlsStream<TcpStream>, String> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("TLS: {host:?} is not a valid server name"))?;
    TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|error| format!("TLS: {}", describe(&error)))
}

/// A client configuration trusting `roots` (ring, chosen explicitly: no
/// process-wide default provider to install).
pub(crate) fn client_config(roots: RootCertStore) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn system_roots() -> Result<Arc<ClientConfig>, String> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(loaded.certs);
    if roots.is_empty() {
        let why = loaded
            .errors
            .first()
            .map(|error| format!(": {error}"))
            .unwrap_or_default();
        return Err(format!(
            "TLS: no trusted certificates found (the system's, or SSL_CERT_FILE){why}"
        ));
    }
    client_config(roots)
}

/// A self-signed certificate for 127.0.0.1: the server side of the TLS
/// tests, and a client trusting only it.
#[cfg(test)]
pub(crate) mod testing {
    use std::future::Future;
    use std::sync::Arc;

    use rustls::RootCertStore;
    use rustls::pki_types::PrivateKeyDer;
    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::server::TlsStream;

    use super::{Tls, client_config};

    /// A TLS server on 127.0.0.1 with a self-signed certificate, running
    /// `serve` on each connection after the handshake; its port, and a
    /// client that trusts that certificate only.
    pub(crate) async fn tls_server<F, Fut>(serve: F) -> (u16, Tls)
    where
        F: Fn(TlsStream<TcpStream>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (acceptor, trusting) = self_signed();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let serve = Arc::new(serve);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (acceptor, serve) = (acceptor.clone(), serve.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(socket).await {
                        serve(tls).await;
                    }
                });
            }
        });
        (port, trusting)
    }

    pub(crate) fn self_signed() -> (TlsAcceptor, Tls) {
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![certified.cert.der().clone()],
                PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into()),
            )
            .unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(certified.cert.der().clone()).unwrap();
        let client = client_config(roots).unwrap();
        (TlsAcceptor::from(Arc::new(server)), Tls::Trusting(client))
    }
}
