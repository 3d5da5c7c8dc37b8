//! Every probe passes against its healthy peer, then fails with a clear
//! observed value or error against a broken one: stopped PostgreSQL,
//! stopped Redis, a refusing WebSocket, `/health` answering 503, 10% errors
//! (traffic fails with observed ~0.10 against threshold 0.05). Then the
//! backend restarts: its counters start over without a false alarm, and
//! the process check finds the new process.

use std::time::{Duration, Instant};

use greenlight_testbed::{Postgres, eventually, free_port};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::support::{Face, agent, backend, control, redis_with_password};
use crate::bed::Bed;

/// Each failure or recovery must show within this (the agent probes every
/// 500 ms; the machine is shared and noisy).
const WAIT: Duration = Duration::from_secs(30);
/// The traffic window; the backend sends itself 200 requests a second, so a
/// full window holds about 1000 requests.
const WINDOW: Duration = Duration::from_secs(5);
const PASSWORD: &str = "s3cret-probe";

/// Every key the agent's face shows while all is well.
const KEYS: [&str; 10] = [
    "postgres:responseTime",
    "redis:responseTime",
    "http:statusCode",
    "http/database:status",
    // From /health only: its components and /health/detailed's are merged.
    "http/external_apis:status",
    "http/redis:status",
    "http/websockets:status",
    "traffic:errorRatio",
    "websocket:responseTime",
    "process:utilization",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_probe_passes_then_fails_against_a_broken_peer() {
    let mut postgres = Postgres::start().await.expect("PostgreSQL");
    let bed = Bed::new();
    let redis_port = free_port();
    let mut redis = redis_with_password(bed.dir.path(), redis_port, PASSWORD).await;
    assert_redis_wants_auth(redis_port).await;
    let backend_port = free_port();
    let mut backend_process = backend(backend_port, 200).await;
    let base = format!("127.0.0.1:{backend_port}");
    let checks = format!(
        r#"
[checks.postgres]
url = "{postgres}"
[checks.redis]
url = "redis://:{PASSWORD}@127.0.0.1:{redis_port}"
[checks.http]
url = "http://{base}/health"
detailed_url = "http://{base}/health/detailed"
[checks.traffic]
url = "http://{base}/metrics"
window = "{window}s"
min_requests = 100
[checks.websocket]
url = "ws://{base}/ws"
[checks.process]
port = {backend_port}
"#,
        postgres = postgres.url(),
        window = WINDOW.as_secs()
    );
    let agent = agent(&bed, "green-1", "interval = \"500ms\"", &checks);
    let face = &agent.face;
    face.wait_up().await;

    // Healthy: every probe passes.
    for key in KEYS {
        let entry = face.wait_status(key, "pass", WAIT).await;
        println!(
            "healthy {key}: {} {}",
            entry["observedValue"], entry["observedUnit"]
        );
    }

    measurements_as_the_guides_detailed_health_shows_them(face, backend_port).await;

    // PostgreSQL stopped.
    postgres.stop().await;
    let failed = timed("postgres stopped", || {
        face.wait_status("postgres:responseTime", "fail", WAIT)
    })
    .await;
    let failed = until_output(face, "postgres:responseTime", failed, "connection refused").await;
    println!("postgres stopped: {}", failed["output"]);
    postgres
        .start_again()
        .await
        .expect("PostgreSQL starts again");
    timed("postgres started again", || {
        face.wait_status("postgres:responseTime", "pass", WAIT)
    })
    .await;

    // Redis stopped.
    redis.terminate().await;
    let failed = timed("redis stopped", || {
        face.wait_status("redis:responseTime", "fail", WAIT)
    })
    .await;
    let failed = until_output(face, "redis:responseTime", failed, "connection refused").await;
    println!("redis stopped: {}", failed["output"]);
    redis = redis_with_password(bed.dir.path(), redis_port, PASSWORD).await;
    timed("redis started again", || {
        face.wait_status("redis:responseTime", "pass", WAIT)
    })
    .await;

    // WebSocket upgrades refused.
    control(backend_port, r#"{"refuse_websocket":true}"#).await;
    let failed = timed("websocket refused", || {
        face.wait_status("websocket:responseTime", "fail", WAIT)
    })
    .await;
    println!("websocket refused: {}", failed["output"]);
    assert_eq!(
        failed["output"],
        "upgrade refused: HTTP 503 Service Unavailable"
    );
    let component = face
        .wait_status("http/websockets:status", "fail", WAIT)
        .await;
    assert_eq!(
        component["output"],
        "the backend reports websockets unhealthy"
    );
    control(backend_port, r#"{"refuse_websocket":false}"#).await;
    face.wait_status("websocket:responseTime", "pass", WAIT)
        .await;

    // /health answers 503.
    control(backend_port, r#"{"health_failing":true}"#).await;
    let failed = timed("health failing", || {
        face.wait_status("http:statusCode", "fail", WAIT)
    })
    .await;
    println!(
        "health failing: {} {}",
        failed["observedValue"], failed["output"]
    );
    assert_eq!(failed["observedValue"], 503.0);
    assert_eq!(
        failed["output"],
        "HTTP 503 Service Unavailable: the backend reports unhealthy"
    );
    let database = face.wait_status("http/database:status", "fail", WAIT).await;
    assert_eq!(database["output"], "the backend reports database unhealthy");
    control(backend_port, r#"{"health_failing":false}"#).await;
    face.wait_status("http:statusCode", "pass", WAIT).await;
    face.wait_status("http/database:status", "pass", WAIT).await;

    // 10% errors.
    control(backend_port, r#"{"error_ratio":0.1}"#).await;
    timed("10% errors", || {
        face.wait_status("traffic:errorRatio", "fail", WAIT)
    })
    .await;
    // Once the window holds only faulty traffic, the ratio is ~0.10.
    tokio::time::sleep(WINDOW + Duration::from_secs(1)).await;
    let mut ratios = Vec::new();
    for _ in 0..4 {
        let entry = face.wait_status("traffic:errorRatio", "fail", WAIT).await;
        let output = entry["output"].as_str().unwrap_or_default().to_string();
        assert!(
            output.contains("is above 0.05"),
            "against the threshold: {output}"
        );
        println!("10% errors: {} ({output})", entry["observedValue"]);
        ratios.push(entry["observedValue"].as_f64().expect("a ratio"));
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    println!("10% errors: mean observed error ratio {mean:.3} against threshold 0.05");
    assert!(
        (0.06..=0.16).contains(&mean),
        "observed {ratios:?}, expected about 0.10"
    );
    control(backend_port, r#"{"error_ratio":0}"#).await;
    timed("errors stopped", || {
        face.wait_status("traffic:errorRatio", "pass", WAIT)
    })
    .await;

    // The backend restarts on the same port: its counters begin again.
    backend_process.terminate().await;
    face.wait_status("process:utilization", "fail", WAIT).await;
    backend_process = backend(backend_port, 200).await;
    let new_pid = backend_process.pid();
    for key in [
        "traffic:errorRatio",
        "process:utilization",
        "http:statusCode",
    ] {
        face.wait_status(key, "pass", WAIT).await;
    }
    let found = agent
        .process
        .wait_for_line(&format!("pid={new_pid}"), WAIT)
        .await;
    println!("backend restarted: {found}");
    agent
        .process
        .wait_for_line("traffic counters went down", WAIT)
        .await;
    // No false alarm from the counters' reset, seen over a few rounds. The
    // window starts over, so a round may say too few requests yet (warn).
    for _ in 0..4 {
        let entry = face
            .entry("traffic:errorRatio")
            .await
            .expect("traffic entry");
        assert_ne!(entry["status"], "fail", "after the restart: {entry}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(redis);
}

/// Runs `wait` and prints how long it took.
async fn timed<F, Fut>(what: &str, wait: F) -> Value
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let started = Instant::now();
    let entry = wait().await;
    println!(
        "{what}: {} after {:?}",
        entry["status"].as_str().unwrap_or("?"),
        started.elapsed()
    );
    entry
}

/// A stopped server may first show as a broken connection; then, on the
/// next round, as a refused one. Waits for `expected` in the output.
async fn until_output(
    face: &super::support::Face,
    key: &str,
    first: Value,
    expected: &str,
) -> Value {
    if first["output"] == expected {
        return first;
    }
    greenlight_testbed::eventually(&format!("{key} to say {expected}"), WAIT, || async {
        let entry = face.entry(key).await?;
        if entry["output"] == expected {
            Ok(entry)
        } else {
            Err(anyhow::anyhow!("{entry}"))
        }
    })
    .await
}

/// Without AUTH the server refuses: the probe's passing proves it used the
/// password from its URL.
async fn assert_redis_wants_auth(port: u16) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("redis listens");
    stream.write_all(b"PING\r\n").await.unwrap();
    let mut reply = vec![0; 64];
    let read = stream.read(&mut reply).await.unwrap();
    let reply = String::from_utf8_lossy(&reply[..read]);
    assert!(reply.starts_with("-NOAUTH"), "{reply}");
}

/// Each check's own figures on the agent's /health (`detail`), from the
/// real peers: PostgreSQL's connections against max_connections (the
/// guide's `connection_pool 8/20`), Redis's memory, clients and role, the
/// backend's open WebSockets (one held open here), traffic's latencies.
async fn measurements_as_the_guides_detailed_health_shows_them(face: &Face, backend_port: u16) {
    let detail_where = |key: &'static str, what: &'static str, ok: fn(&Value) -> bool| async move {
        eventually(what, WAIT, || async {
            let detail = face.entry(key).await?["detail"].clone();
            if ok(&detail) {
                Ok(detail)
            } else {
                Err(anyhow::anyhow!("{key} detail is {detail}"))
            }
        })
        .await
    };
    let postgres = detail_where("postgres:responseTime", "postgres connection counts", |d| {
        let in_use = d["connectionsInUse"].as_u64().unwrap_or(0);
        in_use >= 1 && d["maxConnections"].as_u64().unwrap_or(0) >= in_use
    })
    .await;
    assert!(
        postgres["connectSeconds"].as_f64().unwrap() > 0.0,
        "{postgres}"
    );
    println!("postgres detail: {postgres}");

    let redis = detail_where("redis:responseTime", "redis INFO figures", |d| {
        d["usedMemoryBytes"].as_u64().unwrap_or(0) > 0
            && d["connectedClients"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    assert_eq!(redis["role"], "master", "{redis}");
    println!("redis detail: {redis}");

    // Clients hold three WebSockets open; the backend counts them, the agent
    // reports the backend's count (its own probe adds at most one).
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(open_websocket(backend_port).await);
    }
    let websocket = detail_where(
        "websocket:responseTime",
        "the held WebSockets counted",
        |d| d["activeConnections"].as_u64().unwrap_or(0) >= 3,
    )
    .await;
    assert!(
        websocket["handshakeSeconds"].as_f64().unwrap() > 0.0,
        "{websocket}"
    );
    println!("websocket detail: {websocket}");
    drop(held);

    let traffic = detail_where("traffic:errorRatio", "traffic latencies", |d| {
        d["windowRequests"].as_u64().unwrap_or(0) >= 100
            && d["p95LatencySeconds"].as_f64().unwrap_or(0.0) > 0.0
    })
    .await;
    let (mean, p95, p99) = (
        traffic["meanLatencySeconds"].as_f64().unwrap(),
        traffic["p95LatencySeconds"].as_f64().unwrap(),
        traffic["p99LatencySeconds"].as_f64().unwrap(),
    );
    assert!(mean > 0.0 && p95 <= p99, "{traffic}");
    println!("traffic detail: {traffic}");
}

/// A WebSocket upgrade by hand, answered 101; the connection stays open
/// while the stream lives.
async fn open_websocket(port: u16) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to the backend");
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0; 1024];
    let read = stream.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).to_string();
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
    stream
}
