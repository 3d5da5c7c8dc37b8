//! Acceptance: blue and green agents, each checking a real PostgreSQL and
//! Redis and a simulated backend; green becomes READY after `ready_after`,
//! and every way of asking says so: the CLI, grpc.health.v1, and Redis
//! (key, channel, history stream).

use futures::StreamExt;
use greenlight_proto::v1::Decision;
use greenlight_testbed::{Postgres, RedisServer, eventually};
use redis::AsyncCommands;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::bed::{Bed, DEPLOYMENT, Dependencies, SETTLE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn green_becomes_ready_and_every_channel_says_so() {
    let postgres = Postgres::start()
        .await
        .expect("PostgreSQL for the backends");
    let redis = RedisServer::start()
        .await
        .expect("Redis for backends and verdicts");
    let bed = Bed::new();

    // Subscribe before anything is decided, as a switch script would.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut pubsub = client
        .get_async_pubsub()
        .await
        .expect("a pub/sub connection");
    pubsub
        .subscribe(format!("greenlight:{{{DEPLOYMENT}}}:verdicts"))
        .await
        .unwrap();

    let _aggregator = bed.aggregator(Some(&redis.url()), "3s").await;
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let postgres_url = postgres.url();
    let redis_url = redis.url();
    let dependencies = || Dependencies {
        postgres: Some(&postgres_url),
        redis: Some(&redis_url),
    };
    let _blue_agent = bed.agent("blue", "blue-1", &blue, dependencies(), "500ms");
    let _green_agent = bed.agent("green", "green-1", &green, dependencies(), "500ms");

    // `wait --until ready` exits 0 once green is ready.
    let (code, stdout, stderr) = bed
        .cli(&["wait", DEPLOYMENT, "--until", "ready", "--timeout", "60s"])
        .await;
    assert_eq!(code, 0, "wait: {stdout}\n{stderr}");
    assert!(stdout.contains("READY"), "{stdout}");

    let verdict = bed
        .verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
        .await;
    // Four checks per agent, all of them real: postgres, redis, http, traffic.
    for agent in &verdict.agents {
        assert!(agent.fresh && agent.connected, "{agent:?}");
        assert!(agent.failing_checks.is_empty(), "{agent:?}");
    }
    assert_eq!(verdict.agents.len(), 2);

    // `greenlight verdict` exits 0 and prints READY.
    let (code, stdout, _) = bed.cli(&["verdict", DEPLOYMENT]).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("escashop: READY"), "{stdout}");
    let (code, stdout, _) = bed.cli(&["verdict", DEPLOYMENT, "--json"]).await;
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("--json prints JSON");
    assert_eq!(json["decision"], "READY");
    assert_eq!(json["candidate"], "green");

    // grpc.health.v1: green SERVING; the aggregator itself SERVING.
    let channel = tonic::transport::Endpoint::from_shared(bed.aggregator_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    for service in ["greenlight.escashop.green", "greenlight.escashop.blue", ""] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|error| panic!("health check of {service:?}: {error}"))
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }

    // Redis: the key holds the verdict JSON, with a TTL.
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("greenlight:{{{DEPLOYMENT}}}:verdict");
    let stored: String = eventually("the verdict key to say READY", SETTLE, || {
        let mut connection = connection.clone();
        let key = key.clone();
        async move {
            let text: Option<String> = connection.get(&key).await.ok()?;
            text.filter(|text| text.contains("\"decision\":\"READY\""))
        }
    })
    .await;
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["deployment"], DEPLOYMENT);
    assert_eq!(stored["epoch"].as_u64(), Some(verdict.epoch));
    let ttl: i64 = connection.ttl(&key).await.unwrap();
    assert!(
        ttl > 0 && ttl <= 10,
        "the key has a TTL the aggregator refreshes: {ttl}"
    );

    // The channel: a subscriber received the READY verdict.
    let mut messages = pubsub.on_message();
    let ready_message = tokio::time::timeout(SETTLE, async {
        while let Some(message) = messages.next().await {
            let payload: String = message.get_payload().unwrap();
            if payload.contains("\"decision\":\"READY\"") {
                return payload;
            }
        }
        panic!("the channel closed before a READY verdict");
    })
    .await
    .expect("a READY verdict on the channel");
    let ready_message: serde_json::Value = serde_json::from_str(&ready_message).unwrap();
    assert_eq!(ready_message["candidate"], "green");

    // The history stream has it, in epoch order.
    let history: redis::streams::StreamRangeReply = connection
        .xrange_all(format!("greenlight:{{{DEPLOYMENT}}}:history"))
        .await
        .unwrap();
    let epochs: Vec<u64> = history
        .ids
        .iter()
        .map(|entry| entry.get::<String>("epoch").unwrap().parse().unwrap())
        .collect();
    assert!(
        epochs.windows(2).all(|pair| pair[0] < pair[1]),
        "{epochs:?}"
    );
    assert!(
        history
            .ids
            .iter()
            .any(|entry| entry.get::<String>("decision").as_deref() == Some("READY")),
        "history: {epochs:?}"
    );
}
