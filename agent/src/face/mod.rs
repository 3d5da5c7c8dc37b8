//! The agent's own face: `GET /health` (`application/health+json`) and
//! `GET /metrics` (Prometheus text) on the `listen` address. Served with
//! hyper directly: two routes need no router, and hyper is in the agent
//! already (tonic's transport). Bounded: a few connections at a time, and
//! a client that does not send its request within a few seconds is cut off.

mod detail;
mod health;
mod metrics;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use crate::runner::{CheckHandle, Latest};
use crate::stream::Uplink;

/// Connections served at once; more wait in the kernel's accept queue.
const MAX_CONNECTIONS: usize = 8;

/// How long a client may take to send its request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Who this agent is, as `/health` says it.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) deployment: String,
    pub(crate) color: String,
    pub(crate) instance_id: String,
}

/// Everything the face shows.
pub(crate) struct Face {
    pub(crate) identity: Identity,
    pub(crate) checks: Vec<CheckHandle>,
    /// One per aggregator, in the configured order.
    pub(crate) uplinks: Vec<Uplink>,
}

/// The state at one instant, for the pure renderers.
pub(crate) struct Snapshot {
    pub(crate) identity: Identity,
    pub(crate) checks: Vec<(&'static str, Option<Latest>)>,
    /// One per aggregator, in the configured order (at least one).
    pub(crate) aggregators: Vec<AggregatorSnapshot>,
    /// Reports made: the newest sequence number.
    pub(crate) reports: u64,
    pub(crate) now: SystemTime,
}

/// One aggregator's stream and outbox at one instant.
pub(crate) struct AggregatorSnapshot {
    /// `scheme://host:port`.
    pub(crate) address: String,
    pub(crate) connected: bool,
    /// Reports waiting for this aggregator's acknowledgement.
    pub(crate) outbox_reports: usize,
    /// Reports this aggregator will never get: dropped unsent from its full
    /// outbox.
    pub(crate) dropped: u64,
    pub(crate) reconnects: u64,
}

impl Face {
    fn snapshot(&self) -> Snapshot {
        let aggregators = self
            .uplinks
            .iter()
            .map(|uplink| {
                let (outbox_reports, dropped) = {
                    let outbox = uplink.outbox.lock();
                    (outbox.len(), outbox.dropped())
                };
                AggregatorSnapshot {
                    address: uplink.address.clone(),
                    connected: uplink.status.connected(),
                    outbox_reports,
                    dropped,
                    reconnects: uplink.status.reconnects(),
                }
            })
            .collect();
        // Every outbox gets every report: any one knows the newest.
        let reports = self
            .uplinks
            .iter()
            .map(|uplink| uplink.outbox.newest())
            .max()
            .unwrap_or(0);
        Snapshot {
            identity: self.identity.clone(),
            checks: self
                .checks
                .iter()
                .map(|check| (check.name, check.latest.borrow().clone()))
                .collect(),
            aggregators,
            reports,
            now: SystemTime::now(),
        }
    }

    fn answer(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        if request.method() != Method::GET {
            return plain(StatusCode::METHOD_NOT_ALLOWED, "only GET is served\n");
        }
        match request.uri().path() {
            "/health" => {
                let (failing, body) = health::document(&self.snapshot());
                let status = if failing {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                };
                respond(status, "application/health+json", body.to_string())
            }
            "/metrics" => {
                let durations: Vec<_> = self
                    .checks
                    .iter()
                    .map(|check| check.durations.snapshot())
                    .collect();
                let text = metrics::render(&self.snapshot(), &durations);
                respond(StatusCode::OK, metrics::CONTENT_TYPE, text)
            }
            _ => plain(
                StatusCode::NOT_FOUND,
                "greenlight-agent serves /health and /metrics\n",
            ),
        }
    }
}

/// Serves `face` on `listener` until `shutdown`.
pub(crate) async fn serve(
    listener: TcpListener,
    face: Arc<Face>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => return,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors, usually: wait, do not spin.
                warn!(%error, "cannot accept a connection on the health listener");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let face = face.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let _permit = permit;
            let service = service_fn(move |request: Request<Incoming>| {
                let response = face.answer(&request);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = shutdown.cancelled() => {}
                served = connection => if let Err(error) = served {
                    debug!(%error, "health connection ended with an error");
                },
            }
        });
    }
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = content_type.parse() {
        headers.insert(CONTENT_TYPE, value);
    }
    headers.insert(
        CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    response
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    respond(status, "text/plain; charset=utf-8", text.to_string())
}
