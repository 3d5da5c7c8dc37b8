//! Issue 11, the gRPC conventions: server reflection v1alpha beside v1
//! (stock Python grpcio-reflection lists the services), and a
//! grpc.health.v1 Watch opened before a deployment's first agent answers
//! SERVICE_UNKNOWN, stays open, then follows the color as health.proto
//! says.

use std::time::Duration;

use futures::StreamExt;
use greenlight_testbed::{eventually, installed};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::bed::{Bed, DEPLOYMENT, SETTLE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_grpcio_reflection_v1alpha_lists_the_services() {
    let bed = Bed::new();
    let _aggregator = bed.aggregator(None, "2s").await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/e2e/grpc_conventions/list_services.py"
    );
    let python = installed::python().expect("the tests' Python venv");
    let address = format!("127.0.0.1:{}", bed.aggregator_port);
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(python)
            .arg(script)
            .arg(&address)
            .output(),
    )
    .await
    .expect("the Python client finished within 120 s")
    .expect("running the Python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let services: Vec<&str> = stdout.lines().collect();
    println!("v1alpha lists: {services:?}");
    for expected in [
        "greenlight.v1.AgentService",
        "greenlight.v1.VerdictService",
        "grpc.health.v1.Health",
    ] {
        assert!(services.contains(&expected), "{expected} in {services:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_watch_before_the_first_agent_waits_through_service_unknown_to_serving() {
    let bed = Bed::new();
    let _aggregator = bed.aggregator(None, "2s").await;
    let url = bed.aggregator_url();
    let endpoint = tonic::transport::Endpoint::from_shared(url).expect("a valid URL");
    let channel = eventually("connecting to grpc.health.v1", SETTLE, || {
        endpoint.connect()
    })
    .await;
    let mut client = HealthClient::new(channel);
    let service = format!("greenlight.{DEPLOYMENT}.green");
    let checked = client
        .check(HealthCheckRequest {
            service: service.clone(),
        })
        .await
        .expect_err("Check of a service not known yet");
    assert_eq!(checked.code(), tonic::Code::NotFound, "{checked:?}");
    let mut watch = client
        .watch(HealthCheckRequest { service })
        .await
        .expect("Watch of a service not known yet is accepted")
        .into_inner();
    let status = |answer: Option<Result<tonic_health::pb::HealthCheckResponse, tonic::Status>>| {
        let answer = answer.expect("the Watch stays open").expect("an answer");
        ServingStatus::try_from(answer.status).expect("a known status")
    };
    assert_eq!(status(watch.next().await), ServingStatus::ServiceUnknown);

    // The deployment's agents arrive; green becomes the READY candidate.
    let _pair = bed.pair(None).await;
    let mut seen = Vec::new();
    let serving = tokio::time::timeout(SETTLE, async {
        loop {
            let now = status(watch.next().await);
            seen.push(now);
            if now == ServingStatus::Serving {
                break;
            }
        }
    })
    .await;
    assert!(serving.is_ok(), "SERVING within {SETTLE:?}; saw {seen:?}");
    println!("the Watch saw SERVICE_UNKNOWN, then {seen:?}");
    assert!(
        !seen.contains(&ServingStatus::ServiceUnknown),
        "SERVICE_UNKNOWN only before the service appears: {seen:?}"
    );
    // Green is in its 2 s readiness window first: known, not fit yet.
    assert_eq!(
        seen.first(),
        Some(&ServingStatus::NotServing),
        "NOT_SERVING while green is tested, SERVING only once READY: {seen:?}"
    );
    let verdict = bed
        .verdict_where("green READY", SETTLE, |v| {
            v.decision() == greenlight_proto::v1::Decision::Ready
        })
        .await;
    assert_eq!(verdict.decision(), greenlight_proto::v1::Decision::Ready);
}
