//! Every row of docs/protocol.md's table, sent by a raw client: refused or
//! clamped as the table says.

use std::time::{Duration, SystemTime};

use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::agent_message::Body;
use greenlight_proto::v1::agent_service_client::AgentServiceClient;
use greenlight_proto::v1::check_result::Detail;
use greenlight_proto::v1::{CheckStatus, Color, Hello, HttpDetail, RejectReason, Report};

use super::support::{
    RawStream, RealAgent, expect_ack, expect_reject, honest, intruder_hello, intruder_verdict,
    message, passing,
};
use crate::bed::Bed;

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
    let real = RealAgent::ready(&bed).await;

    let mut liar = RawStream::open(&bed, intruder_hello("liar-1")).await;
    let first = liar.send(honest(100, 5)).await.expect("an answer");
    expect_ack(&first, "an honest report is taken");

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
        expect_reject(answer, Some(RejectReason::Invalid), named, row);
    }

    // Unknown enum values: taken, the check counts as failing, the field named.
    let mut unknown = honest(300, 5);
    unknown.checks[1].status = 9;
    let answer = liar.send(unknown).await.expect("an answer");
    expect_reject(
        answer,
        None,
        "report.checks[1].status: unknown value 9",
        "unknown status",
    );
    let mut kind = honest(300, 5);
    kind.checks[0].kind = 77;
    let answer = liar.send(kind).await.expect("an answer");
    expect_reject(
        answer,
        None,
        "report.checks[0].kind: unknown value 77",
        "unknown kind",
    );

    // Free text over its limit is clamped with a marker; the report is taken.
    let mut noisy = honest(400, 5);
    noisy.checks[0].set_status(CheckStatus::Fail);
    noisy.checks[0].error = "e".repeat(256 * 1024);
    let answer = liar.send(noisy).await.expect("an answer");
    expect_ack(&answer, "clamped, not refused");
    let mut client = bed.verdict_client().await;
    let intruder = intruder_verdict(&mut client).await;
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
    expect_ack(&answer, "a skewed time is taken");
    let intruder = intruder_verdict(&mut client).await;
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
    let answer = liar.send_raw(switch).await.expect("an answer");
    expect_reject(
        answer,
        Some(RejectReason::UnexpectedHello),
        "this stream is intruder/green/liar-1",
        "a second Hello",
    );
    let answer = liar.send(honest(600, 5)).await.expect("the stream goes on");
    expect_ack(&answer, "after a second Hello");

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
    let after = real.still_ready(&bed).await;
    assert_eq!(after.phase(), real.before.phase());
    assert_eq!(
        after.agents.len(),
        1,
        "the intruder is no agent of {}",
        crate::bed::DEPLOYMENT
    );
    assert!(aggregator.is_running());
}
