//! Acceptance: the aggregator killed; the agents keep running and reconnect
//! when it is back; the CLI exits 3 while it is down.

use greenlight_proto::v1::Decision;
use greenlight_testbed::RedisServer;

use crate::bed::{Bed, DEPLOYMENT, Dependencies, SETTLE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_survive_an_aggregator_kill_and_reconnect() {
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let aggregator = bed.aggregator(None, "1s").await;
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let redis_url = redis.url();
    let deps = || Dependencies {
        postgres: None,
        redis: Some(&redis_url),
    };
    let blue_agent = bed.agent("blue", "blue-1", &blue, deps(), "500ms");
    let green_agent = bed.agent("green", "green-1", &green, deps(), "500ms");
    let before = bed
        .verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
        .await;
    let sequence_before = before.agents.iter().map(|a| a.last_sequence).max().unwrap();

    aggregator.kill().await;
    for command in [
        vec!["verdict", DEPLOYMENT],
        vec!["status"],
        vec!["verdict", DEPLOYMENT, "--json"],
    ] {
        let (code, stdout, stderr) = bed.cli(&command).await;
        assert_eq!(
            code, 3,
            "{command:?} while the aggregator is down: {stdout}\n{stderr}"
        );
        assert!(stderr.contains("cannot reach the aggregator"), "{stderr}");
    }
    // Agents keep probing while it is away.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(blue_agent.is_running(), "blue agent died");
    assert!(green_agent.is_running(), "green agent died");

    let _aggregator = bed.aggregator(None, "1s").await;
    let after = bed
        .verdict_where("both agents back and green READY", SETTLE, |v| {
            v.decision() == Decision::Ready
                && v.agents.len() == 2
                && v.agents.iter().all(|a| a.connected && a.fresh)
        })
        .await;
    let sequence_after = after.agents.iter().map(|a| a.last_sequence).max().unwrap();
    assert!(
        sequence_after > sequence_before,
        "reports continue: {sequence_before} then {sequence_after}"
    );
    let (code, stdout, _) = bed.cli(&["verdict", DEPLOYMENT]).await;
    assert_eq!(code, 0, "{stdout}");
}
