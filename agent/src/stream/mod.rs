//! The report stream to one aggregator, kept up for the agent's whole life:
//! sessions one after another, jittered exponential backoff between them,
//! one log line per outage rather than one per attempt. Reports keep
//! accumulating in the outbox while the aggregator is away and are replayed
//! when it is back. An `https://` aggregator is reached over TLS only, with
//! the `[tls]` files read again for every attempt (renewed certificates
//! need no restart).

mod session;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use greenlight_proto::v1::Hello;
use greenlight_retry::RetryPolicy;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Endpoint;
use tracing::{debug, error, info, warn};

pub use self::session::StreamError;
use self::session::{CONNECT_TIMEOUT, Session};
use crate::config::AggregatorTls;
use crate::outbox::SharedOutbox;
use crate::probe::AggregatorMinRequests;

/// Retry period after the aggregator refused the Hello as invalid: only a
/// configuration change helps, so there is no point in hurrying.
const HELLO_REJECTED_RETRY: Duration = Duration::from_secs(5);

/// A refused Hello is logged again every this many attempts (once a minute).
const HELLO_REJECTED_REMINDER: u32 = 12;

/// Who the stream speaks for and where to.
#[derive(Debug, Clone)]
pub(crate) struct StreamTarget {
    /// `scheme://host:port` of the aggregator.
    pub(crate) address: String,
    /// `Some` for `https://`: TLS, never plaintext.
    pub(crate) tls: Option<AggregatorTls>,
    /// Read at every attempt: a rotated token needs no restart.
    pub(crate) token_file: Option<PathBuf>,
    pub(crate) hello: Hello,
    /// Set from each Welcome: the traffic check judges by the aggregator's minimum.
    pub(crate) min_requests: AggregatorMinRequests,
}

/// One aggregator's share of the agent: its address, its own outbox (so an
/// aggregator that is down or slow never delays or drops what the others
/// get, and replays its own backlog when back) and its stream's status.
#[derive(Debug, Clone)]
pub(crate) struct Uplink {
    /// `scheme://host:port`, as logs, `/health` and `/metrics` name it.
    pub(crate) address: String,
    pub(crate) outbox: SharedOutbox,
    pub(crate) status: Arc<StreamStatus>,
}

impl Uplink {
    pub(crate) fn new(address: String, buffer_reports: usize) -> Self {
        Uplink {
            address,
            outbox: SharedOutbox::new(buffer_reports),
            status: Arc::new(StreamStatus::default()),
        }
    }
}

/// Whether the stream is up and how often it was tried again, for the
/// agent's `/health` and `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct StreamStatus {
    connected: AtomicBool,
    reconnects: AtomicU64,
}

impl StreamStatus {
    pub(crate) fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Connection attempts after the first.
    pub(crate) fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }
}

/// Keeps the stream to `target` up until `shutdown`, sending what
/// `outbox` holds.
pub(crate) async fn run_stream(
    target: StreamTarget,
    outbox: SharedOutbox,
    status: &StreamStatus,
    shutdown: CancellationToken,
) -> Result<(), StreamError> {
    // A bad address ends the stream at once; bad TLS files are retried.
    endpoint(&target.address, None)?;
    let mut newest = outbox.subscribe();
    let mut backoff = RetryPolicy::RECONNECT.backoff();
    let mut outage = Outage::new(&target.address);
    let mut first = true;
    loop {
        if !std::mem::take(&mut first) {
            status.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        let open = async {
            let endpoint = endpoint(&target.address, target.tls.as_ref())?;
            let token = target
                .token_file
                .as_deref()
                .map(read_token)
                .transpose()
                .map_err(StreamError::Connect)?;
            Session::open(
                &target.address,
                &endpoint,
                token,
                target.hello.clone(),
                &target.min_requests,
                &outbox,
            )
            .await
        };
        let opened = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            opened = open => opened,
        };
        let delay = match opened {
            Ok(session) => {
                backoff.reset();
                outage.connected(session.sent_up_to(), outbox.lock().len());
                status.connected.store(true, Ordering::Relaxed);
                let pumped = session.pump(&outbox, &mut newest, &shutdown).await;
                status.connected.store(false, Ordering::Relaxed);
                match pumped {
                    Ok(()) => return Ok(()),
                    Err(error) => {
                        outage.broke(&error);
                        backoff.next_delay()
                    }
                }
            }
            Err(StreamError::HelloRejected(message)) => {
                outage.hello_rejected(&message);
                HELLO_REJECTED_RETRY
            }
            Err(error) => {
                outage.failed(&error);
                backoff.next_delay()
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// The `authorization` header for the token in `path`; the error says
/// which file and why.
pub(crate) fn read_token(path: &Path) -> Result<MetadataValue<Ascii>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the token file {}: {error}", path.display()))?;
    greenlight_proto::bearer::authorization(&text)
        .map_err(|problem| format!("{}: {problem}", path.display()))
}

/// The endpoint of one connection attempt, with the TLS files as they are
/// now.
fn endpoint(address: &str, tls: Option<&AggregatorTls>) -> Result<Endpoint, StreamError> {
    let endpoint = Endpoint::from_shared(address.to_string())
        .map_err(|error| StreamError::Connect(error.to_string()))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        // Notices an aggregator that vanished without closing the connection.
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5))
        .keep_alive_while_idle(true);
    match tls {
        Some(tls) => {
            let config = tls.client_config().map_err(StreamError::Connect)?;
            endpoint.tls_config(config).map_err(|error| {
                StreamError::Connect(format!("TLS: {}", crate::error_text::describe(&error)))
            })
        }
        None => Ok(endpoint),
    }
}

/// Says each outage once: when it starts, and when it is over.
struct Outage<'a> {
    address: &'a str,
    /// When the aggregator became unreachable; `None` while connected or
    /// before the first attempt.
    since: Option<Instant>,
    attempts: u32,
    /// The last refusal said, so a changed message is said again.
    last_refusal: Option<String>,
}

impl<'a> Outage<'a> {
    fn new(address: &'a str) -> Self {
        Outage {
            address,
            since: None,
            attempts: 0,
            last_refusal: None,
        }
    }

    fn connected(&mut self, aggregator_holds: u64, buffered: usize) {
        match self.since.take() {
            Some(since) => info!(
                aggregator = %self.address,
                down_for = ?since.elapsed(),
                attempts = self.attempts,
                aggregator_holds,
                buffered,
                "connected to the aggregator again; replaying buffered reports"
            ),
            None => info!(
                aggregator = %self.address,
                aggregator_holds,
                buffered,
                "connected to the aggregator"
            ),
        }
        self.attempts = 0;
        self.last_refusal = None;
    }

    fn broke(&mut self, error: &StreamError) {
        self.since = Some(Instant::now());
        self.attempts = 0;
        warn!(
            aggregator = %self.address,
            %error,
            "lost the stream to the aggregator; buffering reports and reconnecting"
        );
    }

    fn failed(&mut self, error: &StreamError) {
        self.attempts += 1;
        if self.since.is_none() {
            self.since = Some(Instant::now());
            warn!(
                aggregator = %self.address,
                %error,
                "cannot reach the aggregator; buffering reports and retrying with backoff"
            );
        } else {
            debug!(aggregator = %self.address, %error, attempt = self.attempts, "aggregator still unreachable");
        }
    }

    fn hello_rejected(&mut self, message: &str) {
        self.attempts += 1;
        self.since.get_or_insert_with(Instant::now);
        let new_message = self.last_refusal.as_deref() != Some(message);
        if new_message || self.attempts % HELLO_REJECTED_REMINDER == 0 {
            error!(
                aggregator = %self.address,
                reason = %message,
                retry_in = ?HELLO_REJECTED_RETRY,
                "CONFIGURATION ERROR: the aggregator refuses this agent's identity; fix the \
                 agent's configuration (deployment, color, instance_id, or its certificate or token_file)"
            );
        }
        self.last_refusal = Some(message.to_string());
    }
}
