//! Acceptance: the aggregator reaches a Redis that wants a password and
//! one that speaks TLS only (both redis-servers started by the test, the
//! TLS one with a certificate from the test's own CA), and publishes its
//! verdicts there. A wrong or missing password and an untrusted
//! certificate are said in words, the password never shown.

use std::time::Duration;

use greenlight_testbed::{RedisServer, RedisTls, TestCa, eventually};

use crate::bed::{Bed, DEPLOYMENT, Dependencies, SETTLE, path_str};

/// The verdict the aggregator published, once it has.
async fn published(client: redis::Client) -> serde_json::Value {
    let key = format!("greenlight:{{{DEPLOYMENT}}}:verdict");
    eventually("a verdict in Redis", SETTLE, || {
        let (client, key) = (client.clone(), key.clone());
        async move {
            let mut connection = client
                .get_multiplexed_async_connection()
                .await
                .map_err(|error| error.to_string())?;
            let text: Option<String> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .map_err(|error| error.to_string())?;
            let text = text.ok_or("no verdict key yet")?;
            serde_json::from_str::<serde_json::Value>(&text).map_err(|error| error.to_string())
        }
    })
    .await
}

/// A green backend and its agent, reporting to `bed`'s aggregator.
async fn green_agent(bed: &Bed) -> Vec<greenlight_testbed::Process> {
    let (backend, green) = bed.backend("green", "v3.1.0").await;
    let no_dependencies = Dependencies {
        postgres: None,
        redis: None,
    };
    let agent = bed.agent("green", "green-1", &green, no_dependencies, "500ms");
    vec![backend, agent]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aggregator_publishes_to_a_redis_with_a_password() {
    let redis = RedisServer::with_password("s3cret-pass").await.unwrap();
    assert!(redis.url().contains(":s3cret-pass@"), "{}", redis.url());
    let bed = Bed::new();
    let _aggregator = bed.aggregator(Some(&redis.url()), "1s").await;
    let _green = green_agent(&bed).await;
    let verdict = published(redis::Client::open(redis.url()).unwrap()).await;
    assert_eq!(verdict["deployment"], DEPLOYMENT);

    let wrong = Bed::new();
    let url = format!("redis://:wrong-pass@127.0.0.1:{}", redis.port());
    let refused = wrong.aggregator(Some(&url), "1s").await;
    let line = refused
        .wait_for_line("Redis refused the credentials", SETTLE)
        .await;
    assert!(
        !line.contains("wrong-pass"),
        "the password is not shown: {line}"
    );

    let without = Bed::new();
    let url = format!("redis://127.0.0.1:{}", redis.port());
    let refused = without.aggregator(Some(&url), "1s").await;
    refused
        .wait_for_line("Redis wants a password", SETTLE)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aggregator_publishes_over_rediss_trusting_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("greenlight test Redis CA");
    let ca_file = ca.write(dir.path(), "redis-ca");
    let server = ca.issue(dir.path(), "redis", &["127.0.0.1"], 1);
    let redis = RedisServer::with_tls(RedisTls {
        cert: server.cert,
        key: server.key,
        ca: ca_file.clone(),
    })
    .await
    .unwrap();
    assert!(redis.url().starts_with("rediss://"), "{}", redis.url());
    let bed = Bed::new();
    let sections = format!(
        "[redis]\nurl = \"{}\"\nca = \"{}\"\nverdict_ttl = \"10s\"\n[defaults]\nready_after = \"1s\"\n",
        redis.url(),
        path_str(&ca_file)
    );
    let aggregator = bed.aggregator_toml(&sections, &[]).await;
    let _green = green_agent(&bed).await;
    let trusting = redis::Client::build_with_tls(
        redis.url(),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(std::fs::read(&ca_file).unwrap()),
        },
    )
    .unwrap();
    let verdict = published(trusting).await;
    assert_eq!(verdict["deployment"], DEPLOYMENT);
    aggregator
        .wait_for_line("connected to Redis", Duration::from_secs(5))
        .await;

    // Without redis.ca the system's roots are asked, and they do not know
    // the test's CA.
    let untrusting = Bed::new();
    let refused = untrusting.aggregator(Some(&redis.url()), "1s").await;
    refused
        .wait_for_line("certificate is not trusted: set redis.ca", SETTLE)
        .await;
}
