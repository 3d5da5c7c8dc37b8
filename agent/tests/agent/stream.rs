//! The agent against the test aggregator: Hello/Welcome, acknowledgements,
//! replay across an aggregator restart without gaps or duplicates, and a
//! refused Hello.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use greenlight_agent::{AgentConfig, AgentSettings, ChecksSettings, HttpSettings};
use tokio_util::sync::CancellationToken;

use crate::test_aggregator::{Seen, TestAggregator, serve};

/// An agent with only an http check, against a closed port: every probe
/// fails fast, which is all these tests need.
async fn agent_config(aggregator: SocketAddr, interval: Duration) -> AgentConfig {
    agent_config_settings(aggregator, interval)
        .await
        .validate()
        .unwrap()
}

pub(crate) async fn agent_config_settings(
    aggregator: SocketAddr,
    interval: Duration,
) -> AgentSettings {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    AgentSettings {
        aggregator: format!("http://{aggregator}"),
        deployment: "escashop".into(),
        color: "green".into(),
        instance_id: Some("green-1".into()),
        interval,
        checks: ChecksSettings {
            http: Some(HttpSettings {
                url: format!("http://127.0.0.1:{closed_port}/health"),
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

pub(crate) async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_across_an_aggregator_restart_without_gaps_or_duplicates() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let first = TestAggregator::new(&seen);
    let (address, server) = serve(first.clone(), "127.0.0.1:0".parse().unwrap()).await;
    let config = agent_config(address, Duration::from_millis(50)).await;
    let shutdown = CancellationToken::new();
    let agent = tokio::spawn(greenlight_agent::run(config, shutdown.clone()));

    wait_until("10 reports", || seen.lock().unwrap().accepted.len() >= 10).await;

    // The aggregator goes away: streams end, the port refuses connections.
    server.abort();
    let _ = server.await;
    first.crash.cancel();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let before_restart = seen.lock().unwrap().accepted.len();

    let second = TestAggregator::new(&seen);
    let (_, server) = serve(second, address).await;
    // The reports made during the outage (about 12) arrive, then new ones.
    wait_until("the backlog and new reports", || {
        seen.lock().unwrap().accepted.len() >= before_restart + 20
    })
    .await;
    shutdown.cancel();
    agent.await.unwrap().unwrap();
    server.abort();

    let seen = seen.lock().unwrap();
    assert!(
        seen.hellos.len() >= 2,
        "reconnected: {} hellos",
        seen.hellos.len()
    );
    let run_ids: std::collections::HashSet<_> = seen.hellos.iter().map(|h| &h.run_id).collect();
    assert_eq!(run_ids.len(), 1, "one agent run");
    let hello = &seen.hellos[0];
    assert_eq!(hello.deployment, "escashop");
    assert_eq!(hello.instance_id, "green-1");
    assert_eq!(hello.report_interval_ms, 50);
    assert_eq!(seen.duplicates, Vec::<u64>::new(), "no duplicates");
    assert_eq!(seen.gaps, Vec::<(u64, u64)>::new(), "no gaps");
    let expected: Vec<u64> = (1..=seen.accepted.len() as u64).collect();
    assert_eq!(seen.accepted, expected, "every sequence once, in order");
    assert_eq!(seen.failing_http_checks, seen.accepted.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_waits_for_an_aggregator_that_starts_late() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    // Reserve a port, release it: nothing listens there yet.
    let (address, server) = serve(TestAggregator::new(&seen), "127.0.0.1:0".parse().unwrap()).await;
    server.abort();
    let _ = server.await;

    let config = agent_config(address, Duration::from_millis(50)).await;
    let shutdown = CancellationToken::new();
    let agent = tokio::spawn(greenlight_agent::run(config, shutdown.clone()));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, server) = serve(TestAggregator::new(&seen), address).await;
    wait_until("the buffered reports", || {
        seen.lock().unwrap().accepted.len() >= 10
    })
    .await;
    shutdown.cancel();
    agent.await.unwrap().unwrap();
    server.abort();
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.accepted[0], 1,
        "reports from before the connection are replayed"
    );
    assert!(seen.gaps.is_empty() && seen.duplicates.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_hello_is_retried_slowly() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let aggregator = TestAggregator {
        refuse_hello: true,
        ..TestAggregator::new(&seen)
    };
    let (address, server) = serve(aggregator, "127.0.0.1:0".parse().unwrap()).await;
    let config = agent_config(address, Duration::from_millis(50)).await;
    let shutdown = CancellationToken::new();
    let agent = tokio::spawn(greenlight_agent::run(config, shutdown.clone()));
    wait_until("a Hello", || !seen.lock().unwrap().hellos.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        seen.lock().unwrap().hellos.len(),
        1,
        "a configuration error is not retried with the fast backoff"
    );
    // Shutdown is prompt even while waiting to retry.
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(1), agent)
        .await
        .expect("agent stops promptly")
        .unwrap()
        .unwrap();
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_outbox_drops_the_oldest_and_says_how_many() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let aggregator = || TestAggregator::new(&seen);
    let (address, server) = serve(aggregator(), "127.0.0.1:0".parse().unwrap()).await;
    server.abort();
    let _ = server.await;

    let mut settings = agent_config_settings(address, Duration::from_millis(20)).await;
    settings.buffer_reports = 5;
    let config = settings.validate().unwrap();
    let shutdown = CancellationToken::new();
    let agent = tokio::spawn(greenlight_agent::run(config, shutdown.clone()));
    // About 25 reports while nobody listens: 20 of them dropped.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, server) = serve(aggregator(), address).await;
    wait_until("the kept reports and new ones", || {
        seen.lock().unwrap().accepted.len() >= 15
    })
    .await;
    shutdown.cancel();
    agent.await.unwrap().unwrap();
    server.abort();

    let seen = seen.lock().unwrap();
    let first = seen.accepted[0];
    assert!(first > 6, "the oldest were dropped: first accepted {first}");
    assert_eq!(seen.gaps, [(0, first)], "only the dropped ones are missing");
    assert!(seen.duplicates.is_empty());
    assert!(
        seen.dropped.windows(2).all(|pair| pair[0] <= pair[1]),
        "the count only grows: {:?}",
        seen.dropped
    );
    assert_eq!(
        *seen.dropped.last().unwrap(),
        first - 1,
        "every report before the first accepted one was dropped and counted"
    );
}
