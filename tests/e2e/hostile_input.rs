//! Issue 10: every row of docs/protocol.md's table, sent by a raw client
//! (not the agent) to a running aggregator: refused or clamped as the table
//! says, while a real agent's verdict keeps updating and is unchanged. And
//! a 10 MB report: a clear RESOURCE_EXHAUSTED, with the aggregator's memory
//! bounded while a client sends them for 30 s.

use std::time::{Duration, Instant, SystemTime};

use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::agent_message::Body;
use greenlight_proto::v1::agent_service_client::AgentServiceClient;
use greenlight_proto::v1::aggregator_message::Body as Answer;
use greenlight_proto::v1::check_result::Detail;
use greenlight_proto::v1::{
    AgentMessage, AggregatorMessage, CheckResult, CheckStatus, Color, Decision, GetVerdictRequest,
    Hello, HttpDetail, Report, TrafficCounters,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

use crate::bed::{Bed, Dependencies, SETTLE};

const INTRUDER: &str = "intruder";
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// A raw agent stream: messages sent one at a time, each answer read.
struct RawStream {
    outbound: mpsc::Sender<AgentMessage>,
    inbound: Streaming<AggregatorMessage>,
    sequence: u64,
}

impl RawStream {
    async fn open(bed: &Bed, hello: Hello) -> RawStream {
        let mut client = AgentServiceClient::connect(bed.aggregator_url())
            .await
            .expect("connecting to the aggregator")
            .max_encoding_message_size(64 << 20);
        let (outbound, receiver) = mpsc::channel(4);
        outbound
            .send(message(Body::Hello(hello)))
            .await
            .expect("queueing the Hello");
        let mut inbound = client
            .stream(ReceiverStream::new(receiver))
            .await
            .expect("the stream opens")
            .into_inner();
        let welcome = next(&mut inbound).await.expect("a Welcome");
        assert!(
            matches!(welcome.body, Some(Answer::Welcome(_))),
            "{welcome:?}"
        );
        RawStream {
            outbound,
            inbound,
            sequence: 0,
        }
    }

    /// Sends `report` under the next sequence; returns the answer.
    async fn send(&mut self, mut report: Report) -> Result<AggregatorMessage, tonic::Status> {
        self.sequence += 1;
        report.sequence = self.sequence;
        self.send_raw(message(Body::Report(report))).await
    }

    async fn send_raw(
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

fn message(body: Body) -> AgentMessage {
    AgentMessage { body: Some(body) }
}

fn intruder_hello(instance: &str) -> Hello {
    Hello {
        deployment: INTRUDER.into(),
        color: Color::Green as i32,
        instance_id: instance.into(),
        run_id: format!("run-{instance}"),
        report_interval_ms: 1000,
        ..Default::default()
    }
}

fn passing(name: &str) -> CheckResult {
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
fn honest(requests: u64, errors: u64) -> Report {
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

type Spoil = fn(&mut Report);

/// The rows refused: each spoils an honest report; the reject's detail
/// names the field and shows the value.
const REFUSED: &[(&str, Spoil, &str)] = &[
    (
        "NaN",
        |r| r.checks[0].duration_seconds = f64::NAN,
        "report.checks[0].duration_seconds: NaN",
    ),
    (
        "infinity",
        |r| r.checks[1].observed_value = f64::INFINITY,
        "report.checks[1].observed_value: inf",
    ),
    (
        "negative",
        |r| r.checks[0].threshold = -1.0,
        "report.checks[0].threshold: -1",
    ),
    (
        "NaN in a detail",
        |r| {
            r.checks[0].detail = Some(Detail::Http(HttpDetail {
                status_code: 200,
                latency_seconds: f64::NEG_INFINITY,
            }))
        },
        "report.checks[0].http.latency_seconds: -inf",
    ),
    (
        "errors above requests",
        |r| r.traffic.as_mut().unwrap().errors_total = u64::MAX,
        "report.traffic.errors_total",
    ),
    (
        "errors going back alone",
        |r| {
            let traffic = r.traffic.as_mut().unwrap();
            traffic.requests_total += 1_000_000;
            traffic.errors_total = 0;
        },
        "went back from 5 to 0",
    ),
    (
        "a name over its limit",
        |r| r.checks[0].check = "h".repeat(300),
        "report.checks[0].check: 300 bytes",
    ),
    (
        "a control character in a name",
        |r| r.checks[1].component = "db\u{1b}[2J".into(),
        "report.checks[1].component",
    ),
    (
        "the same check twice",
        |r| r.checks[1] = r.checks[0].clone(),
        "report.checks[1].check: check \"http\"",
    ),
    (
        "too many checks",
        |r| r.checks = (0..65).map(|i| passing(&format!("c{i}"))).collect(),
        "report.checks: 65 checks",
    ),
    (
        "a time outside any clock",
        |r| r.observed_at.as_mut().unwrap().seconds = 1 << 40,
        "report.observed_at.seconds",
    ),
    ("no sequence", |r| r.sequence = 0, "report.sequence"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_of_the_table_is_refused_or_clamped_and_the_real_agent_is_unaffected() {
    let bed = Bed::new();
    let aggregator = bed.aggregator(None, "1s").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let none = Dependencies {
        postgres: None,
        redis: None,
    };
    let _green_agent = bed.agent("green", "green-1", &green, none, "500ms");
    let before = bed
        .verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
        .await;

    let mut liar = RawStream::open(&bed, intruder_hello("liar-1")).await;
    let first = liar.send(honest(100, 5)).await.expect("an answer");
    assert!(
        matches!(first.body, Some(Answer::Ack(_))),
        "an honest report is taken: {first:?}"
    );

    for (row, spoil, named) in REFUSED {
        // The next sequence, unless the row spoils it: a refused report is
        // not taken, so the next row may use the same one.
        let mut report = Report {
            sequence: liar.sequence + 1,
            ..honest(200, 5)
        };
        spoil(&mut report);
        let answer = liar
            .send_raw(message(Body::Report(report)))
            .await
            .unwrap_or_else(|status| panic!("{row}: the stream ended: {status:?}"));
        match answer.body {
            Some(Answer::Reject(reject)) => {
                assert_eq!(
                    reject.reason(),
                    greenlight_proto::v1::RejectReason::Invalid,
                    "{row}: {reject:?}"
                );
                assert!(
                    reject.detail.contains(named),
                    "{row}: wants {named:?} in {:?}",
                    reject.detail
                );
            }
            other => panic!("{row}: refused expected, got {other:?}"),
        }
    }

    // Unknown enum values: taken, the check counts as failing, the field named.
    let mut unknown = honest(300, 5);
    unknown.checks[1].status = 9;
    match liar.send(unknown).await.expect("an answer").body {
        Some(Answer::Reject(reject)) => {
            assert!(
                reject
                    .detail
                    .contains("report.checks[1].status: unknown value 9"),
                "{reject:?}"
            )
        }
        other => panic!("unknown status: a reject naming it expected, got {other:?}"),
    }
    let mut kind = honest(300, 5);
    kind.checks[0].kind = 77;
    match liar.send(kind).await.expect("an answer").body {
        Some(Answer::Reject(reject)) => {
            assert!(
                reject
                    .detail
                    .contains("report.checks[0].kind: unknown value 77"),
                "{reject:?}"
            )
        }
        other => panic!("unknown kind: a reject naming it expected, got {other:?}"),
    }

    // Free text over its limit is clamped with a marker; the report is taken.
    let mut noisy = honest(400, 5);
    noisy.checks[0].set_status(CheckStatus::Fail);
    noisy.checks[0].error = "e".repeat(256 * 1024);
    let answer = liar.send(noisy).await.expect("an answer");
    assert!(
        matches!(answer.body, Some(Answer::Ack(_))),
        "clamped, not refused: {answer:?}"
    );
    let mut client = bed.verdict_client().await;
    let intruder = client
        .get_verdict(GetVerdictRequest {
            deployment: INTRUDER.into(),
        })
        .await
        .expect("the intruder deployment's verdict")
        .into_inner();
    let reason = intruder
        .reasons
        .iter()
        .find(|reason| reason.rule == "check_failed")
        .unwrap_or_else(|| panic!("the failing check is a reason: {:?}", intruder.reasons));
    assert!(
        reason.error.len() <= 1024,
        "clamped: {} bytes",
        reason.error.len()
    );
    assert!(
        reason.error.ends_with("[clamped: 262144 bytes]"),
        "{}",
        &reason.error[reason.error.len() - 40..]
    );

    // An observation far from our clock is taken, with the clock-skew reason.
    let mut ahead = honest(500, 5);
    ahead.checks[0].set_status(CheckStatus::Pass);
    ahead.observed_at = Some(to_timestamp(SystemTime::now() + Duration::from_secs(600)));
    let answer = liar.send(ahead).await.expect("an answer");
    assert!(
        matches!(answer.body, Some(Answer::Ack(_))),
        "a skewed time is taken: {answer:?}"
    );
    let intruder = client
        .get_verdict(GetVerdictRequest {
            deployment: INTRUDER.into(),
        })
        .await
        .expect("the intruder's verdict")
        .into_inner();
    assert!(
        intruder
            .reasons
            .iter()
            .any(|reason| reason.rule == "clock_skew"),
        "{:?}",
        intruder.reasons
    );

    // A Hello that changes identity mid-stream: refused, typed, naming the
    // identity the stream keeps; the stream goes on.
    let switch = message(Body::Hello(Hello {
        deployment: crate::bed::DEPLOYMENT.into(),
        color: Color::Green as i32,
        instance_id: "green-1".into(),
        ..Default::default()
    }));
    match liar.send_raw(switch).await.expect("an answer").body {
        Some(Answer::Reject(reject)) => {
            assert_eq!(
                reject.reason(),
                greenlight_proto::v1::RejectReason::UnexpectedHello
            );
            assert!(
                reject
                    .detail
                    .contains("this stream is intruder/green/liar-1"),
                "{reject:?}"
            );
        }
        other => panic!("a second Hello: a reject expected, got {other:?}"),
    }
    let answer = liar.send(honest(600, 5)).await.expect("the stream goes on");
    assert!(matches!(answer.body, Some(Answer::Ack(_))), "{answer:?}");

    // Hellos out of range end their own stream, naming the field.
    for (spoil, field) in [
        (
            (|h: &mut Hello| h.run_id = "r".repeat(200)) as fn(&mut Hello),
            "hello.run_id",
        ),
        (
            |h: &mut Hello| h.instance_id = "liar\n2".into(),
            "hello.instance_id",
        ),
        (
            |h: &mut Hello| h.agent_version = "v".repeat(129),
            "hello.agent_version",
        ),
    ] {
        let mut hello = intruder_hello("liar-2");
        spoil(&mut hello);
        let mut raw = AgentServiceClient::connect(bed.aggregator_url())
            .await
            .expect("connecting");
        let outbound = tokio_stream::iter(vec![message(Body::Hello(hello))]);
        let status = match raw.stream(outbound).await {
            Err(status) => status,
            Ok(response) => response
                .into_inner()
                .message()
                .await
                .expect_err("the Hello is refused"),
        };
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains(field),
            "{field}: {}",
            status.message()
        );
    }

    // The real agent's verdict kept updating and is unchanged by all this.
    let after = bed
        .verdict_where("green's agent has reported since", SETTLE, |v| {
            v.agents
                .iter()
                .any(|agent| agent.last_sequence > before.agents[0].last_sequence + 2)
        })
        .await;
    assert_eq!(after.decision(), Decision::Ready, "{:?}", after.reasons);
    assert_eq!(after.phase(), before.phase());
    assert_eq!(
        after.agents.len(),
        1,
        "the intruder is no agent of {}",
        crate::bed::DEPLOYMENT
    );
    assert!(aggregator.is_running());
}

/// Resident memory of a process, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_mb_report_gets_a_clear_error_and_memory_stays_bounded() {
    let bed = Bed::new();
    let aggregator = bed.aggregator(None, "1s").await;
    let huge = || {
        let mut report = honest(100, 0);
        report.sequence = 1;
        report.checks[0].error = "x".repeat(10 << 20);
        message(Body::Report(report))
    };

    let mut stream = RawStream::open(&bed, intruder_hello("big-1")).await;
    let status = stream.send_raw(huge()).await.expect_err("the stream ends");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("limits.max_message_bytes"),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("1048576"),
        "names the limit: {}",
        status.message()
    );

    // 30 s of them, each on a new stream (the old one is ended).
    let start_rss = rss_kib(aggregator.pid());
    let mut peak = start_rss;
    let mut sent = 0u32;
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        let mut stream = RawStream::open(&bed, intruder_hello("big-1")).await;
        let status = stream.send_raw(huge()).await.expect_err("each ends");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        sent += 1;
        peak = peak.max(rss_kib(aggregator.pid()));
    }
    eprintln!(
        "{sent} reports of 10 MB in 30 s; aggregator RSS {start_rss} KiB at the start, {peak} KiB at most"
    );
    assert!(sent >= 5, "the loop ran: {sent}");
    // Not one 10 MB message held: the growth stays well below one.
    assert!(
        peak < start_rss + 8 * 1024,
        "RSS grew from {start_rss} to {peak} KiB"
    );
    assert!(aggregator.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_stream_is_refused_typed_while_the_real_agent_is_served() {
    let bed = Bed::new();
    let _aggregator = bed
        .aggregator_with(
            None,
            "ready_after = \"1s\"\n[limits]\nmax_reports_per_second = 5\nreport_burst = 50",
        )
        .await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let none = Dependencies {
        postgres: None,
        redis: None,
    };
    let _green_agent = bed.agent("green", "green-1", &green, none, "500ms");
    let before = bed
        .verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
        .await;

    let mut flood = RawStream::open(&bed, intruder_hello("flood-1")).await;
    let (mut acked, mut limited) = (0u32, 0u32);
    for _ in 0..300 {
        match flood.send(honest(100, 0)).await.expect("an answer").body {
            Some(Answer::Ack(_)) => acked += 1,
            Some(Answer::Reject(reject)) => {
                assert_eq!(
                    reject.reason(),
                    greenlight_proto::v1::RejectReason::RateLimited,
                    "{reject:?}"
                );
                assert!(
                    reject.detail.contains("limits.max_reports_per_second"),
                    "{reject:?}"
                );
                limited += 1;
            }
            other => panic!("an Ack or a RATE_LIMITED reject expected, got {other:?}"),
        }
    }
    eprintln!("300 reports as fast as answered: {acked} taken, {limited} refused");
    // The burst, and what 5 a second added while the loop ran.
    assert!((50..150).contains(&acked), "{acked} taken");
    assert_eq!(acked + limited, 300);

    let after = bed
        .verdict_where("green's agent has reported since", SETTLE, |v| {
            v.agents
                .iter()
                .any(|agent| agent.last_sequence > before.agents[0].last_sequence + 2)
        })
        .await;
    assert_eq!(after.decision(), Decision::Ready, "{:?}", after.reasons);
}
