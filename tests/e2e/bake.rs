//! Issue 4 end to end, with real processes: an error spike in green during
//! the bake rolls back (reasons in Redis and over gRPC); a shared Redis
//! outage holds; an aggregator killed mid-bake resumes it from Redis and
//! decides nothing twice.

use std::time::Duration;

use greenlight_proto::time::from_timestamp;
use greenlight_proto::v1::{CutoverRequest, Decision, Phase};
use greenlight_testbed::{RedisServer, eventually};
use redis::AsyncCommands;

use crate::bed::{Bed, DEPLOYMENT, Dependencies, SETTLE};

/// The guide's rules on a test's time scale.
const FAST_RULES: &str = "ready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\n";

async fn set_switches(backend: &str, json: &str) {
    let response = reqwest::Client::new()
        .put(format!("http://{backend}/control"))
        .header("content-type", "application/json")
        .body(json.to_string())
        .send()
        .await
        .expect("the backend's control endpoint answers");
    assert!(
        response.status().is_success(),
        "{json}: {}",
        response.status()
    );
}

async fn cut_over(bed: &Bed) {
    let mut client = bed.verdict_client().await;
    let answer = client
        .cutover(CutoverRequest {
            deployment: DEPLOYMENT.into(),
            force: false,
            requested_by: "e2e".into(),
        })
        .await
        .expect("cutover of a READY candidate is accepted")
        .into_inner();
    assert!(answer.accepted, "{answer:?}");
}

/// History stream entries of one kind, as field maps.
async fn history(redis: &RedisServer, kind: &str) -> Vec<redis::streams::StreamId> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let reply: redis::streams::StreamRangeReply = connection
        .xrange_all(format!("greenlight:{DEPLOYMENT}:history"))
        .await
        .unwrap();
    reply
        .ids
        .into_iter()
        .filter(|entry| entry.get::<String>("kind").as_deref() == Some(kind))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_spike_in_green_during_the_bake_rolls_back() {
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let _aggregator = bed.aggregator_with(Some(&redis.url()), FAST_RULES).await;
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let url = redis.url();
    let deps = || Dependencies {
        postgres: None,
        redis: Some(&url),
    };
    let _blue_agent = bed.agent("blue", "blue-1", &blue, deps(), "500ms");
    let _green_agent = bed.agent("green", "green-1", &green, deps(), "500ms");
    bed.verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
        .await;
    cut_over(&bed).await;
    bed.verdict_where("baking", SETTLE, |v| v.phase() == Phase::Baking)
        .await;

    set_switches(&green, r#"{"error_ratio": 0.3}"#).await;
    let verdict = bed
        .verdict_where("ROLLBACK", SETTLE, |v| v.decision() == Decision::Rollback)
        .await;
    assert_eq!(verdict.phase(), Phase::RolledBack);
    assert_eq!(greenlight_proto::names::color_name(verdict.live()), "blue");
    let trigger = verdict
        .reasons
        .iter()
        .find(|r| r.rule == "rolled_back")
        .expect("the verdict says it rolled back");
    assert!(
        trigger.message.contains("error_ratio") || trigger.message.contains("baseline_regression"),
        "{}",
        trigger.message
    );

    // Redis: the key holds the ROLLBACK verdict with its reasons, the
    // history has exactly one rollback action and a critical alert.
    let client = redis::Client::open(redis.url()).unwrap();
    let connection = client.get_multiplexed_async_connection().await.unwrap();
    let stored: String = eventually("the ROLLBACK verdict in Redis", SETTLE, || {
        let mut connection = connection.clone();
        async move {
            let text: Option<String> = connection
                .get(format!("greenlight:{DEPLOYMENT}:verdict"))
                .await
                .ok()?;
            text.filter(|text| text.contains("\"decision\":\"ROLLBACK\""))
        }
    })
    .await;
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert!(
        !stored["reasons"].as_array().unwrap().is_empty(),
        "{stored}"
    );
    let actions: Vec<String> = history(&redis, "action")
        .await
        .iter()
        .map(|entry| entry.get::<String>("action").unwrap())
        .collect();
    assert_eq!(actions, ["cutover", "rollback"]);
    let alerts = history(&redis, "alert").await;
    assert!(
        alerts
            .iter()
            .any(|a| a.get::<String>("severity").as_deref() == Some("critical")),
        "a critical alert for the rollback"
    );

    // The CLI shows it, and a rollback is not "ready".
    let (code, stdout, _) = bed.cli(&["verdict", DEPLOYMENT]).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("ROLLBACK") && stdout.contains("RolledBack"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_redis_outage_holds_instead_of_rolling_back() {
    let shared = {
        let shared = RedisServer::start()
            .await
            .expect("the backends' shared Redis");
        shared.ping().await.unwrap();
        shared
    };
    let verdicts = RedisServer::start().await.expect("Redis for verdicts");
    let bed = Bed::new();
    let rules = format!("{FAST_RULES}health_failure_for = \"8s\"\n");
    let _aggregator = bed.aggregator_with(Some(&verdicts.url()), &rules).await;
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let url = shared.url();
    let deps = || Dependencies {
        postgres: None,
        redis: Some(&url),
    };
    let _blue_agent = bed.agent("blue", "blue-1", &blue, deps(), "500ms");
    let _green_agent = bed.agent("green", "green-1", &green, deps(), "500ms");
    bed.verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
        .await;
    cut_over(&bed).await;
    bed.verdict_where("baking", SETTLE, |v| v.phase() == Phase::Baking)
        .await;

    let mut shared = shared;
    shared.stop().await;
    let held = bed
        .verdict_where("HOLD for the shared Redis", SETTLE, |v| {
            v.decision() == Decision::Hold
        })
        .await;
    assert_eq!(held.phase(), Phase::Held);
    assert!(
        held.reasons
            .iter()
            .any(|r| r.rule == "shared_dependency" && r.check == "redis"),
        "{:?}",
        held.reasons
    );
    // Held well past the health rule's 8 s: still no rollback.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let still = bed.verdict_where("still held", SETTLE, |_| true).await;
    assert_eq!(still.decision(), Decision::Hold, "{:?}", still.reasons);
    let actions: Vec<String> = history(&verdicts, "action")
        .await
        .iter()
        .map(|entry| entry.get::<String>("action").unwrap())
        .collect();
    assert_eq!(actions, ["cutover"], "no rollback was decided");
    assert!(
        !history(&verdicts, "alert").await.is_empty(),
        "the hold raised an alert"
    );

    // Redis back: the bake goes on.
    shared.start_again().await.expect("Redis restarts");
    bed.verdict_where("baking again", SETTLE, |v| v.phase() == Phase::Baking)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregator_killed_mid_bake_resumes_it_and_decides_nothing_twice() {
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let rules = format!("{FAST_RULES}bake_for = \"20s\"\n");
    let aggregator = bed.aggregator_with(Some(&redis.url()), &rules).await;
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let url = redis.url();
    let deps = || Dependencies {
        postgres: None,
        redis: Some(&url),
    };
    let _blue_agent = bed.agent("blue", "blue-1", &blue, deps(), "500ms");
    let _green_agent = bed.agent("green", "green-1", &green, deps(), "500ms");
    bed.verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
        .await;
    cut_over(&bed).await;
    let before = bed
        .verdict_where("baking", SETTLE, |v| v.phase() == Phase::Baking)
        .await;
    // Let the state reach Redis, then kill without warning.
    tokio::time::sleep(Duration::from_secs(2)).await;
    aggregator.kill().await;

    let _aggregator = bed.aggregator_with(Some(&redis.url()), &rules).await;
    let after = bed.verdict_where("restored", SETTLE, |_| true).await;
    assert_eq!(after.phase(), Phase::Baking, "{:?}", after.reasons);
    assert_eq!(
        after.bake_deadline, before.bake_deadline,
        "the deadline is restored"
    );
    assert!(
        after.epoch > before.epoch,
        "epochs keep growing: {} then {}",
        before.epoch,
        after.epoch
    );

    // The bake ends at the restored deadline: Verified, with one cutover and
    // nothing else decided.
    let verified = bed
        .verdict_where("Verified", SETTLE, |v| v.phase() == Phase::Verified)
        .await;
    let deadline = before
        .bake_deadline
        .as_ref()
        .and_then(from_timestamp)
        .unwrap();
    let verified_at = verified
        .transitions
        .iter()
        .rev()
        .find(|t| t.to() == Phase::Verified)
        .and_then(|t| t.at.as_ref())
        .and_then(from_timestamp)
        .expect("a Verified transition");
    assert!(
        verified_at >= deadline,
        "verified at the restored deadline, not before"
    );
    let actions: Vec<String> = history(&redis, "action")
        .await
        .iter()
        .map(|entry| entry.get::<String>("action").unwrap())
        .collect();
    assert_eq!(
        actions,
        ["cutover"],
        "no decision repeated after the restart"
    );
}
