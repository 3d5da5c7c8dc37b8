//! One task per agent stream: check the Hello, then hand each report to the
//! engine and answer with an Ack or a typed Reject.

use std::sync::Arc;
use std::time::Duration;

use greenlight_proto::v1::agent_message::Body as AgentBody;
use greenlight_proto::v1::agent_service_server::AgentService;
use greenlight_proto::v1::aggregator_message::Body as AggregatorBody;
use greenlight_proto::v1::{
    Ack, AgentMessage, AggregatorMessage, Hello, Reject, RejectReason, Report, Welcome,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use super::report_rate::{RateSettings, ReportRate};
use super::{StreamLimit, StreamSlot};
use crate::auth::{Action, AuthPolicy, Caller, authorize};
use crate::engine::{AgentKey, HelloRefused, ReportOutcome};
use crate::hub::Hub;

/// An agent that connects must say who it is promptly.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Answers waiting for a slow agent; past this the stream is backpressured.
const OUTBOUND_QUEUE: usize = 64;
/// How often a stream that is being rate limited says how many it refused.
const REFUSALS_LOGGED_EVERY: Duration = Duration::from_secs(10);

pub struct AgentStreamService {
    hub: Arc<Hub>,
    auth: Arc<AuthPolicy>,
    limit: StreamLimit,
    rate: RateSettings,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl AgentStreamService {
    pub fn new(
        hub: Arc<Hub>,
        auth: Arc<AuthPolicy>,
        limit: StreamLimit,
        rate: RateSettings,
        tasks: TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        AgentStreamService {
            hub,
            auth,
            limit,
            rate,
            tasks,
            shutdown,
        }
    }
}

type Outbound = mpsc::Sender<Result<AggregatorMessage, Status>>;

#[tonic::async_trait]
impl AgentService for AgentStreamService {
    type StreamStream = ReceiverStream<Result<AggregatorMessage, Status>>;

    async fn stream(
        &self,
        request: Request<Streaming<AgentMessage>>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        let peer = request.remote_addr();
        // Credentials first: a stranger takes no stream slot.
        let caller = authorize(&self.auth, &request, Action::Report, "AgentService.Stream")?;
        let refused = |status: &Status| {
            tracing::warn!(?peer, error = status.message(), "agent stream refused");
        };
        let slot = self.limit.acquire().inspect_err(refused)?;
        // The agent's connect span (its trace context in the stream's
        // headers) is the parent of this stream's span; each report has
        // its own trace (Report.traceparent).
        let headers = request.metadata().clone();
        let mut inbound = request.into_inner();
        let hello = first_hello(&mut inbound).await.inspect_err(refused)?;
        bound_to(&caller, &hello).inspect_err(refused)?;
        let connection = self.hub.connection_id();
        let (key, last_sequence, min_requests) = self
            .hub
            .with_engine(|engine, now| {
                let (key, last) = engine.hello(&hello, connection, now)?;
                let min_requests = engine.min_requests(&key.deployment);
                Ok::<_, HelloRefused>((key, last, min_requests))
            })
            .map_err(|refused| {
                tracing::warn!(?peer, error = %refused, "agent stream refused");
                match refused {
                    HelloRefused::Invalid(error) => Status::invalid_argument(error.to_string()),
                    live @ HelloRefused::AlreadyConnected { .. } => {
                        Status::already_exists(live.to_string())
                    }
                }
            })?;
        tracing::info!(
            deployment = %key.deployment,
            color = greenlight_proto::names::color_name(key.color),
            instance = %key.instance_id,
            last_sequence,
            "agent connected"
        );
        let (outbound, receiver) = mpsc::channel(OUTBOUND_QUEUE);
        let welcome = AggregatorBody::Welcome(Welcome {
            last_sequence,
            min_requests,
        });
        outbound
            .send(Ok(message(welcome)))
            .await
            .map_err(|_| Status::cancelled("agent left before its Welcome"))?;
        let span = tracing::info_span!(
            parent: None,
            "serve_reports",
            deployment = %key.deployment,
            instance = %key.instance_id,
        );
        greenlight_telemetry::adopt_parent_from_metadata(&span, &headers);
        let serve = serve_reports(
            Stream {
                hub: self.hub.clone(),
                key,
                connection,
                rate: ReportRate::new(self.rate, tokio::time::Instant::now()),
                _slot: slot,
            },
            inbound,
            outbound,
            self.shutdown.clone(),
        );
        self.tasks.spawn(serve.instrument(span));
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}

/// An agent reports only for the identities its credential names.
fn bound_to(caller: &Caller, hello: &Hello) -> Result<(), Status> {
    match caller.binding() {
        Some(binding) if !binding.allows(hello) => Err(Status::permission_denied(format!(
            "this agent's credential is for {binding}; its Hello says {}/{}/{} (an agent reports only for the identity it was issued)",
            short(&hello.deployment),
            greenlight_proto::names::color_name(
                greenlight_proto::v1::Color::try_from(hello.color).unwrap_or_default()
            ),
            short(&hello.instance_id),
        ))),
        _ => Ok(()),
    }
}

/// A client's string in our words, cut short.
fn short(text: &str) -> String {
    text.chars().take(64).collect()
}

async fn first_hello(inbound: &mut Streaming<AgentMessage>) -> Result<Hello, Status> {
    let first = tokio::time::timeout(HELLO_TIMEOUT, inbound.message())
        .await
        .map_err(|_| Status::deadline_exceeded("no Hello within 10 s of opening the stream"))?
        .map_err(inbound_error)?;
    match first.and_then(|message| message.body) {
        Some(AgentBody::Hello(hello)) => Ok(hello),
        Some(AgentBody::Report(_)) => Err(Status::invalid_argument(
            "hello: the first message of a stream must be a Hello, got a Report",
        )),
        None => Err(Status::invalid_argument(
            "hello: the stream ended or sent an empty message before its Hello",
        )),
    }
}

/// What serving one agent's stream holds.
struct Stream {
    hub: Arc<Hub>,
    key: AgentKey,
    connection: u64,
    rate: ReportRate,
    _slot: StreamSlot,
}

/// Runs in the stream's span (`serve_reports`, with deployment and instance).
async fn serve_reports(
    mut stream: Stream,
    mut inbound: Streaming<AgentMessage>,
    outbound: Outbound,
    shutdown: CancellationToken,
) {
    // None until the first refusal, which is logged at once.
    let mut refusals_logged: Option<tokio::time::Instant> = None;
    loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => {
                let _ = outbound.send(Err(Status::unavailable("aggregator shutting down"))).await;
                break;
            }
            next = inbound.message() => next,
        };
        let answer = match next {
            Ok(Some(AgentMessage {
                body: Some(AgentBody::Report(report)),
            })) => {
                let now = tokio::time::Instant::now();
                if stream.rate.admit(now) {
                    match answer_report(&stream, report, now) {
                        Some(answer) => answer,
                        None => {
                            let _ = outbound.send(Err(replaced(&stream.key))).await;
                            break;
                        }
                    }
                } else {
                    if refusals_logged
                        .is_none_or(|logged| now.duration_since(logged) >= REFUSALS_LOGGED_EVERY)
                    {
                        refusals_logged = Some(now);
                        tracing::warn!(
                            refused = stream.rate.take_refused(),
                            "agent sends more reports than limits.max_reports_per_second allows; refused"
                        );
                    }
                    refused(stream.key.deployment.clone(), "rate_limited");
                    rate_limited(report.sequence, &stream.rate)
                }
            }
            Ok(Some(AgentMessage {
                body: Some(AgentBody::Hello(hello)),
            })) => second_hello(&stream.key, &hello),
            Ok(Some(_)) => reject(
                0,
                RejectReason::UnexpectedHello,
                "an empty message after the Hello is ignored",
            ),
            Ok(None) => break,
            Err(status) => {
                tracing::debug!(error = status.message(), "agent stream broke");
                // Tell the sender why, when it is still there to read it
                // (a message over the size limit, say).
                let _ = outbound.send(Err(inbound_error(status))).await;
                break;
            }
        };
        if outbound.send(Ok(answer)).await.is_err() {
            break;
        }
    }
    let Stream {
        hub,
        key,
        connection,
        ..
    } = stream;
    hub.with_engine(|engine, now| engine.disconnected(&key, connection, now));
    tracing::info!("agent disconnected");
}

/// A stream keeps its first Hello's identity for its life: another agent
/// (or the same one under another name) needs a stream of its own.
fn second_hello(key: &AgentKey, hello: &Hello) -> AggregatorMessage {
    let detail = format!(
        "this stream is {}/{}/{} for its life; a Hello for {:?}/{}/{:?} is ignored (open a stream of its own)",
        key.deployment,
        greenlight_proto::names::color_name(key.color),
        key.instance_id,
        short(&hello.deployment),
        hello.color,
        short(&hello.instance_id),
    );
    tracing::warn!(%detail, "a second Hello on an agent stream");
    reject(0, RejectReason::UnexpectedHello, &detail)
}

/// What a replaced stream is told as it is ended.
fn replaced(key: &AgentKey) -> Status {
    tracing::info!("a reconnect of the same run took over; this older stream ends");
    Status::aborted(format!(
        "a newer stream of the same agent run took over {key}; this one is closed"
    ))
}

fn rate_limited(sequence: u64, rate: &ReportRate) -> AggregatorMessage {
    reject(
        sequence,
        RejectReason::RateLimited,
        &format!(
            "more reports than limits.max_reports_per_second allows from one agent; not taken; the next fits in {} ms",
            rate.retry_after().as_millis().max(1)
        ),
    )
}

/// A decoding error of the agent's stream, as the agent should read it:
/// tonic says "out of range" for a message over the size limit.
fn inbound_error(status: Status) -> Status {
    if status.code() == tonic::Code::OutOfRange {
        Status::resource_exhausted(format!(
            "{}: a message over limits.max_message_bytes ends the stream",
            status.message()
        ))
    } else {
        status
    }
}

/// `arrived` is when the report was read off the stream: the time from it
/// to the engine's answer (waiting for the engine included) is logged with
/// each accepted report, which is how a flood's effect on others is measured.
/// `None` when this stream no longer speaks for its agent: its run
/// reconnected on another stream, which took over.
fn answer_report(
    stream: &Stream,
    report: Report,
    arrived: tokio::time::Instant,
) -> Option<AggregatorMessage> {
    let sequence = report.sequence;
    let key = &stream.key;
    // A root of its own (not a child of the long-lived stream), joined to
    // the agent's span for this report when it carries a traceparent; the
    // engine step, and whatever it decides, happen inside it.
    let span = tracing::info_span!(
        parent: None,
        "aggregator.ingest",
        deployment = %key.deployment,
        instance = %key.instance_id,
        sequence,
    );
    greenlight_telemetry::adopt_parent(&span, &report.traceparent);
    let _ingest = span.enter();
    let outcome = stream.hub.with_engine(|engine, now| {
        engine
            .owns_stream(key, stream.connection)
            .then(|| engine.report(key, report, now))
    })?;
    metrics::histogram!("greenlight_decision_latency_seconds").record(arrived.elapsed());
    count_report(key, &outcome);
    Some(match outcome {
        ReportOutcome::Accepted => {
            // Tests read these to prove no sequence is lost or counted twice,
            // and the delay to measure how promptly reports are evaluated.
            let delay_us = arrived.elapsed().as_micros() as u64;
            tracing::debug!(sequence, delay_us, "report accepted");
            message(AggregatorBody::Ack(Ack { sequence }))
        }
        ReportOutcome::Duplicate => reject(sequence, RejectReason::Duplicate, "already received"),
        ReportOutcome::OutOfOrder => reject(
            sequence,
            RejectReason::OutOfOrder,
            "older than a report already received",
        ),
        ReportOutcome::Invalid(detail) => {
            tracing::warn!(sequence, %detail, "invalid report");
            reject(sequence, RejectReason::Invalid, &detail)
        }
        ReportOutcome::Refused(detail) => {
            // Taken with the unknown values' checks failing; the agent is
            // told which fields the aggregator does not know.
            tracing::warn!(sequence, %detail, "report with unknown values: those checks count as failing");
            reject(sequence, RejectReason::Invalid, &detail)
        }
        ReportOutcome::UnknownAgent => reject(
            sequence,
            RejectReason::Invalid,
            "this agent is no longer registered; reconnect with a Hello",
        ),
    })
}

/// `greenlight_reports_ingested_total` and `greenlight_reports_refused_total`
/// by reason (rate-limited reports are counted where they are refused).
fn count_report(key: &AgentKey, outcome: &ReportOutcome) {
    let deployment = key.deployment.clone();
    let reason = match outcome {
        ReportOutcome::Accepted => {
            metrics::counter!("greenlight_reports_ingested_total", "deployment" => deployment)
                .increment(1);
            return;
        }
        ReportOutcome::Duplicate => "duplicate",
        ReportOutcome::OutOfOrder => "out_of_order",
        ReportOutcome::Invalid(_) => "invalid",
        ReportOutcome::Refused(_) => "unknown_values",
        ReportOutcome::UnknownAgent => "unknown_agent",
    };
    refused(deployment, reason);
}

fn refused(deployment: String, reason: &'static str) {
    metrics::counter!("greenlight_reports_refused_total", "deployment" => deployment, "reason" => reason)
        .increment(1);
}

fn reject(sequence: u64, reason: RejectReason, detail: &str) -> AggregatorMessage {
    let mut reject = Reject {
        sequence,
        detail: detail.to_string(),
        ..Default::default()
    };
    reject.set_reason(reason);
    message(AggregatorBody::Reject(reject))
}

fn message(body: AggregatorBody) -> AggregatorMessage {
    AggregatorMessage { body: Some(body) }
}
