//! The agent's own face over real HTTP: `/health` in health+json and
//! `/metrics` in Prometheus text, against a real (test) aggregator.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::stream::{agent_config_settings, wait_until};
use crate::test_aggregator::{Seen, TestAggregator, serve};

async fn get(url: &str) -> (u16, String, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_say_what_the_agent_sees() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let aggregator = TestAggregator::new(&seen);
    let (address, server) = serve(aggregator, "127.0.0.1:0".parse().unwrap()).await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut settings = agent_config_settings(address, Duration::from_millis(100)).await;
    settings.listen = Some(format!("127.0.0.1:{port}"));
    let shutdown = CancellationToken::new();
    let agent = tokio::spawn(greenlight_agent::run(
        settings.validate().unwrap(),
        shutdown.clone(),
    ));
    wait_until("a few reports", || seen.lock().unwrap().accepted.len() >= 3).await;

    let (status, content_type, body) = get(&format!("http://127.0.0.1:{port}/health")).await;
    assert_eq!(status, 503, "the http check fails: {body}");
    assert_eq!(content_type, "application/health+json");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "fail");
    let http = &health["checks"]["http:statusCode"][0];
    assert_eq!(http["status"], "fail", "{body}");
    assert_eq!(http["output"], "connection refused");
    assert!(http["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        health["checks"]["aggregator:connection"][0]["observedValue"],
        true
    );

    let (status, content_type, text) = get(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain; version=0.0.4"));
    for line in [
        "greenlight_agent_check_up{check=\"http\",component=\"\"} 0",
        "greenlight_agent_aggregator_connected 1",
        "greenlight_agent_reports_dropped_total 0",
        "greenlight_agent_reconnects_total 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(text.contains("greenlight_agent_probe_duration_seconds_count{check=\"http\"}"));
    let (status, _, _) = get(&format!("http://127.0.0.1:{port}/nothing")).await;
    assert_eq!(status, 404);

    shutdown.cancel();
    agent.await.unwrap().unwrap();
    server.abort();
}
