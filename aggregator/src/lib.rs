//! greenlight-aggregator: receives the agents' report streams, decides
//! readiness (and later rollback) for every deployment, and publishes each
//! verdict over gRPC, grpc.health.v1 and Redis.
//!
//! # Layout
//! - [`engine`]: the pure verdict core; no I/O, time passed in.
//! - [`hub`]: the lock around the engine and the channels verdicts leave by.
//! - [`grpc`]: the agent stream, VerdictService, and the server.
//! - [`health`]: grpc.health.v1 statuses that follow the verdicts.
//! - [`hooks`]: running the cutover/rollback command when an action is decided.
//! - [`redis`]: publishing to Redis, and restoring the engine's state from it.
//! - [`traffic_source`]: reading where the load balancer sends traffic.
//! - [`config`]: TOML + environment + flags, validated.
//! - [`clock`]: wall time that follows tokio's (paused) clock.

pub mod clock;
pub mod config;
pub mod engine;
pub mod grpc;
pub mod health;
pub mod hooks;
pub mod hub;
pub mod redis;
pub mod traffic_source;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::AggregatorConfig;

use crate::clock::Clock;
use crate::engine::Engine;
use crate::health::HealthPublisher;
use crate::hooks::HookRunner;
use crate::hub::Hub;
use crate::redis::RedisPublisher;

/// How long background tasks get to finish after shutdown.
const GRACE: Duration = Duration::from_secs(5);

/// Binds `config.listen` and runs until `shutdown` is cancelled.
pub async fn run(config: AggregatorConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener = bind(config.listen).await?;
    run_on(listener, config, shutdown).await
}

pub async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {address}: {error}"))
}

/// Runs on an already bound listener (tests and the demo bind port 0).
pub async fn run_on(
    listener: TcpListener,
    config: AggregatorConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let clock = Clock::start();
    let tasks = TaskTracker::new();

    let (publish, restored) = match &config.redis {
        Some(settings) => {
            let restored = redis::load_states(settings, &shutdown).await?;
            let publisher = RedisPublisher::new(settings.clone())?;
            let (sender, receiver) = mpsc::channel(redis::QUEUE);
            tasks.spawn(publisher.run(receiver, shutdown.clone()));
            (Some(sender), restored)
        }
        None => {
            tracing::info!(
                "no Redis configured: verdicts are served over gRPC only, and the engine's state does not survive a restart"
            );
            (None, Default::default())
        }
    };

    let engine = Engine::new(
        config.defaults.clone(),
        config.deployments.clone(),
        &restored,
        clock.now(),
    )?;
    let hooks = Arc::new(HookRunner::new(
        config.hooks.clone(),
        publish.clone(),
        tasks.clone(),
        shutdown.clone(),
    ));
    let hub = Arc::new(Hub::new(engine, clock, publish, Some(hooks)));
    traffic_source::spawn_all(
        &config.traffic_sources,
        hub.clone(),
        &tasks,
        shutdown.clone(),
    );

    let ticker = hub.clone();
    let tick_shutdown = shutdown.clone();
    let tick = config.tick;
    tasks.spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick_shutdown.cancelled() => return,
                _ = interval.tick() => ticker.with_engine(|engine, now| engine.tick(now)),
            }
        }
    });

    let health = Arc::new(HealthPublisher::new());
    let follower = health.clone();
    let verdicts = hub.subscribe();
    let health_shutdown = shutdown.clone();
    tasks.spawn(async move { follower.follow(verdicts, health_shutdown).await });

    tracing::info!(address = %listener.local_addr()?, "aggregator serving gRPC");
    let served = grpc::serve(listener, hub, &health, shutdown.clone()).await;
    shutdown.cancel();
    tasks.close();
    if tokio::time::timeout(GRACE, tasks.wait()).await.is_err() {
        tracing::warn!("background tasks did not finish within the grace period");
    }
    served
}
