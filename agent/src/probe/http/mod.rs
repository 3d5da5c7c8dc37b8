//! The `http` check: GET the backend's own `/health` (and
//! `/health/detailed` when configured), each on its kept-alive connection.
//! A 2xx with a healthy body passes; each component the body reports
//! (database, redis, external_apis, websockets) becomes a result of its
//! own. Also the HTTP client the traffic probe uses.
//!
//! - `client`: [`Getter`], one kept-alive connection's GETs.
//! - `health_body`: the body's JSON, read leniently.
//! - `results`: what the answers mean, as results (no I/O).

mod client;
mod health_body;
mod results;

use greenlight_proto::v1::CheckKind;
use tokio::time::Instant;

pub(crate) use self::client::{BodyError, Getter};
#[cfg(feature = "fuzzing")]
pub(crate) use self::results::results_for_bodies;
use self::results::{Fetched, results};
use super::{ActiveConnections, Observation, failed};
use crate::config::HttpCheck;

pub(super) const CHECK: CheckKind = CheckKind::Http;

/// More of a health body than this is not read (the connection is then not
/// reused, which is fine for a body that large).
const MAX_HEALTH_BODY: usize = 64 * 1024;

pub(crate) struct HttpProbe {
    health: Getter,
    detailed: Option<Getter>,
    /// Written when `/health/detailed` counts open WebSockets.
    connections: ActiveConnections,
    /// The body buffers, kept between rounds.
    body: Vec<u8>,
    detailed_body: Vec<u8>,
}

impl HttpProbe {
    pub(crate) fn new(check: &HttpCheck, connections: ActiveConnections) -> Self {
        HttpProbe {
            health: Getter::new(&check.url),
            detailed: check.detailed_url.as_ref().map(Getter::new),
            connections,
            body: Vec::new(),
            detailed_body: Vec::new(),
        }
    }

    /// The check's own result (status code, latency, the body's overall
    /// status), then one result per component the backend reports. Both
    /// endpoints are asked at once: the answers then usually wake the agent
    /// once, not once each.
    pub(crate) async fn check(&mut self) -> Observation {
        let started = Instant::now();
        let (health, detailed) = match &mut self.detailed {
            Some(detailed) => {
                let (health, detailed) = tokio::join!(
                    fetch(&mut self.health, &mut self.body),
                    fetch(detailed, &mut self.detailed_body)
                );
                (health, Some(detailed))
            }
            None => (fetch(&mut self.health, &mut self.body).await, None),
        };
        let health = match health {
            Ok(fetched) => fetched,
            Err(error) => return failed(CHECK, error, started.elapsed()).into(),
        };
        let (results, connections) = results(health, detailed, started.elapsed());
        if let Some(count) = connections {
            self.connections.set(count);
        }
        Observation {
            results,
            counters: None,
        }
    }

    /// After a timeout: the connections may be mid-response.
    pub(crate) fn forget_connections(&mut self) {
        self.health.forget_connection();
        if let Some(detailed) = &mut self.detailed {
            detailed.forget_connection();
        }
    }
}

/// GETs a health endpoint and parses its body. A body cut off mid-way
/// (too long, or the connection broke) is not a health verdict: the status
/// line already spoke, and what arrived is parsed if it can be.
async fn fetch(getter: &mut Getter, body: &mut Vec<u8>) -> Result<Fetched, String> {
    let fetched = getter.get(body, MAX_HEALTH_BODY).await?;
    Ok(Fetched {
        status: fetched.status,
        latency: fetched.latency,
        body: health_body::parse(body),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU16, Ordering};
    use std::time::Duration;

    use greenlight_proto::v1::CheckStatus;
    use greenlight_proto::v1::check_result::Detail;
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
                        let word = if code == 200 { "healthy" } else { "unhealthy" };
                        let body = format!(
                            r#"{{"status":"{word}","checks":{{"database":"{word}","redis":"healthy"}}}}"#
                        );
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

    fn probe_for(port: u16) -> Probe {
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}/health")).unwrap();
        let check = HttpCheck {
            url,
            detailed_url: None,
        };
        Probe::Http(HttpProbe::new(&check, ActiveConnections::new()))
    }

    #[tokio::test]
    async fn passes_on_200_fails_on_503_and_keeps_the_connection() {
        let status = Arc::new(AtomicU16::new(200));
        let accepted = Arc::new(AtomicU16::new(0));
        let port = health_server(status.clone(), accepted.clone()).await;
        let timeout = Duration::from_millis(500);
        let mut probe = probe_for(port);

        let observation = probe.observe(timeout).await;
        let result = observation.result().clone();
        assert_eq!(result.status(), CheckStatus::Pass, "{}", result.error);
        assert_eq!(result.observed_value, 200.0);
        assert_eq!(result.observed_unit, "status");
        let Some(Detail::Http(detail)) = result.detail else {
            panic!("no http detail")
        };
        assert_eq!(detail.status_code, 200);
        let components: Vec<_> = observation.results[1..]
            .iter()
            .map(|r| (r.component.as_str(), r.status()))
            .collect();
        assert_eq!(
            components,
            [
                ("database", CheckStatus::Pass),
                ("redis", CheckStatus::Pass)
            ]
        );

        status.store(503, Ordering::SeqCst);
        let observation = probe.observe(timeout).await;
        let result = observation.result();
        assert_eq!(result.status(), CheckStatus::Fail);
        assert_eq!(
            result.error,
            "HTTP 503 Service Unavailable: the backend reports unhealthy"
        );
        assert_eq!(result.observed_value, 503.0);
        let database = &observation.results[1];
        assert_eq!(database.check, "http");
        assert_eq!(database.component, "database");
        assert_eq!(database.status(), CheckStatus::Fail);
        assert_eq!(database.error, "the backend reports database unhealthy");
        assert_eq!(observation.results[2].status(), CheckStatus::Pass);
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "keep-alive reused");
    }

    #[tokio::test]
    async fn closed_port_fails_fast() {
        let timeout = Duration::from_millis(500);
        let mut probe = probe_for(closed_port().await);
        let started = std::time::Instant::now();
        let result = probe.observe(timeout).await.result().clone();
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
        let result = probe_for(port).observe(timeout).await.result().clone();
        assert_eq!(result.error, "timed out after 200ms");
        holder.abort();
    }
}
