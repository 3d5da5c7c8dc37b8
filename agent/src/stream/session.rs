//! One connection's life: connect, say Hello, wait for the Welcome, then
//! send buffered and new reports in sequence order while handling the
//! aggregator's acknowledgements and rejections.

use std::time::Duration;

use futures::StreamExt;
use greenlight_proto::v1::agent_message::Body as AgentBody;
use greenlight_proto::v1::agent_service_client::AgentServiceClient;
use greenlight_proto::v1::aggregator_message::Body as AggregatorBody;
use greenlight_proto::v1::{AgentMessage, AggregatorMessage, Hello, Reject, RejectReason};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Endpoint;
use tonic::{Code, Status, Streaming};
use tracing::{Instrument, debug, error, warn};

use crate::outbox::SharedOutbox;
use crate::probe::AggregatorMinRequests;

/// How long connecting to the aggregator may take.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the aggregator then has to answer the Hello with a Welcome.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);

/// Messages queued towards the transport; more wait in the outbox, which is
/// where backpressure belongs (it counts what it drops).
const OUTBOUND_MESSAGES: usize = 16;

/// Why a session ended or never started.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("cannot connect: {0}")]
    Connect(String),
    /// INVALID_ARGUMENT, UNAUTHENTICATED or PERMISSION_DENIED: the
    /// aggregator refuses who we say we are, or our credentials. Retrying
    /// fast cannot help; the configuration has to change.
    #[error("the aggregator refused the Hello: {0}")]
    HelloRejected(String),
    #[error("the aggregator answered {code:?}: {message}")]
    Status { code: Code, message: String },
    #[error("no Welcome within {}", humantime::format_duration(CONNECT_TIMEOUT + WELCOME_TIMEOUT))]
    NoWelcome,
    #[error("the aggregator answered the Hello with {0} instead of a Welcome")]
    Protocol(&'static str),
    #[error("the aggregator closed the stream")]
    Closed,
}

impl From<Status> for StreamError {
    fn from(status: Status) -> Self {
        match status.code() {
            Code::InvalidArgument | Code::Unauthenticated | Code::PermissionDenied => {
                StreamError::HelloRejected(status.message().to_string())
            }
            code => StreamError::Status {
                code,
                message: status.message().to_string(),
            },
        }
    }
}

pub(super) struct Session {
    /// The aggregator's address, for logs (an agent may have several).
    aggregator: String,
    requests: mpsc::Sender<AgentMessage>,
    responses: Streaming<AggregatorMessage>,
    /// Every report up to this sequence was sent on this stream or was
    /// already held by the aggregator: the next to send comes after it.
    sent_up_to: u64,
}

impl Session {
    /// Connects, says `hello` and waits for the Welcome (its minimum request
    /// count goes to `min_requests`); then forgets the reports the
    /// aggregator already holds.
    pub(super) async fn open(
        aggregator: &str,
        endpoint: &Endpoint,
        token: Option<MetadataValue<Ascii>>,
        hello: Hello,
        min_requests: &AggregatorMinRequests,
        outbox: &SharedOutbox,
    ) -> Result<Session, StreamError> {
        let (requests, outgoing) = mpsc::channel(OUTBOUND_MESSAGES);
        let hello = AgentMessage {
            body: Some(AgentBody::Hello(hello)),
        };
        // The channel is new and empty: the Hello always fits, and goes first.
        let _ = requests.try_send(hello);
        // Connecting is bounded by the endpoint's connect timeout; the whole
        // handshake, HTTP/2 included, by this one.
        let handshake = async {
            let channel = endpoint
                .connect()
                .await
                .map_err(|error| StreamError::Connect(crate::error_text::describe(&error)))?;
            let mut request = tonic::Request::new(ReceiverStream::new(outgoing));
            if let Some(token) = token {
                request.metadata_mut().insert("authorization", token);
            }
            // The aggregator's span for this stream joins this trace.
            greenlight_telemetry::inject_metadata(
                &tracing::Span::current(),
                request.metadata_mut(),
            );
            let mut responses = AgentServiceClient::new(channel)
                .stream(request)
                .await?
                .into_inner();
            match responses.message().await? {
                Some(AggregatorMessage {
                    body: Some(AggregatorBody::Welcome(welcome)),
                }) => {
                    min_requests.set(welcome.min_requests);
                    Ok((responses, welcome.last_sequence))
                }
                Some(AggregatorMessage {
                    body: Some(AggregatorBody::Ack(_)),
                }) => Err(StreamError::Protocol("an Ack")),
                Some(AggregatorMessage {
                    body: Some(AggregatorBody::Reject(_)),
                }) => Err(StreamError::Protocol("a Reject")),
                Some(AggregatorMessage { body: None }) => {
                    Err(StreamError::Protocol("an empty message"))
                }
                None => Err(StreamError::Closed),
            }
        };
        let (responses, mut last_sequence) = tokio::time::timeout(
            CONNECT_TIMEOUT + WELCOME_TIMEOUT,
            // Its own trace: one connection's, not any report's.
            handshake.instrument(tracing::info_span!(parent: None, "agent.connect")),
        )
        .await
        .map_err(|_| StreamError::NoWelcome)??;
        let newest = outbox.newest();
        if last_sequence > newest {
            // It cannot hold what was never made; trusting it would leave
            // the next reports unsent.
            warn!(
                aggregator,
                last_sequence,
                newest,
                "the aggregator claims reports this agent has not made yet; sending from ours"
            );
            last_sequence = newest;
        }
        {
            let mut outbox = outbox.lock();
            outbox.acknowledge(last_sequence);
            outbox.resend_after(last_sequence);
        }
        Ok(Session {
            aggregator: aggregator.to_string(),
            requests,
            responses,
            sent_up_to: last_sequence,
        })
    }

    /// The highest sequence the aggregator said it holds, plus what was sent since.
    pub(super) fn sent_up_to(&self) -> u64 {
        self.sent_up_to
    }

    /// Sends reports until shutdown (`Ok`) or until the stream fails.
    pub(super) async fn pump(
        mut self,
        outbox: &SharedOutbox,
        newest: &mut watch::Receiver<u64>,
        shutdown: &CancellationToken,
    ) -> Result<(), StreamError> {
        let mut reporter_alive = true;
        loop {
            let has_next = outbox.lock().next_after(self.sent_up_to).is_some();
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return Ok(()),
                message = self.responses.next() => match message {
                    Some(Ok(message)) => handle(&self.aggregator, message, outbox),
                    Some(Err(status)) => return Err(status.into()),
                    None => return Err(StreamError::Closed),
                },
                permit = self.requests.reserve(), if has_next => {
                    let permit = permit.map_err(|_| StreamError::Closed)?;
                    // Looked up again: the outbox may have moved meanwhile.
                    let next = {
                        let mut outbox = outbox.lock();
                        let next = outbox.next_after(self.sent_up_to).cloned();
                        if let Some(report) = &next {
                            outbox.sent(report.sequence);
                        }
                        next
                    };
                    if let Some(report) = next {
                        self.sent_up_to = report.sequence;
                        permit.send(AgentMessage { body: Some(AgentBody::Report(report)) });
                    }
                }
                changed = newest.changed(), if reporter_alive => {
                    // Only a wake-up; the outbox says what is new.
                    reporter_alive = changed.is_ok();
                }
            }
        }
    }
}

/// Acts on one message from the aggregator.
fn handle(aggregator: &str, message: AggregatorMessage, outbox: &SharedOutbox) {
    match message.body {
        Some(AggregatorBody::Ack(ack)) => {
            outbox.lock().acknowledge(ack.sequence);
        }
        Some(AggregatorBody::Reject(reject)) => rejected(aggregator, reject, outbox),
        Some(AggregatorBody::Welcome(_)) => {
            warn!(aggregator, "the aggregator sent a second Welcome; ignored")
        }
        None => debug!(aggregator, "empty message from the aggregator; ignored"),
    }
}

fn rejected(aggregator: &str, reject: Reject, outbox: &SharedOutbox) {
    let sequence = reject.sequence;
    match reject.reason() {
        RejectReason::Duplicate | RejectReason::OutOfOrder => {
            debug!(aggregator, sequence, reason = ?reject.reason(), "the aggregator already has this report");
            outbox.lock().remove(sequence);
        }
        RejectReason::Invalid => {
            error!(
                aggregator,
                sequence,
                detail = %reject.detail,
                "the aggregator rejected a report as invalid; it is dropped"
            );
            outbox.lock().remove(sequence);
        }
        RejectReason::UnexpectedHello => {
            warn!(aggregator, detail = %reject.detail, "the aggregator saw a second Hello on this stream");
        }
        RejectReason::RateLimited => {
            // An honest agent meets this only with a very short interval
            // or a replay larger than the aggregator's `limits.report_burst`.
            warn!(
                aggregator,
                sequence,
                detail = %reject.detail,
                "the aggregator refused a report: more than it takes per second from one agent; it is dropped"
            );
            outbox.lock().remove(sequence);
        }
        RejectReason::Unspecified => {
            warn!(aggregator, sequence, detail = %reject.detail, "the aggregator rejected a report; it is dropped");
            outbox.lock().remove(sequence);
        }
    }
}
