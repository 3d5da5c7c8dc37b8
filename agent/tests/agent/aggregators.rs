//! One agent, two aggregators side by side (issue 14): both get the same
//! reports under one run id; one going away neither stops nor slows the
//! other, and it gets its own backlog when it is back. The agent's face
//! shows each stream.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::stream::{agent_config_settings, wait_until};
use crate::test_aggregator::{Seen, TestAggregator, serve};

async fn get(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

/// The `aggregator:connection` entry of `address` in the agent's /health.
async fn stream_entry(port: u16, address: SocketAddr) -> serde_json::Value {
    let body = get(&format!("http://127.0.0.1:{port}/health")).await;
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    let entries = health["checks"]["aggregator:connection"]
        .as_array()
        .unwrap_or_else(|| panic!("no aggregator:connection in {body}"));
    assert_eq!(entries.len(), 2, "one entry per aggregator: {body}");
    entries
        .iter()
        .find(|entry| entry["componentId"] == format!("http://{address}"))
        .unwrap_or_else(|| panic!("no entry for {address} in {body}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_aggregators_get_every_report_and_one_away_does_not_hold_back_the_other() {
    let seen_a = Arc::new(Mutex::new(Seen::default()));
    let seen_b = Arc::new(Mutex::new(Seen::default()));
    let b = TestAggregator::new(&seen_b);
    let (address_a, server_a) =
        serve(TestAggregator::new(&seen_a), "127.0.0.1:0".parse().unwrap()).await;
    let (address_b, server_b) = serve(b.clone(), "127.0.0.1:0".parse().unwrap()).await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut settings = agent_config_settings(address_a, Duration::from_millis(50)).await;
    settings.aggregator = format!("http://{address_a},http://{address_b}");
    settings.listen = Some(format!("127.0.0.1:{port}"));
    let shutdown = CancellationToken::new();
    let agent = tokio::spawn(greenlight_agent::run(
        settings.validate().unwrap(),
        shutdown.clone(),
    ));
    let accepted = |seen: &Arc<Mutex<Seen>>| seen.lock().unwrap().accepted.len();
    wait_until("10 reports at each aggregator", || {
        accepted(&seen_a) >= 10 && accepted(&seen_b) >= 10
    })
    .await;
    assert_eq!(stream_entry(port, address_b).await["status"], "pass");

    // B goes away: A keeps getting a report every interval.
    server_b.abort();
    let _ = server_b.await;
    b.crash.cancel();
    let at_a = accepted(&seen_a);
    let at_b = accepted(&seen_b);
    wait_until("20 more reports at A while B is away", || {
        accepted(&seen_a) >= at_a + 20
    })
    .await;
    let entry = stream_entry(port, address_b).await;
    assert_eq!(entry["status"], "warn", "{entry}");
    assert_eq!(entry["observedValue"], false, "{entry}");
    assert_eq!(stream_entry(port, address_a).await["status"], "pass");
    let metrics = get(&format!("http://127.0.0.1:{port}/metrics")).await;
    for line in [
        format!("greenlight_agent_stream_connected{{aggregator=\"http://{address_a}\"}} 1"),
        format!("greenlight_agent_stream_connected{{aggregator=\"http://{address_b}\"}} 0"),
        "greenlight_agent_aggregator_connected 1".to_string(),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in\n{metrics}"
        );
    }
    assert!(
        accepted(&seen_b) <= at_b + 1,
        "B was away: at most the report in flight"
    );

    // B is back on its address: its own backlog arrives, then new reports.
    let (_, server_b) = serve(TestAggregator::new(&seen_b), address_b).await;
    wait_until("B to catch up with A", || {
        let newest_a = *seen_a.lock().unwrap().accepted.last().unwrap();
        let newest_b = *seen_b.lock().unwrap().accepted.last().unwrap();
        newest_b >= newest_a
    })
    .await;
    shutdown.cancel();
    agent.await.unwrap().unwrap();
    server_a.abort();
    server_b.abort();

    let seen_a = seen_a.lock().unwrap();
    let seen_b = seen_b.lock().unwrap();
    for (name, seen) in [("A", &seen_a), ("B", &seen_b)] {
        assert!(seen.duplicates.is_empty(), "{name}: {:?}", seen.duplicates);
        assert!(seen.gaps.is_empty(), "{name}: {:?}", seen.gaps);
        let expected: Vec<u64> = (1..=seen.accepted.len() as u64).collect();
        assert_eq!(
            seen.accepted, expected,
            "{name}: every sequence once, in order"
        );
    }
    assert!(seen_b.hellos.len() >= 2, "B was greeted again");
    let run_ids: std::collections::HashSet<_> = seen_a
        .hellos
        .iter()
        .chain(&seen_b.hellos)
        .map(|hello| &hello.run_id)
        .collect();
    assert_eq!(run_ids.len(), 1, "one agent run, one Hello for both");
    assert_eq!(seen_a.hellos[0], seen_b.hellos[0], "the same Hello");
    // The same report, sequence for sequence, whatever the other's fate.
    let common = seen_a.reports.len().min(seen_b.reports.len());
    assert!(common >= 30, "{common} reports in common");
    assert_eq!(seen_a.reports[..common], seen_b.reports[..common]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregator_that_never_answers_does_not_delay_the_other() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (address, server) = serve(TestAggregator::new(&seen), "127.0.0.1:0".parse().unwrap()).await;
    // Listens but never accepts: every connection attempt hangs until its
    // timeout, the slowest kind of absent aggregator.
    let silent = tokio::net::TcpSocket::new_v4().unwrap();
    silent.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let silent_address = silent.local_addr().unwrap();
    let _silent = silent.listen(1).unwrap();
    let mut settings = agent_config_settings(address, Duration::from_millis(50)).await;
    settings.aggregator = format!("http://{silent_address},http://{address}");
    let shutdown = CancellationToken::new();
    let agent = tokio::spawn(greenlight_agent::run(
        settings.validate().unwrap(),
        shutdown.clone(),
    ));
    let started = tokio::time::Instant::now();
    wait_until("20 reports at the answering aggregator", || {
        seen.lock().unwrap().accepted.len() >= 20
    })
    .await;
    // 20 reports at 50 ms take 1 s; waiting on the silent one first would
    // take its handshake's whole limit (13 s) before anything was sent.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not held back: {:?}",
        started.elapsed()
    );
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(2), agent)
        .await
        .expect("the agent stops promptly with a connection hanging")
        .unwrap()
        .unwrap();
    server.abort();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.accepted[..20], (1..=20).collect::<Vec<u64>>()[..]);
}
