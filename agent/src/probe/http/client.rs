//! GETs of one URL on the backend next door over one kept-alive HTTP/1.1
//! connection: reused while the backend keeps it open, made again when it
//! does not. hyper's connection API directly: reqwest's pool, redirect and
//! retry layers, and its re-parsing of the URL on every request, were a
//! tenth of the agent's CPU for its few GETs a second (perf, during
//! `bench/agent-footprint.sh`).

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderValue, USER_AGENT};
use hyper::{Request, Response, Uri};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::AbortHandle;
use url::Url;

use crate::error_text::describe;
use crate::probe::web_tls::{self, Tls};

const AGENT: &str = concat!("greenlight-agent/", env!("CARGO_PKG_VERSION"));

pub(crate) struct Getter {
    /// Where to connect: the URL's host (IPv6 without brackets) and port.
    host: String,
    port: u16,
    tls: Tls,
    /// The request target (path and query) and `Host` header, made once.
    target: Uri,
    host_header: HeaderValue,
    connection: Option<Connection>,
}

struct Connection {
    sender: SendRequest<Empty<Bytes>>,
    /// The task driving the socket: aborted with the connection, so a
    /// backend that never answers does not keep it alive.
    driver: AbortHandle,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// A response's status, and how reading its body went.
pub(crate) struct Fetched {
    pub(crate) status: hyper::StatusCode,
    /// When the response head arrived, from the start of the request.
    pub(crate) latency: Duration,
    pub(crate) body: Result<(), BodyError>,
}

/// Why a body was not read whole (what was read is in the buffer).
pub(crate) enum BodyError {
    /// Longer than the limit.
    TooLarge,
    /// The connection failed mid-way.
    Failed(String),
}

impl Getter {
    /// For an `http://` or `https://` URL (the configuration allows no
    /// other here).
    pub(crate) fn new(url: &Url) -> Getter {
        let host = url.host_str().unwrap_or("127.0.0.1");
        let port = url.port_or_known_default().unwrap_or(80);
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        Getter {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            tls: Tls::for_url(url),
            // A parsed URL's path and query are a valid request target, and
            // its host a valid header.
            target: target.parse().unwrap_or_else(|_| Uri::from_static("/")),
            host_header: HeaderValue::from_str(&authority)
                .unwrap_or_else(|_| HeaderValue::from_static("localhost")),
            connection: None,
        }
    }

    /// GETs the URL and reads up to `limit` bytes of the body into `body`.
    pub(crate) async fn get(
        &mut self,
        body: &mut Vec<u8>,
        limit: usize,
    ) -> Result<Fetched, String> {
        let started = tokio::time::Instant::now();
        let response = self.send().await?;
        let status = response.status();
        let latency = started.elapsed();
        let read = read_body(response, body, limit).await;
        if read.is_err() {
            // The rest of that body would be read as the next response.
            self.forget_connection();
        }
        Ok(Fetched {
            status,
            latency,
            body: read,
        })
    }

    /// Other TLS settings than the URL's (tests: their own roots).
    #[cfg(test)]
    pub(crate) fn with_tls(mut self, tls: Tls) -> Getter {
        self.tls = tls;
        self
    }

    /// Drops the connection (after a timeout: it may be mid-response).
    pub(crate) fn forget_connection(&mut self) {
        self.connection = None;
    }

    /// Sends the request on the kept connection, or on a new one when there
    /// is none or the kept one turns out closed (a backend may close an
    /// idle connection just as it is reused: then once more, fresh).
    async fn send(&mut self) -> Result<Response<Incoming>, String> {
        if let Some(connection) = &mut self.connection {
            let request = request(&self.target, &self.host_header);
            if connection.sender.ready().await.is_ok() {
                if let Ok(response) = connection.sender.send_request(request).await {
                    return Ok(response);
                }
            }
            self.connection = None;
        }
        let request = request(&self.target, &self.host_header);
        let connection = self.connect().await?;
        let sent = async {
            connection.sender.ready().await?;
            connection.sender.send_request(request).await
        };
        sent.await.map_err(|error| describe(&error))
    }

    async fn connect(&mut self) -> Result<&mut Connection, String> {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|error| describe(&error))?;
        // Requests are one small write each: no waiting for Nagle.
        let _ = stream.set_nodelay(true);
        let connection = match self.tls.config() {
            None => handshake(stream).await?,
            Some(config) => handshake(web_tls::connect(config?, stream, &self.host).await?).await?,
        };
        Ok(self.connection.insert(connection))
    }
}

/// HTTP/1.1 on `io`, its connection driven by a task of its own.
async fn handshake<S>(io: S) -> Result<Connection, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, driver) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(|error| describe(&error))?;
    let driver = tokio::spawn(async move {
        // Its errors reach the request that was waiting on it.
        let _ = driver.await;
    })
    .abort_handle();
    Ok(Connection { sender, driver })
}

fn request(target: &Uri, host: &HeaderValue) -> Request<Empty<Bytes>> {
    let mut request = Request::new(Empty::new());
    *request.uri_mut() = target.clone();
    let headers = request.headers_mut();
    headers.insert(HOST, host.clone());
    headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
    request
}

/// Reads `response`'s body into `body` (cleared first), up to `limit` bytes.
async fn read_body(
    response: Response<Incoming>,
    body: &mut Vec<u8>,
    limit: usize,
) -> Result<(), BodyError> {
    body.clear();
    let mut incoming = response.into_body();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|error| BodyError::Failed(describe(&error)))?;
        if let Ok(chunk) = frame.into_data() {
            if body.len() + chunk.len() > limit {
                return Err(BodyError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// Answers one request per connection, then closes it without saying
    /// so (no `Connection: close`), as a backend dropping idle connections.
    async fn one_request_per_connection() -> (u16, tokio::task::JoinHandle<u32>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let mut accepted = 0;
            while accepted < 3 {
                let (mut socket, _) = listener.accept().await.unwrap();
                accepted += 1;
                let mut request = vec![0; 4096];
                let read = socket.read(&mut request).await.unwrap();
                let head = String::from_utf8_lossy(&request[..read]).to_string();
                assert!(head.starts_with("GET /metrics?x=1 HTTP/1.1\r\n"), "{head}");
                assert!(
                    head.contains(&format!("host: 127.0.0.1:{port}\r\n")),
                    "{head}"
                );
                let body = format!("page {accepted}");
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(reply.as_bytes()).await.unwrap();
                drop(socket);
            }
            accepted
        });
        (port, server)
    }

    #[tokio::test]
    async fn a_connection_closed_by_the_backend_is_made_again() {
        let (port, server) = one_request_per_connection().await;
        let url = Url::parse(&format!("http://127.0.0.1:{port}/metrics?x=1")).unwrap();
        let mut getter = Getter::new(&url);
        let mut body = Vec::new();
        for round in 1..=3 {
            let fetched = getter.get(&mut body, 1024).await.unwrap();
            assert_eq!(fetched.status, 200);
            assert!(fetched.body.is_ok());
            assert_eq!(body, format!("page {round}").as_bytes());
            // No pause: the next request may go out before the close is seen,
            // and is then sent again on a new connection.
        }
        assert_eq!(server.await.unwrap(), 3);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_cut_and_said() {
        let (port, _server) = one_request_per_connection().await;
        let url = Url::parse(&format!("http://127.0.0.1:{port}/metrics?x=1")).unwrap();
        let mut body = Vec::new();
        let fetched = Getter::new(&url).get(&mut body, 3).await.unwrap();
        assert!(matches!(fetched.body, Err(BodyError::TooLarge)));
    }

    #[tokio::test]
    async fn https_checks_the_servers_certificate() {
        // One answer per connection.
        let (port, trusting) = web_tls::testing::tls_server(|mut tls| async move {
            let mut request = vec![0; 4096];
            let _ = tls.read(&mut request).await;
            let reply = "HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nsecured";
            let _ = tls.write_all(reply.as_bytes()).await;
            let _ = tls.flush().await;
        })
        .await;
        let url = Url::parse(&format!("https://127.0.0.1:{port}/health")).unwrap();
        let mut body = Vec::new();

        let mut getter = Getter::new(&url).with_tls(trusting);
        let fetched = getter.get(&mut body, 1024).await.unwrap();
        assert_eq!(fetched.status, 200);
        assert_eq!(body, b"secured");

        // Trusting another certificate only: the server's is refused.
        let (_, other) = web_tls::testing::self_signed();
        let mut getter = Getter::new(&url).with_tls(other);
        let Err(error) = getter.get(&mut body, 1024).await else {
            panic!("an unknown certificate was accepted")
        };
        assert!(
            error.starts_with("TLS: invalid peer certificate"),
            "{error}"
        );
    }
}
