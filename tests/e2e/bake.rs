//! Issue 4 end to end, with real processes: an error spike in green during
//! the bake rolls back (reasons in Redis and over gRPC); a shared Redis
//! outage holds; an aggregator killed mid-bake resumes it from Redis and
//! decides nothing twice.

use std::time::Duration;

use greenlight_proto::time::from_timestamp;
use greenlight_proto::v1::{Decision, Phase};
use greenlight_testbed::{RedisServer, eventually};
use redis::AsyncCommands;

use crate::bed::{Bed, DEPLOYMENT, SETTLE, entered_at, history, history_field, set_switches};

/// The guide's rules on a test's time scale.
const FAST_RULES: &str = "ready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_spike_in_green_during_the_bake_rolls_back() {
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let _aggregator = bed.aggregator_with(Some(&redis.url()), FAST_RULES).await;
    let pair = bed.pair(Some(&redis.url())).await;
    bed.cut_over_when_ready().await;

    set_switches(&pair.green, r#"{"error_ratio": 0.3}"#).await;
    let verdict = bed
        .verdict_where("ROLLBACK", SETTLE, |v| v.decision() == Decision::Rollback)
        .await;
    assert_eq!(verdict.phase(), Phase::RolledBack);
    assert_eq!(greenlight_proto::names::color_name(verdict.live()), "blue");
    // The deciding verdict names the trigger; the ones after it say
    // "rolled_back" and repeat the cause.
    let named = |text: &str| text.contains("error_ratio") || text.contains("baseline_regression");
    assert!(
        verdict
            .reasons
            .iter()
            .any(|r| named(&r.rule) || (r.rule == "rolled_back" && named(&r.message))),
        "{:?}",
        verdict.reasons
    );

    // Redis: the key holds the ROLLBACK verdict with its reasons, the
    // history has exactly one cutover and one rollback action and a
    // critical alert.
    let client = redis::Client::open(redis.url()).unwrap();
    let connection = client.get_multiplexed_async_connection().await.unwrap();
    let stored: String = eventually("the ROLLBACK verdict in Redis", SETTLE, || {
        let mut connection = connection.clone();
        async move {
            let key = format!("greenlight:{{{DEPLOYMENT}}}:verdict");
            let text: Option<String> = connection.get(key).await.ok()?;
            text.filter(|text| text.contains("\"decision\":\"ROLLBACK\""))
        }
    })
    .await;
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert!(
        !stored["reasons"].as_array().unwrap().is_empty(),
        "{stored}"
    );
    let actions = history_field(&redis.url(), "action", "action").await;
    assert_eq!(actions, ["cutover", "rollback"]);
    let severities = history_field(&redis.url(), "alert", "severity").await;
    assert!(severities.iter().any(|s| s == "critical"), "{severities:?}");

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
    let mut shared = RedisServer::start()
        .await
        .expect("the backends' shared Redis");
    let verdicts = RedisServer::start().await.expect("Redis for verdicts");
    let bed = Bed::new();
    let rules = format!("{FAST_RULES}health_failure_for = \"8s\"\n");
    let _aggregator = bed.aggregator_with(Some(&verdicts.url()), &rules).await;
    let _pair = bed.pair(Some(&shared.url())).await;
    bed.cut_over_when_ready().await;

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
    let actions = history_field(&verdicts.url(), "action", "action").await;
    assert_eq!(actions, ["cutover"], "no rollback was decided");
    assert!(
        !history(&verdicts.url(), "alert").await.is_empty(),
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
    let _pair = bed.pair(Some(&redis.url())).await;
    let before = bed.cut_over_when_ready().await;
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
    let verified_at = entered_at(&verified, Phase::Verified);
    assert!(
        verified_at >= deadline,
        "verified at the restored deadline, not before"
    );
    let actions = history_field(&redis.url(), "action", "action").await;
    assert_eq!(
        actions,
        ["cutover"],
        "no decision repeated after the restart"
    );
}
