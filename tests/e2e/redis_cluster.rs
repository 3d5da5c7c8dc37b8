//! Issue 14, with real processes: an aggregator configured with a
//! `redis+cluster://` URL publishes a deployment's verdict, history and
//! state (one slot, by the hash tag), readable through a cluster
//! connection; restarted, it restores its state from the cluster. And the
//! restore's key scan visits every primary, not only the one it asked.

use std::time::Duration;

use greenlight_aggregator::config::RedisSettings;
use greenlight_aggregator::redis::RedisTarget;
use greenlight_proto::v1::Phase;
use greenlight_testbed::{RedisCluster, eventually};
use redis::AsyncCommands;
use redis::cluster_async::ClusterConnection;

use crate::bed::{Bed, DEPLOYMENT, SETTLE};

/// A bake far longer than the test, so that it is still running after
/// the restart; and a second deployment, in another slot, so that engine
/// steps and refreshes carry two deployments (written per deployment: one
/// MULTI/EXEC across slots would be refused).
const RULES: &str =
    "ready_after = \"2s\"\nbake_for = \"10m\"\n[deployments.catalog]\nlive = \"blue\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aggregator_publishes_to_and_restores_from_a_cluster() {
    let cluster = RedisCluster::start().await.expect("Redis Cluster");
    let bed = Bed::new();
    let aggregator = bed.aggregator_with(Some(&cluster.url()), RULES).await;
    let _pair = bed.pair(None).await;
    let baking = bed.cut_over_when_ready().await;

    let mut connection = cluster_connection(&cluster).await;
    let key = |what: &str| format!("greenlight:{{{DEPLOYMENT}}}:{what}");
    let verdict = json_where(
        &mut connection,
        &key("verdict"),
        "Baking in the verdict key",
        |v| v["phase"] == "Baking",
    )
    .await;
    assert!(verdict["epoch"].as_u64() >= Some(baking.epoch), "{verdict}");
    json_where(
        &mut connection,
        &key("state"),
        "Baking in the saved state",
        |s| s["phase"] == "Baking",
    )
    .await;
    json_where(
        &mut connection,
        "greenlight:{catalog}:verdict",
        "the second deployment's verdict, in its own slot",
        |v| v["deployment"] == "catalog",
    )
    .await;
    let history: redis::streams::StreamRangeReply =
        connection.xrange_all(key("history")).await.unwrap();
    assert!(
        history
            .ids
            .iter()
            .any(|entry| entry.get::<String>("kind").as_deref() == Some("verdict")),
        "verdicts in the history: {:?}",
        history.ids
    );

    aggregator.kill().await;
    let _aggregator = bed.aggregator_with(Some(&cluster.url()), RULES).await;
    let after = bed
        .verdict_where("a verdict after the restart", SETTLE, |_| true)
        .await;
    assert_eq!(after.phase(), Phase::Baking, "{:?}", after.reasons);
    assert_eq!(
        after.bake_deadline, baking.bake_deadline,
        "the bake's deadline is restored from the cluster"
    );
    assert!(
        after.epoch > baking.epoch,
        "{} after, {}",
        after.epoch,
        baking.epoch
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_scan_on_a_cluster_visits_every_primary() {
    let cluster = RedisCluster::start().await.expect("Redis Cluster");
    let mut connection = cluster_connection(&cluster).await;
    // Thirty hash tags: spread over the three primaries' slots.
    let mut written: Vec<String> = (0..30).map(|n| format!("probe:{{{n}}}:state")).collect();
    for key in &written {
        let () = connection.set(key, "x").await.unwrap();
    }
    let settings = RedisSettings::new(cluster.url(), Duration::from_secs(10), 100)
        .expect("a valid cluster URL");
    let mut target = RedisTarget::new(&settings)
        .connect()
        .await
        .expect("a cluster connection");
    let mut found = target.keys_matching("probe:*:state").await.unwrap();
    found.sort();
    written.sort();
    assert_eq!(found, written);
}

async fn cluster_connection(cluster: &RedisCluster) -> ClusterConnection {
    redis::cluster::ClusterClient::new(cluster.node_urls())
        .unwrap()
        .get_async_connection()
        .await
        .expect("a cluster connection")
}

/// Polls the JSON at `key` until `condition` holds; returns it.
async fn json_where(
    connection: &mut ClusterConnection,
    key: &str,
    what: &str,
    condition: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    eventually(what, SETTLE, || {
        let (mut connection, condition) = (connection.clone(), &condition);
        async move {
            let text: Option<String> = connection
                .get(key)
                .await
                .map_err(|error| error.to_string())?;
            let value: serde_json::Value =
                serde_json::from_str(&text.ok_or("no such key")?).map_err(|e| e.to_string())?;
            if condition(&value) {
                Ok(value)
            } else {
                Err(format!("{key}: {value}"))
            }
        }
    })
    .await
}
