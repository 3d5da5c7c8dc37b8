//! Real HTTP and WebSocket traffic against simulated backends on loopback.

use futures::{SinkExt as _, StreamExt as _};
use greenlight_simbackend::{SimConfig, Switches, serve};
use reqwest::StatusCode;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;

/// One running backend and a client for it.
struct Sim {
    addr: SocketAddr,
    http: reqwest::Client,
    shutdown: CancellationToken,
    server: JoinHandle<anyhow::Result<()>>,
}

impl Sim {
    async fn start(color: &str, self_load_rps: u32) -> Sim {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = SimConfig {
            color: color.to_owned(),
            version: "v3.1.0".to_owned(),
            self_load_rps,
        };
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(listener, config, shutdown.clone()));
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Sim {
            addr,
            http,
            shutdown,
            server,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let (status, body) = self.get(path).await;
        (status, serde_json::from_str(&body).unwrap())
    }

    async fn control(&self, body: &str) -> (StatusCode, Value) {
        let url = format!("http://{}/control", self.addr);
        let response = self
            .http
            .put(url)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status();
        (
            status,
            serde_json::from_str(&response.text().await.unwrap()).unwrap(),
        )
    }

    /// The value of one series in `/metrics`, e.g. `http_requests_total{code="500"}`.
    async fn metric(&self, series: &str) -> f64 {
        let (_, text) = self.get("/metrics").await;
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
            .parse()
            .unwrap()
    }

    /// Polls `series` until `accept` holds, for at most five seconds.
    async fn wait_for_metric(&self, series: &str, accept: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let value = self.metric(series).await;
            if accept(value) {
                return value;
            }
            assert!(Instant::now() < deadline, "{series} stuck at {value}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(3), self.server)
            .await
            .expect("serve did not stop after cancel")
            .unwrap()
            .unwrap();
    }
}

#[tokio::test]
async fn health_follows_the_switch() {
    let sim = Sim::start("green", 0).await;
    let response = sim
        .http
        .get(format!("http://{}/health", sim.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-backend-color"], "green");
    let health: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["version"], "v3.1.0");
    assert_eq!(health["environment"], "green");
    assert_eq!(health["checks"]["database"], "healthy");
    assert_eq!(health["checks"]["external_apis"], "healthy");
    let uptime = health["uptime"].as_str().unwrap();
    assert!(
        uptime.len() == 8 && uptime.starts_with("00:00:"),
        "{uptime}"
    );
    humantime::parse_rfc3339(health["timestamp"].as_str().unwrap()).unwrap();

    let (status, switches) = sim.control(r#"{"health_failing":true}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(switches["health_failing"], true);
    let (status, health) = sim.get_json("/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health["status"], "unhealthy");
    assert_eq!(health["checks"]["database"], "unhealthy");
    let (status, detailed) = sim.get_json("/health/detailed").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(detailed["checks"]["database"]["status"], "unhealthy");

    sim.control(r#"{"health_failing":false}"#).await;
    let (status, detailed) = sim.get_json("/health/detailed").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detailed["checks"]["database"]["connection_pool"], "8/20");
    assert_eq!(detailed["checks"]["redis"]["memory_usage"], "45MB");
    sim.stop().await;
}

#[tokio::test]
async fn error_ratio_gives_500s_and_moves_the_counters() {
    let sim = Sim::start("green", 0).await;
    sim.control(r#"{"error_ratio":1.0}"#).await;
    for _ in 0..5 {
        let (status, body) = sim.get_json("/api/orders/42").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], "simulated failure");
        assert_eq!(body["color"], "green");
    }
    // /health, /metrics and /control calls above and here are not work.
    sim.get("/health").await;
    assert_eq!(sim.metric(r#"http_requests_total{code="500"}"#).await, 5.0);
    assert_eq!(sim.metric(r#"http_requests_total{code="200"}"#).await, 0.0);
    assert_eq!(sim.metric("http_request_duration_seconds_count").await, 5.0);
    assert_eq!(sim.metric("error_rate").await, 1.0);

    sim.control(r#"{"error_ratio":0}"#).await;
    for _ in 0..3 {
        let (status, body) = sim.get_json("/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["version"], "v3.1.0");
    }
    assert_eq!(sim.metric(r#"http_requests_total{code="200"}"#).await, 3.0);
    assert_eq!(sim.metric("error_rate").await, 5.0 / 8.0);
    let response = sim
        .http
        .get(format!("http://{}/metrics", sim.addr))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
    assert!(text.contains("# TYPE error_rate gauge"));
    sim.stop().await;
}

#[tokio::test]
async fn latency_switch_slows_work_requests() {
    let sim = Sim::start("blue", 0).await;
    sim.control(r#"{"latency_ms":300}"#).await;
    let started = Instant::now();
    let (status, _) = sim.get("/api/slow").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        sim.metric(r#"http_request_duration_seconds_bucket{le="0.25"}"#)
            .await,
        0.0
    );
    assert_eq!(
        sim.metric(r#"http_request_duration_seconds_bucket{le="+Inf"}"#)
            .await,
        1.0
    );
    assert!(sim.metric("http_request_duration_seconds_sum").await >= 0.3);
    sim.stop().await;
}

#[tokio::test]
async fn websocket_echoes_and_is_counted() {
    let sim = Sim::start("blue", 0).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", sim.addr))
        .await
        .unwrap();
    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hello"));
    ws.send(Message::Ping(vec![7].into())).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Pong(vec![7].into())
    );

    assert_eq!(sim.metric("websocket_connections").await, 1.0);
    let (_, detailed) = sim.get_json("/health/detailed").await;
    assert_eq!(detailed["checks"]["websockets"]["active_connections"], 1);

    ws.close(None).await.unwrap();
    sim.wait_for_metric("websocket_connections", |open| open == 0.0)
        .await;
    sim.stop().await;
}

#[tokio::test]
async fn refused_websocket_fails_the_handshake() {
    let sim = Sim::start("blue", 0).await;
    sim.control(r#"{"refuse_websocket":true}"#).await;
    let err = tokio_tungstenite::connect_async(format!("ws://{}/ws", sim.addr))
        .await
        .unwrap_err();
    match err {
        tungstenite::Error::Http(response) => assert_eq!(response.status(), 503),
        other => panic!("expected an HTTP 503 handshake failure, got {other}"),
    }
    assert_eq!(sim.metric("websocket_connections").await, 0.0);
    let (_, detailed) = sim.get_json("/health/detailed").await;
    assert_eq!(detailed["checks"]["websockets"]["status"], "unhealthy");
    sim.stop().await;
}

#[tokio::test]
async fn self_load_makes_traffic() {
    let sim = Sim::start("green", 50).await;
    let first = sim
        .wait_for_metric(r#"http_requests_total{code="200"}"#, |n| n >= 5.0)
        .await;
    sim.wait_for_metric(r#"http_requests_total{code="200"}"#, |n| n > first)
        .await;
    sim.stop().await;
}

#[tokio::test]
async fn invalid_control_bodies_are_400_and_change_nothing() {
    let sim = Sim::start("blue", 0).await;
    for (body, names) in [
        (r#"{"error_ratio":1.5}"#, "error_ratio"),
        (r#"{"error_ratio":"high"}"#, "error_ratio"),
        (r#"{"latency":5}"#, "latency"),
        ("not json", "control body"),
    ] {
        let (status, answer) = sim.control(body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.contains(names), "{body}: {message}");
    }
    let (status, switches) = sim.get_json("/control").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_value::<Switches>(switches).unwrap(),
        Switches::default()
    );
    sim.stop().await;
}

#[tokio::test]
async fn two_backends_in_one_process_stay_apart() {
    let blue = Sim::start("blue", 0).await;
    let green = Sim::start("green", 0).await;
    green.control(r#"{"error_ratio":1}"#).await;
    assert_eq!(blue.get("/").await.0, StatusCode::OK);
    assert_eq!(green.get("/").await.0, StatusCode::INTERNAL_SERVER_ERROR);
    let response = blue
        .http
        .get(format!("http://{}/", blue.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-backend-color"], "blue");
    assert_eq!(blue.metric(r#"http_requests_total{code="500"}"#).await, 0.0);
    assert_eq!(
        green.metric(r#"http_requests_total{code="500"}"#).await,
        1.0
    );
    blue.stop().await;
    green.stop().await;
}
