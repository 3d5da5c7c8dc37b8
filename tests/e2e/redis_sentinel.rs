//! Issue 14, with real processes: an aggregator configured with a
//! `redis+sentinel://` URL publishes to the primary the sentinels name;
//! the primary is SIGKILLed, Sentinel promotes the replica, and the
//! aggregator follows: a verdict decided after the failover (epoch above
//! every one before) arrives on the new primary's channel and key.

use std::time::Duration;

use futures::StreamExt;
use greenlight_testbed::RedisSentinel;

use crate::bed::{Bed, DEPLOYMENT, SETTLE, json_key_where};

/// Sentinel needs 1 s to call the primary down, then an election and a
/// promotion; generous for a shared machine.
const FAILOVER: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aggregator_follows_a_sentinel_failover() {
    let sentinel = RedisSentinel::start().await.expect("Redis Sentinel");
    let old_primary = format!("redis://127.0.0.1:{}", sentinel.primary_port());
    let new_primary = format!("redis://127.0.0.1:{}", sentinel.replica_port());
    let key = format!("greenlight:{{{DEPLOYMENT}}}:verdict");

    let bed = Bed::new();
    let _aggregator = bed.aggregator(Some(&sentinel.url()), "2s").await;
    let _pair = bed.pair(None).await;
    let ready = json_key_where(
        &redis::Client::open(old_primary.as_str()).unwrap(),
        &key,
        "READY on the first primary",
        |v| v["decision"] == "READY",
    )
    .await;

    sentinel.kill_primary().await;
    let promoted = sentinel
        .wait_for_new_master(sentinel.primary_port(), FAILOVER)
        .await
        .expect("Sentinel promotes the replica");
    assert_eq!(promoted.1, sentinel.replica_port(), "{promoted:?}");

    // A decision made after the failover can only reach the new primary
    // from the aggregator (the old one is dead, nothing replicates it).
    // Subscribed only now: Sentinel disconnects the promoted replica's
    // clients.
    let client = redis::Client::open(new_primary.clone()).unwrap();
    let mut pubsub = client
        .get_async_pubsub()
        .await
        .expect("a pub/sub connection");
    pubsub
        .subscribe(format!("greenlight:{{{DEPLOYMENT}}}:verdicts"))
        .await
        .unwrap();
    let baking = bed.cut_over_when_ready().await;
    assert!(baking.epoch > ready["epoch"].as_u64().unwrap());
    let mut messages = pubsub.on_message();
    let fresh = tokio::time::timeout(SETTLE, async {
        while let Some(message) = messages.next().await {
            let payload: String = message.get_payload().unwrap();
            let verdict: serde_json::Value = serde_json::from_str(&payload).unwrap();
            if verdict["phase"] == "Baking" {
                return verdict;
            }
        }
        panic!("the channel closed before a Baking verdict");
    })
    .await
    .expect("a Baking verdict on the new primary's channel");
    assert!(
        fresh["epoch"].as_u64() > ready["epoch"].as_u64(),
        "epochs grow across the failover: {} after, {} before",
        fresh["epoch"],
        ready["epoch"]
    );
    json_key_where(
        &redis::Client::open(new_primary.as_str()).unwrap(),
        &key,
        "Baking in the new primary's key",
        |v| v["phase"] == "Baking" && v["epoch"].as_u64() > ready["epoch"].as_u64(),
    )
    .await;
}
