//! Issue 12: the demo on a Redis that also holds a real deployment. A real
//! aggregator leaves `escashop`'s keys (verdict, saved state, history) in
//! Redis; the demo runs twice against that Redis, and then once more asked
//! to use the name `escashop`. The real keys are byte for byte what they
//! were, the demo's own keys are its own, and the last run is refused.

use std::collections::BTreeMap;
use std::time::Duration;

use greenlight_proto::v1::Decision;
use greenlight_testbed::{RedisServer, binary};

use crate::bed::{Bed, DEPLOYMENT, SETTLE};

/// Every key under `greenlight:{<deployment>}:`, with its DUMP (value and
/// type; the TTL is not in it).
async fn keys_of(redis_url: &str, deployment: &str) -> BTreeMap<String, Vec<u8>> {
    let client = redis::Client::open(redis_url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let names: Vec<String> = redis::cmd("KEYS")
        .arg(format!("greenlight:{{{deployment}}}:*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    let mut dumps = BTreeMap::new();
    for name in names {
        let dump: Vec<u8> = redis::cmd("DUMP")
            .arg(&name)
            .query_async(&mut connection)
            .await
            .unwrap();
        dumps.insert(name, dump);
    }
    dumps
}

/// Runs the demo to its end: (exit code, stdout, stderr).
async fn demo(args: &[&str]) -> (i32, String, String) {
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(binary("greenlight-demo"))
            .args(["--ready-after", "2s"])
            .args(args)
            .env_remove("GREENLIGHT_DEMO_REDIS_URL")
            .output(),
    )
    .await
    .expect("the demo finished within 180 s")
    .expect("running greenlight-demo");
    (
        output.status.code().expect("the demo exited, not killed"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_never_touches_a_real_deployment_in_its_redis() {
    let redis = RedisServer::start().await.expect("Redis");
    let url = redis.url();

    // A real deployment's keys, written by a real aggregator that then stops.
    let bed = Bed::new();
    let aggregator = bed.aggregator(Some(&url), "2s").await;
    let pair = bed.pair(None).await;
    bed.verdict_where("the real deployment READY", SETTLE, |v| {
        v.decision() == Decision::Ready
    })
    .await;
    aggregator.terminate().await;
    drop(pair);
    // The verdict key's TTL would end it during the demo's runs (no live
    // aggregator): without it, any change is the demo's.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: bool = redis::cmd("PERSIST")
        .arg(format!("greenlight:{{{DEPLOYMENT}}}:verdict"))
        .query_async(&mut connection)
        .await
        .unwrap();
    let real = keys_of(&url, DEPLOYMENT).await;
    for suffix in ["verdict", "state", "history"] {
        assert!(
            real.contains_key(&format!("greenlight:{{{DEPLOYMENT}}}:{suffix}")),
            "the real aggregator left greenlight:{{{DEPLOYMENT}}}:{suffix}; it left {:?}",
            real.keys()
        );
    }

    // Twice: the second run finds the first one's keys, which are its own.
    let mut histories = Vec::new();
    for run in 1..=2 {
        let (code, stdout, stderr) = demo(&["--redis-url", &url]).await;
        assert_eq!(
            code, 0,
            "demo run {run} failed:\n{stdout}\n--- stderr ---\n{stderr}"
        );
        assert!(
            stdout.contains("ROLLBACK decided"),
            "demo run {run} told its story:\n{stdout}"
        );
        let own = keys_of(&url, "escashop-demo").await;
        for suffix in ["verdict", "state", "history", "demo"] {
            assert!(
                own.contains_key(&format!("greenlight:{{escashop-demo}}:{suffix}")),
                "demo run {run} wrote greenlight:{{escashop-demo}}:{suffix}; it has {:?}",
                own.keys()
            );
        }
        histories.push(crate::bed::history_all_of(&url, "escashop-demo").await);
        assert_unchanged(
            &real,
            &keys_of(&url, DEPLOYMENT).await,
            &format!("demo run {run}"),
        );
    }
    // The second run started from scratch: its history does not hold the
    // first run's entries.
    let first_ids: Vec<_> = histories[0].iter().map(|entry| &entry.id).collect();
    assert!(
        histories[1]
            .iter()
            .all(|entry| !first_ids.contains(&&entry.id)),
        "the second demo run kept the first run's history"
    );

    // Asked to use the real deployment's name, the demo refuses (usage).
    let (code, stdout, stderr) = demo(&["--redis-url", &url, "--deployment", DEPLOYMENT]).await;
    assert_eq!(
        code, 2,
        "the demo under a real deployment's name:\n{stdout}\n--- stderr ---\n{stderr}"
    );
    assert!(
        stderr.contains("which no greenlight-demo made") && stderr.contains("--deployment"),
        "the refusal says why and what to do: {stderr}"
    );
    assert_unchanged(&real, &keys_of(&url, DEPLOYMENT).await, "the refused demo");
}

/// The same keys with the same values; a failure names the keys.
fn assert_unchanged(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
    who: &str,
) {
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|key| before.get(*key) != after.get(*key))
        .collect();
    assert!(
        changed.is_empty(),
        "{who} changed the real deployment's keys: {changed:?}"
    );
}
