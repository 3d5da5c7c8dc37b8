//! What the hostile-input tests share: a raw agent stream that sends one
//! message at a time and reads each answer, honest reports to spoil, and
//! the real agent whose verdict must not move.

use std::time::{Duration, SystemTime};

use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::agent_message::Body;
use greenlight_proto::v1::agent_service_client::AgentServiceClient;
use greenlight_proto::v1::aggregator_message::Body as Answer;
use greenlight_proto::v1::verdict_service_client::VerdictServiceClient;
use greenlight_proto::v1::{
    AgentMessage, AggregatorMessage, CheckResult, CheckStatus, Color, Decision, GetVerdictRequest,
    Hello, RejectReason, Report, TrafficCounters, Verdict,
};
use greenlight_testbed::Process;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

use crate::bed::{Bed, Dependencies, SETTLE};

pub const INTRUDER: &str = "intruder";
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// A raw agent stream: messages sent one at a time, each answer read.
pub struct RawStream {
    outbound: mpsc::Sender<AgentMessage>,
    inbound: Streaming<AggregatorMessage>,
    pub sequence: u64,
}

impl RawStream {
    pub async fn open(bed: &Bed, hello: Hello) -> RawStream {
        let channel = tonic::transport::Endpoint::from_shared(bed.aggregator_url())
            .expect("the aggregator's URL")
            .connect()
            .await
            .expect("connecting to the aggregator");
        RawStream::open_on(channel, hello, None)
            .await
            .expect("the stream opens with a Welcome")
    }

    /// Opens a stream on `channel` (TLS or not), with `token` as its
    /// bearer token; the status the aggregator refused it with, if it did.
    pub async fn open_on(
        channel: tonic::transport::Channel,
        hello: Hello,
        token: Option<&str>,
    ) -> Result<RawStream, tonic::Status> {
        let mut client = AgentServiceClient::new(channel).max_encoding_message_size(64 << 20);
        let (outbound, receiver) = mpsc::channel(4);
        outbound
            .send(message(Body::Hello(hello)))
            .await
            .expect("queueing the Hello");
        let mut request = tonic::Request::new(ReceiverStream::new(receiver));
        if let Some(token) = token {
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {token}").parse().expect("an ASCII token"),
            );
        }
        let mut inbound = client.stream(request).await?.into_inner();
        let welcome = next(&mut inbound).await?;
        assert!(
            matches!(welcome.body, Some(Answer::Welcome(_))),
            "{welcome:?}"
        );
        Ok(RawStream {
            outbound,
            inbound,
            sequence: 0,
        })
    }

    /// Sends `report` under the next sequence; returns the answer.
    pub async fn send(&mut self, mut report: Report) -> Result<AggregatorMessage, tonic::Status> {
        self.sequence += 1;
        report.sequence = self.sequence;
        self.send_raw(message(Body::Report(report))).await
    }

    pub async fn send_raw(
        &mut self,
        message: AgentMessage,
    ) -> Result<AggregatorMessage, tonic::Status> {
        self.outbound
            .send(message)
            .await
            .expect("the stream is still open");
        next(&mut self.inbound).await
    }
}

async fn next(
    inbound: &mut Streaming<AggregatorMessage>,
) -> Result<AggregatorMessage, tonic::Status> {
    tokio::time::timeout(ANSWER_WITHIN, inbound.message())
        .await
        .expect("an answer within 30 s")?
        .ok_or_else(|| tonic::Status::unknown("the stream ended without a status"))
}

pub fn message(body: Body) -> AgentMessage {
    AgentMessage { body: Some(body) }
}

pub fn intruder_hello(instance: &str) -> Hello {
    Hello {
        deployment: INTRUDER.into(),
        color: Color::Green as i32,
        instance_id: instance.into(),
        run_id: format!("run-{instance}"),
        report_interval_ms: 1000,
        ..Default::default()
    }
}

pub fn passing(name: &str) -> CheckResult {
    let mut check = CheckResult {
        check: name.into(),
        duration_seconds: 0.01,
        observed_value: 0.01,
        observed_unit: "seconds".into(),
        threshold: 1.0,
        ..Default::default()
    };
    check.set_status(CheckStatus::Pass);
    check
}

/// An honest report, observed now, with counters `requests`/`errors`.
pub fn honest(requests: u64, errors: u64) -> Report {
    Report {
        observed_at: Some(to_timestamp(SystemTime::now())),
        checks: vec![passing("http"), passing("redis")],
        traffic: Some(TrafficCounters {
            requests_total: requests,
            errors_total: errors,
            request_duration_seconds_sum: requests as f64 * 0.01,
            request_duration_seconds_count: requests,
            websocket_connections: 0,
        }),
        ..Default::default()
    }
}

/// Asserts `answer` is an Ack.
pub fn expect_ack(answer: &AggregatorMessage, what: &str) {
    assert!(
        matches!(answer.body, Some(Answer::Ack(_))),
        "{what}: {answer:?}"
    );
}

/// Asserts `answer` is a Reject (of `reason`, when given) whose detail
/// contains `wanted`.
pub fn expect_reject(
    answer: AggregatorMessage,
    reason: Option<RejectReason>,
    wanted: &str,
    what: &str,
) {
    match answer.body {
        Some(Answer::Reject(reject)) => {
            if let Some(reason) = reason {
                assert_eq!(reject.reason(), reason, "{what}: {reject:?}");
            }
            assert!(
                reject.detail.contains(wanted),
                "{what}: wants {wanted:?} in {:?}",
                reject.detail
            );
        }
        other => panic!("{what}: a reject expected, got {other:?}"),
    }
}

/// The intruder deployment's current verdict.
pub async fn intruder_verdict(
    client: &mut VerdictServiceClient<tonic::transport::Channel>,
) -> Verdict {
    client
        .get_verdict(GetVerdictRequest {
            deployment: INTRUDER.into(),
        })
        .await
        .expect("the intruder deployment's verdict")
        .into_inner()
}

/// A real green backend and agent of the bed's deployment, READY.
pub struct RealAgent {
    _backend: Process,
    _agent: Process,
    pub before: Verdict,
}

impl RealAgent {
    pub async fn ready(bed: &Bed) -> RealAgent {
        let (backend, green) = bed.backend("green", "v3.1.0").await;
        let none = Dependencies {
            postgres: None,
            redis: None,
        };
        let agent = bed.agent("green", "green-1", &green, none, "500ms");
        let before = bed
            .verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
            .await;
        RealAgent {
            _backend: backend,
            _agent: agent,
            before,
        }
    }

    /// The verdict once the agent has reported since `before`: still READY.
    pub async fn still_ready(&self, bed: &Bed) -> Verdict {
        let last = self.before.agents[0].last_sequence;
        let after = bed
            .verdict_where("green's agent has reported since", SETTLE, |v| {
                v.agents.iter().any(|agent| agent.last_sequence > last + 2)
            })
            .await;
        assert_eq!(after.decision(), Decision::Ready, "{:?}", after.reasons);
        after
    }
}
