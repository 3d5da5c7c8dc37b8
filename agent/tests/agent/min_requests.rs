//! The traffic check's minimum request count, end to end in the agent: the
//! aggregator says its minimum in the Welcome and the check judges by it;
//! too little traffic is inconclusive, not pass. Every result carries its
//! `kind` as well as its name.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use greenlight_agent::TrafficSettings;
use greenlight_proto::v1::CheckStatus;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::stream::{agent_config_settings, wait_until};
use crate::test_aggregator::{Seen, TestAggregator, serve};

/// A backend's `/metrics` that served two more clean requests at every
/// scrape: a trickle, well under 50 in any short window.
async fn trickling_metrics() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let requests = served.fetch_add(2, Ordering::Relaxed) + 2;
            tokio::spawn(async move {
                let mut request = vec![0; 4096];
                let _ = socket.read(&mut request).await;
                let body = format!("http_requests_total{{code=\"200\"}} {requests}\n");
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\
                     content-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

/// Runs an agent with the default traffic settings (`min_requests` 50)
/// against a test aggregator that says `min_requests`, until `enough`
/// holds for what the aggregator saw.
async fn run_agent(min_requests: u64, what: &str, enough: impl FnMut(&Seen) -> bool) -> Seen {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let aggregator = TestAggregator {
        min_requests,
        ..TestAggregator::new(&seen)
    };
    let (address, server) = serve(aggregator, "127.0.0.1:0".parse().unwrap()).await;
    let mut settings = agent_config_settings(address, Duration::from_millis(100)).await;
    let metrics = trickling_metrics().await;
    settings.checks.traffic = Some(TrafficSettings::new(format!(
        "http://127.0.0.1:{metrics}/metrics"
    )));
    let shutdown = CancellationToken::new();
    let agent = tokio::spawn(greenlight_agent::run(
        settings.validate().unwrap(),
        shutdown.clone(),
    ));
    let mut enough = enough;
    wait_until(what, || enough(&seen.lock().unwrap())).await;
    shutdown.cancel();
    agent.await.unwrap().unwrap();
    server.abort();
    std::mem::take(&mut *seen.lock().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickle_is_inconclusive_with_the_agents_own_minimum() {
    let seen = run_agent(0, "five traffic results", |seen| seen.traffic.len() >= 5).await;
    for result in &seen.traffic {
        assert_eq!(result.status(), CheckStatus::Inconclusive, "{result:?}");
        assert!(result.error.starts_with("only "), "{}", result.error);
        assert!(
            result.error.ends_with("s (at least 50 needed)"),
            "{}",
            result.error
        );
    }
    assert!(seen.unkinded.is_empty(), "{:?}", seen.unkinded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aggregators_minimum_from_the_welcome_is_judged_by() {
    let seen = run_agent(4, "a passing traffic result", |seen| {
        seen.traffic
            .iter()
            .any(|result| result.status() == CheckStatus::Pass)
    })
    .await;
    // Before the window held 4 requests the check said so, with the
    // aggregator's number (a round before the Welcome arrived says 50).
    assert!(
        seen.traffic.iter().any(|result| {
            result.status() == CheckStatus::Inconclusive
                && result.error.ends_with("(at least 4 needed)")
        }),
        "{:?}",
        seen.traffic
    );
    assert!(seen.unkinded.is_empty(), "{:?}", seen.unkinded);
}
