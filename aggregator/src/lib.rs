//! greenlight-aggregator: receives the agents' report streams, decides
//! readiness (and later rollback) for every deployment, and publishes each
//! verdict over gRPC, grpc.health.v1 and Redis.
//!
//! # Layout
//! - [`engine`]: the pure verdict core; no I/O, time passed in.
//! - [`hub`]: the lock around the engine; its outputs leave by one channel.
//! - [`lead`]: with `[ha]`, which aggregator leads each deployment (Redis
//!   leases, the fence); [`lease_keeper`], the task that keeps the leases
//!   and takes a bake over from a leader that died.
//! - [`dispatch`]: the one task that carries outputs out (watchers, Redis,
//!   hooks, the log) and feeds hooks' outcomes back to the engine.
//! - [`schedule`]: waking the engine at its next deadline.
//! - [`grpc`]: the agent stream, VerdictService, and the server.
//! - [`health`]: grpc.health.v1 statuses that follow the verdicts, served
//!   as health.proto says (Watch waits for a service not known yet).
//! - [`alerts`]: alert events from the engine's steps, sent to webhook,
//!   Slack, Alertmanager and email sinks, each with its own queue.
//! - [`http`]: `[http] listen`: /health, /metrics, the verdict JSON, the
//!   status page.
//! - [`hooks`]: running the cutover/rollback command when an action is decided.
//! - [`redis`]: publishing to Redis, and restoring the engine's state from it.
//! - [`traffic_source`]: reading where the load balancer sends traffic.
//! - [`tls`]: TLS on the gRPC port, reloaded without dropping streams, and
//!   the peer's certificate identity.
//! - [`auth`]: who may call what (tokens, client certificates, roles).
//! - [`config`]: TOML + environment + flags, validated.
//! - [`clock`]: wall time that follows tokio's (paused) clock.

pub mod alerts;
pub mod auth;
pub mod clock;
pub mod config;
pub mod dispatch;
pub mod engine;
pub mod grpc;
pub mod health;
pub mod hooks;
pub mod http;
pub mod hub;
pub mod lead;
pub mod lease_keeper;
pub mod redis;
pub mod schedule;
pub mod tls;
pub mod traffic_source;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::AggregatorConfig;

use crate::clock::Clock;
use crate::dispatch::Dispatcher;
use crate::engine::Engine;
use crate::health::HealthPublisher;
use crate::hooks::HookRunner;
use crate::http::Board;
use crate::hub::Hub;
use crate::lead::Leadership;
use crate::redis::RedisPublisher;
use crate::tls::ServerTls;

/// Binds `config.listen` and runs until `shutdown` is cancelled.
/// `metrics`: the handle of the process's recorder (`http::recorder`),
/// rendered on /metrics; `None` when none is installed.
pub async fn run(
    config: AggregatorConfig,
    metrics: Option<PrometheusHandle>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = bind(config.listen).await?;
    run_on(listener, config, metrics, shutdown).await
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
    metrics: Option<PrometheusHandle>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let clock = Clock::start();
    let tasks = TaskTracker::new();
    // Stopped in order at shutdown: the streams, then the dispatcher (what
    // was decided goes out), then the Redis publisher (it writes that) and
    // the alert sinks (they send what is queued, without retries).
    let dispatch_stop = CancellationToken::new();
    let publish_stop = CancellationToken::new();
    let alerts_stop = CancellationToken::new();
    let alerting = alerts::Alerting::spawn(&config.alerts, clock, &tasks, alerts_stop.clone())?;

    let leadership = Arc::new(match &config.ha {
        Some(ha) => Leadership::shared(ha.id.clone(), ha.lease),
        None => Leadership::alone(),
    });
    let mut publishing = None;
    let (publish, restored) = match &config.redis {
        Some(settings) => {
            let restored =
                redis::load_states(settings, config.restore_only.as_ref(), &shutdown).await?;
            let publisher = RedisPublisher::new(settings.clone(), leadership.id())?;
            let (sender, receiver) = mpsc::channel(redis::QUEUE);
            publishing = Some(tasks.spawn(publisher.run(receiver, publish_stop.clone())));
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
    let (hub, outputs) = Hub::new(engine, clock, leadership.clone());
    let hub = Arc::new(hub);
    let (hook_events, hook_events_rx) = mpsc::channel(hooks::EVENT_QUEUE);
    let hooks = Arc::new(HookRunner::new(
        config.hooks.clone(),
        leadership.clone(),
        hook_events,
        tasks.clone(),
        shutdown.clone(),
    ));
    let hooks_configured = config.hooks.all().len();
    let board = Arc::new(Board::new(hooks_configured));
    let dispatcher = Dispatcher {
        hub: hub.clone(),
        publish,
        hooks,
        hook_events: hook_events_rx,
        alerts: alerting,
        board: board.clone(),
        leadership: leadership.clone(),
    };
    let dispatching = tasks.spawn(dispatcher.run(outputs, dispatch_stop.clone()));
    tasks.spawn(schedule::run(hub.clone(), shutdown.clone()));
    // Stopped after the publisher drained: its last writes need the leases.
    let keeper_stop = CancellationToken::new();
    if let (Some(ha), Some(redis)) = (&config.ha, &config.redis) {
        tracing::info!(id = %ha.id, lease = ?ha.lease, "[ha]: leading the deployments whose lease this aggregator holds, standing by for the others");
        let keeper = lease_keeper::Keeper {
            hub: hub.clone(),
            leadership: leadership.clone(),
            redis: redis.clone(),
            ha: ha.clone(),
        };
        tasks.spawn(keeper.run(keeper_stop.clone()));
    }
    traffic_source::spawn_all(
        &config.traffic_sources,
        hub.clone(),
        &tasks,
        shutdown.clone(),
    );

    if let Some(settings) = &config.http {
        let http_listener = bind(settings.listen).await?;
        // Tests and scripts read the port from this line.
        tracing::info!(address = %http_listener.local_addr()?, "aggregator serving HTTP (/health, /metrics, /api/v1/deployments, /)");
        http::spawn(
            http_listener,
            http::Face {
                hub: hub.clone(),
                board,
                metrics,
                redis: config.redis.clone(),
                shutdown: shutdown.clone(),
            },
            &tasks,
        );
    }

    let health = Arc::new(HealthPublisher::new());
    let follower = health.clone();
    let verdicts = hub.subscribe();
    let health_shutdown = shutdown.clone();
    tasks.spawn(async move { follower.follow(verdicts, health_shutdown).await });

    let tls = match &config.tls {
        Some(settings) => {
            let tls = Arc::new(ServerTls::new(
                settings.files.clone(),
                settings.poll,
                settings.loaded.clone(),
            ));
            tls.spawn_reloader(&tasks, shutdown.clone())
                .map_err(|error| anyhow::anyhow!("cannot listen for SIGHUP: {error}"))?;
            Some(tls)
        }
        None => {
            tracing::warn!(
                "no [tls]: gRPC is plaintext, and anyone who can reach the port can report and steer"
            );
            None
        }
    };
    let auth = match &config.auth {
        Some(auth) => Arc::new(auth.policy.clone()),
        None => {
            tracing::warn!(
                "no [auth]: no credentials are asked; anyone who can reach the port can cut over and roll back"
            );
            Arc::new(auth::AuthPolicy::open())
        }
    };
    tracing::info!(address = %listener.local_addr()?, tls = tls.is_some(), auth = auth.is_enforced(), "aggregator serving gRPC");
    let served = grpc::serve(
        listener,
        tls,
        auth,
        hub,
        config
            .redis
            .as_ref()
            .map(|settings| Arc::new(redis::HistoryReader::new(settings))),
        &health,
        &config.limits,
        tasks.clone(),
        shutdown.clone(),
    )
    .await;
    shutdown.cancel();
    let grace = config.limits.shutdown_grace;
    dispatch_stop.cancel();
    if tokio::time::timeout(grace, dispatching).await.is_err() {
        tracing::warn!("the dispatcher did not stop within the grace period");
    }
    publish_stop.cancel();
    alerts_stop.cancel();
    if let Some(publishing) = publishing {
        let _ = tokio::time::timeout(grace, publishing).await;
    }
    keeper_stop.cancel();
    drain(&tasks, grace).await;
    served
}

/// Waits for every tracked task, at most `grace`, and says what it did.
async fn drain(tasks: &TaskTracker, grace: Duration) {
    tasks.close();
    let left = tasks.len();
    match tokio::time::timeout(grace, tasks.wait()).await {
        Ok(()) => tracing::info!(tasks = left, "shut down: every task finished"),
        Err(_) => tracing::warn!(
            unfinished = tasks.len(),
            of = left,
            grace_seconds = grace.as_secs_f64(),
            "shut down with tasks still running after the grace period (hooks in flight are killed; a switch in flight is decided again at the next start)"
        ),
    }
}
