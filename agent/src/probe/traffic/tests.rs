//! The traffic probe against a real metrics page on loopback.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::config::TrafficSettings;
use crate::probe::{Probe, closed_port};

/// Serves whatever text `page` holds at any path, one request per
/// connection.
async fn metrics_server(page: Arc<Mutex<String>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = page.lock().unwrap().clone();
            tokio::spawn(async move {
                let mut request = vec![0; 4096];
                let _ = socket.read(&mut request).await;
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

fn page(ok: u64, bad: u64) -> String {
    format!("http_requests_total{{code=\"200\"}} {ok}\nhttp_requests_total{{code=\"502\"}} {bad}\n")
}

fn probe_for(port: u16, min_requests: u64) -> Probe {
    probe_with(settings_for(port, min_requests))
}

fn probe_with(traffic: TrafficSettings) -> Probe {
    probe_told(traffic, &AggregatorMinRequests::new())
}

/// A probe that learns the aggregator's minimum through `told`.
fn probe_told(traffic: TrafficSettings, told: &AggregatorMinRequests) -> Probe {
    let mut settings = crate::config::test_settings();
    settings.checks.traffic = Some(traffic);
    let check = crate::probe::check_config(settings, "traffic");
    Probe::new(&check, &ActiveConnections::new(), told).unwrap()
}

fn settings_for(port: u16, min_requests: u64) -> TrafficSettings {
    TrafficSettings {
        min_requests,
        ..TrafficSettings::new(format!("http://127.0.0.1:{port}/metrics"))
    }
}

#[test]
fn too_little_traffic_says_how_little_and_how_much_is_needed() {
    let mut settings = crate::config::test_settings();
    settings.checks.traffic = Some(settings_for(9, 50));
    let check = crate::probe::check_config(settings, "traffic");
    let crate::config::CheckTarget::Traffic(target) = check.target else {
        panic!("a traffic check");
    };
    let probe = TrafficProbe::new(
        target,
        ActiveConnections::new(),
        AggregatorMinRequests::new(),
    );
    let stats = WindowStats {
        requests: 12,
        errors: 6,
        error_ratio: 0.5,
        seconds: 30.0,
        ..WindowStats::default()
    };
    let result = probe.judge(Judged::Window(stats, 50), stats, Duration::ZERO);
    assert_eq!(result.status(), CheckStatus::Inconclusive);
    assert_eq!(result.kind(), CheckKind::Traffic);
    assert_eq!(result.check, "traffic");
    assert_eq!(
        result.error,
        "only 12 requests in the last 30s (at least 50 needed)"
    );
    // The ratio is still shown, only not judged.
    assert_eq!(result.observed_value, 0.5);
    // At the minimum it is judged: 50% errors fail.
    let enough = WindowStats {
        requests: 50,
        errors: 25,
        ..stats
    };
    let judged = probe.judge(Judged::Window(enough, 50), enough, Duration::ZERO);
    assert_eq!(judged.status(), CheckStatus::Fail);
}

#[tokio::test]
async fn the_aggregators_minimum_replaces_the_configured_one() {
    let text = Arc::new(Mutex::new(page(100, 0)));
    let port = metrics_server(text.clone()).await;
    let told = AggregatorMinRequests::new();
    let mut probe = probe_told(settings_for(port, 50), &told);
    let timeout = Duration::from_millis(500);
    probe.observe(timeout).await;

    // 10 clean requests: too few for this agent's 50, enough for the
    // aggregator's 5.
    *text.lock().unwrap() = page(110, 0);
    let own = probe.observe(timeout).await.result().clone();
    assert_eq!(own.status(), CheckStatus::Inconclusive);
    assert!(own.error.ends_with("(at least 50 needed)"), "{}", own.error);
    told.set(5);
    *text.lock().unwrap() = page(120, 0);
    let theirs = probe.observe(timeout).await.result().clone();
    assert_eq!(theirs.status(), CheckStatus::Pass, "{}", theirs.error);

    // An aggregator that says nothing (0) gives the agent's own back.
    told.set(0);
    *text.lock().unwrap() = page(130, 0);
    let again = probe.observe(timeout).await.result().clone();
    assert_eq!(again.status(), CheckStatus::Inconclusive);
    assert!(
        again.error.ends_with("(at least 50 needed)"),
        "{}",
        again.error
    );
}

#[tokio::test]
async fn fails_on_errors_above_the_limit_with_enough_requests() {
    let text = Arc::new(Mutex::new(page(100, 0)));
    let port = metrics_server(text.clone()).await;
    let mut probe = probe_for(port, 20);
    let timeout = Duration::from_millis(500);

    // One scrape is no window yet: nothing to judge.
    let first = probe.observe(timeout).await;
    assert_eq!(
        first.result().status(),
        CheckStatus::Inconclusive,
        "{}",
        first.result().error
    );
    assert_eq!(first.counters.unwrap().requests_total, 100);

    // 3 errors in 10 requests: 30%, but too few requests to judge.
    *text.lock().unwrap() = page(107, 3);
    let few = probe.observe(timeout).await.result().clone();
    assert_eq!(few.status(), CheckStatus::Inconclusive);
    assert_eq!(few.kind(), CheckKind::Traffic);
    assert!(
        few.error.starts_with("only 10 requests in the last "),
        "{}",
        few.error
    );
    assert!(
        few.error.ends_with("s (at least 20 needed)"),
        "{}",
        few.error
    );
    assert!((few.observed_value - 0.3).abs() < 1e-9);
    assert_eq!(few.observed_unit, "ratio");
    assert_eq!(few.threshold, 0.05);

    // 13 errors in 40 requests within the window: fail.
    *text.lock().unwrap() = page(127, 13);
    let many = probe.observe(timeout).await;
    assert_eq!(many.result().status(), CheckStatus::Fail);
    assert!(
        many.result().error.contains("13 of 40"),
        "{}",
        many.result().error
    );
    let counters = many.counters.unwrap();
    assert_eq!((counters.requests_total, counters.errors_total), (140, 13));
}

#[tokio::test]
async fn unreachable_metrics_fail() {
    let mut probe = probe_for(closed_port().await, 20);
    let observation = probe.observe(Duration::from_millis(500)).await;
    assert_eq!(observation.result().status(), CheckStatus::Fail);
    assert_eq!(observation.result().error, "connection refused");
    assert_eq!(observation.counters, None);
}

#[tokio::test]
async fn a_backend_restart_starts_the_window_over() {
    let text = Arc::new(Mutex::new(page(5000, 500)));
    let port = metrics_server(text.clone()).await;
    let mut probe = probe_for(port, 20);
    let timeout = Duration::from_millis(500);
    probe.observe(timeout).await;
    // The backend restarts: its counters begin again near zero. Taken
    // naively the difference is negative, or (against the old totals) a
    // 10% ratio that is history. The new window has nothing to judge yet.
    *text.lock().unwrap() = page(30, 0);
    let restarted = probe.observe(timeout).await.result().clone();
    assert_eq!(
        restarted.status(),
        CheckStatus::Inconclusive,
        "{}",
        restarted.error
    );
    assert_eq!(restarted.observed_value, 0.0);
    // From the new baseline: 10 errors in 50 requests.
    *text.lock().unwrap() = page(70, 10);
    let after = probe.observe(timeout).await.result().clone();
    assert_eq!(after.status(), CheckStatus::Fail);
    assert!((after.observed_value - 0.2).abs() < 1e-9, "{}", after.error);
    assert!(after.error.contains("10 of 50"), "{}", after.error);
}

#[tokio::test]
async fn the_guides_error_rate_gauge_is_judged_alone() {
    let text = Arc::new(Mutex::new(
        "error_rate 0.02\nwebsocket_connections 4\n".to_string(),
    ));
    let port = metrics_server(text.clone()).await;
    let mut probe = probe_for(port, 20);
    let timeout = Duration::from_millis(500);
    let calm = probe.observe(timeout).await;
    assert_eq!(calm.result().status(), CheckStatus::Pass);
    assert_eq!(calm.result().observed_value, 0.02);
    assert_eq!(calm.counters.unwrap().websocket_connections, 4);

    *text.lock().unwrap() = "error_rate 0.12\n".to_string();
    let bad = probe.observe(timeout).await.result().clone();
    assert_eq!(bad.status(), CheckStatus::Fail);
    assert_eq!(bad.observed_value, 0.12);
    assert_eq!(bad.threshold, 0.05);
    assert!(bad.error.contains("gauge error_rate"), "{}", bad.error);
}

#[tokio::test]
async fn source_gauge_fails_without_the_gauge() {
    let text = Arc::new(Mutex::new(page(10, 0)));
    let port = metrics_server(text).await;
    let mut probe = probe_with(TrafficSettings {
        source: crate::config::TrafficSource::Gauge,
        ..TrafficSettings::new(format!("http://127.0.0.1:{port}/metrics"))
    });
    let result = probe
        .observe(Duration::from_millis(500))
        .await
        .result()
        .clone();
    assert_eq!(result.status(), CheckStatus::Fail);
    assert!(
        result.error.contains("no error_rate gauge"),
        "{}",
        result.error
    );
}

/// The traffic probe itself, fed pages without a server.
fn pages_probe() -> TrafficProbe {
    match probe_for(9, 1) {
        Probe::Traffic(probe) => *probe,
        _ => unreachable!("a traffic check makes a traffic probe"),
    }
}

#[test]
fn errors_going_back_alone_hold_their_count() {
    // Found by fuzzing (prometheus_intake): the 5xx series vanished while
    // requests grew; the report's errors_total went back alone, which the
    // aggregator refuses as no counter does that.
    let mut probe = pages_probe();
    let start = Instant::now();
    let at = |seconds| start + Duration::from_secs(seconds);
    let counters = |observation: Observation| {
        let counters = observation.counters.unwrap();
        (counters.requests_total, counters.errors_total)
    };
    assert_eq!(
        counters(probe.read_page(&page(90, 10), at(0), at(0))),
        (100, 10)
    );
    let vanished = "http_requests_total{code=\"200\"} 120\n";
    assert_eq!(counters(probe.read_page(vanished, at(1), at(1))), (120, 10));
    assert_eq!(
        counters(probe.read_page(&page(120, 12), at(2), at(2))),
        (132, 12)
    );
    // A restart takes everything back, errors too.
    assert_eq!(counters(probe.read_page(&page(5, 1), at(3), at(3))), (6, 1));
}

#[test]
fn a_gauge_outside_zero_to_one_fails_in_range() {
    // `error_rate 1.5` or `-0.5` went into the report as the error ratio,
    // which the aggregator refuses (seen writing prometheus_intake's check).
    let mut probe = pages_probe();
    let now = Instant::now();
    for (page, shown) in [("error_rate 1.5\n", 1.0), ("error_rate -0.5\n", 0.0)] {
        let result = probe.read_page(page, now, now).results.remove(0);
        assert_eq!(result.status(), CheckStatus::Fail, "{page}");
        assert_eq!(result.observed_value, shown, "{page}");
        assert!(result.error.contains("no error ratio"), "{}", result.error);
    }
}
