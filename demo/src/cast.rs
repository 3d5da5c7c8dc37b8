//! Starting the demo's cast in this process, each on a free loopback port:
//! the aggregator, simulated backends and their agents.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use greenlight_agent::{AgentSettings, ChecksSettings, HttpSettings, TrafficSettings};
use greenlight_aggregator::AggregatorConfig;
use greenlight_aggregator::config::RedisSettings;
use greenlight_simbackend::SimConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const LOOPBACK: &str = "127.0.0.1:0";

/// The aggregator, restoring from Redis only `deployment`'s state: the
/// Redis may hold real deployments, which the demo must not touch.
pub async fn aggregator(
    ready_after: Duration,
    redis: Option<RedisSettings>,
    deployment: &str,
    hooks: greenlight_aggregator::hooks::HookSettings,
    shutdown: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    let listener = greenlight_aggregator::bind(LOOPBACK.parse()?).await?;
    let address = listener.local_addr()?;
    let mut config = AggregatorConfig::for_listen(address);
    config.defaults.ready_after = ready_after;
    // The guide's rules on a demo's time scale: a 10 s window, 20 requests
    // make a sample, and a one-minute bake.
    config.defaults.traffic_window = Duration::from_secs(10);
    config.defaults.min_requests = 20;
    config.defaults.bake_for = Duration::from_secs(60);
    config.hooks = hooks;
    config.redis = redis;
    config.restore_only = Some([deployment.to_string()].into());
    // One aggregator per demo process: its recorder is the process's.
    let metrics = greenlight_aggregator::http::recorder::install().ok();
    tokio::spawn(async move {
        if let Err(error) = greenlight_aggregator::run_on(listener, config, metrics, shutdown).await
        {
            eprintln!("greenlight-demo: the aggregator stopped: {error:#}");
        }
    });
    Ok(address)
}

/// A simulated backend sending itself `rps` requests a second.
pub async fn backend(
    color: &str,
    version: &str,
    rps: u32,
    shutdown: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(LOOPBACK).await?;
    let address = listener.local_addr()?;
    let config = SimConfig {
        color: color.into(),
        version: version.into(),
        self_load_rps: rps,
    };
    tokio::spawn(async move {
        if let Err(error) = greenlight_simbackend::serve(listener, config, shutdown).await {
            eprintln!("greenlight-demo: a backend stopped: {error:#}");
        }
    });
    Ok(address)
}

/// An agent beside `backend` checking its /health and /metrics (the demo has
/// no PostgreSQL or Redis to check).
pub fn agent(
    aggregator: SocketAddr,
    deployment: &str,
    color: &str,
    version: &str,
    backend: SocketAddr,
    interval: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let config = AgentSettings {
        aggregator: format!("http://{aggregator}"),
        deployment: deployment.into(),
        color: color.into(),
        instance_id: Some(format!("{color}-1")),
        backend_version: version.into(),
        interval,
        checks: ChecksSettings {
            http: Some(HttpSettings {
                url: format!("http://{backend}/health"),
            }),
            traffic: Some(TrafficSettings {
                // A short window, so the story does not wait half a minute.
                window: Duration::from_secs(10),
                ..TrafficSettings::new(format!("http://{backend}/metrics"))
            }),
            ..Default::default()
        },
        ..Default::default()
    }
    .validate()
    .context("the demo's agent config")?;
    tokio::spawn(async move {
        if let Err(error) = greenlight_agent::run(config, shutdown).await {
            eprintln!("greenlight-demo: an agent stopped: {error:#}");
        }
    });
    Ok(())
}

/// Flips a simulated backend's fault switches (`PUT /control`).
pub async fn set_switches(backend: SocketAddr, json: &str) -> anyhow::Result<()> {
    let response = reqwest::Client::new()
        .put(format!("http://{backend}/control"))
        .header("content-type", "application/json")
        .body(json.to_string())
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "backend {backend} refused {json}: {}",
        response.status()
    );
    Ok(())
}
