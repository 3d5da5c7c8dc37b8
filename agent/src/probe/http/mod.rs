//! The `http` check: GET the backend's own `/health` on a keep-alive
//! client; any 2xx passes. Also the HTTP client the traffic probe shares.

use std::time::Duration;

use greenlight_proto::v1::{CheckResult, HttpDetail, check_result::Detail};
use reqwest::{Response, Url};
use tokio::time::Instant;

use super::{ProbeSetupError, failed, passed};
use crate::error_text::describe;

pub(super) const CHECK: &str = "http";

/// More of a health body than this is not read (the connection is then not
/// reused, which is fine for a body that large).
const MAX_HEALTH_BODY: usize = 64 * 1024;

/// A keep-alive client for probing a backend on this host: no proxy (a
/// sidecar talks to its neighbour directly) and bounded by the probe timeout.
pub(crate) fn probe_client(
    check: &'static str,
    timeout: Duration,
) -> Result<reqwest::Client, ProbeSetupError> {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(timeout)
        .pool_max_idle_per_host(2)
        .user_agent(concat!("greenlight-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|source| ProbeSetupError::HttpClient { check, source })
}

/// Reads and discards up to `limit` bytes of the body, so the connection
/// can serve the next probe.
pub(crate) async fn drain(mut response: Response, limit: usize) -> Result<(), reqwest::Error> {
    let mut read = 0;
    while let Some(chunk) = response.chunk().await? {
        read += chunk.len();
        if read > limit {
            break;
        }
    }
    Ok(())
}

pub(crate) struct HttpProbe {
    client: reqwest::Client,
    url: Url,
}

impl HttpProbe {
    pub(crate) fn new(url: Url, timeout: Duration) -> Result<Self, ProbeSetupError> {
        Ok(HttpProbe {
            client: probe_client(CHECK, timeout)?,
            url,
        })
    }

    pub(crate) async fn check(&mut self) -> CheckResult {
        let started = Instant::now();
        let response = match self.client.get(self.url.clone()).send().await {
            Ok(response) => response,
            Err(error) => return failed(CHECK, describe(&error), started.elapsed()),
        };
        let status = response.status();
        // A body cut off mid-way is the backend's fault but not a health
        // verdict: the status line already said it.
        let _ = drain(response, MAX_HEALTH_BODY).await;
        let latency = started.elapsed();
        let mut result = if status.is_success() {
            passed(CHECK, latency)
        } else {
            failed(CHECK, format!("HTTP {status}"), latency)
        };
        result.observed_value = f64::from(status.as_u16());
        result.observed_unit = "status".to_string();
        result.detail = Some(Detail::Http(HttpDetail {
            status_code: u32::from(status.as_u16()),
            latency_seconds: latency.as_secs_f64(),
        }));
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU16, Ordering};

    use greenlight_proto::v1::CheckStatus;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::probe::{Probe, closed_port};

    /// A tiny HTTP/1.1 server answering every request with `status`, keeping
    /// connections open; counts the connections it accepted.
    async fn health_server(status: Arc<AtomicU16>, accepted: Arc<AtomicU16>) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                let status = status.clone();
                tokio::spawn(async move {
                    let mut buffer = vec![0; 4096];
                    while let Ok(read) = socket.read(&mut buffer).await {
                        if read == 0 {
                            break;
                        }
                        let code = status.load(Ordering::SeqCst);
                        let body = r#"{"status":"healthy"}"#;
                        let reply = format!(
                            "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\n\
                             content-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if socket.write_all(reply.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        port
    }

    fn probe_for(port: u16, timeout: Duration) -> Probe {
        let url = Url::parse(&format!("http://127.0.0.1:{port}/health")).unwrap();
        Probe::Http(HttpProbe::new(url, timeout).unwrap())
    }

    #[tokio::test]
    async fn passes_on_200_fails_on_503_and_keeps_the_connection() {
        let status = Arc::new(AtomicU16::new(200));
        let accepted = Arc::new(AtomicU16::new(0));
        let port = health_server(status.clone(), accepted.clone()).await;
        let timeout = Duration::from_millis(500);
        let mut probe = probe_for(port, timeout);

        let result = probe.observe(timeout).await.result;
        assert_eq!(result.status(), CheckStatus::Pass, "{}", result.error);
        assert_eq!(result.observed_value, 200.0);
        assert_eq!(result.observed_unit, "status");
        let Some(Detail::Http(detail)) = result.detail else {
            panic!("no http detail")
        };
        assert_eq!(detail.status_code, 200);

        status.store(503, Ordering::SeqCst);
        let result = probe.observe(timeout).await.result;
        assert_eq!(result.status(), CheckStatus::Fail);
        assert!(result.error.starts_with("HTTP 503"), "{}", result.error);
        assert_eq!(result.observed_value, 503.0);
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "keep-alive reused");
    }

    #[tokio::test]
    async fn closed_port_fails_fast() {
        let timeout = Duration::from_millis(500);
        let mut probe = probe_for(closed_port().await, timeout);
        let started = std::time::Instant::now();
        let result = probe.observe(timeout).await.result;
        assert!(started.elapsed() < timeout);
        assert_eq!(result.status(), CheckStatus::Fail);
        assert_eq!(result.error, "connection refused");
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let timeout = Duration::from_millis(200);
        let result = probe_for(port, timeout).observe(timeout).await.result;
        assert_eq!(result.error, "timed out after 200ms");
        holder.abort();
    }
}
