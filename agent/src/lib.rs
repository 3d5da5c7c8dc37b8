//! greenlight-agent: the sidecar beside one backend instance. It probes what
//! the backend depends on (PostgreSQL, Redis) and how it behaves (its own
//! `/health` and `/health/detailed`, its WebSocket endpoint, its error ratio
//! and latency from `/metrics`, its process's CPU and memory), each check on
//! its own schedule, and streams one numbered report per interval to
//! greenlight-aggregator over gRPC, to each of several side by side when
//! configured so. It survives an aggregator going away: reports wait in
//! that aggregator's bounded outbox and are replayed, in order and without
//! duplicates, after reconnecting. It serves its own `/health` and
//! `/metrics` when told where (`listen`).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use greenlight_agent::{
//!     AgentSettings, ChecksSettings, HttpSettings, TrafficSettings, WebsocketSettings,
//! };
//! let config = AgentSettings {
//!     aggregator: "http://127.0.0.1:7070".into(),
//!     deployment: "escashop".into(),
//!     color: "green".into(),
//!     instance_id: Some("green-1".into()),
//!     checks: ChecksSettings {
//!         http: Some(HttpSettings { url: "http://127.0.0.1:5001/health".into() }),
//!         websocket: Some(WebsocketSettings {
//!             url: "ws://127.0.0.1:5001/ws".into(),
//!             ..Default::default()
//!         }),
//!         traffic: Some(TrafficSettings::new("http://127.0.0.1:5001/metrics")),
//!         ..Default::default()
//!     },
//!     ..Default::default()
//! }
//! .validate()?;
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! greenlight_agent::run(config, shutdown).await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`]: settings as written, loading (file, `GREENLIGHT_*`, flags)
//!   and validation into [`AgentConfig`].
//! - `probe`: one module per check (`postgres`, `redis`, `http`, `traffic`,
//!   `websocket`, `process`); each gives `CheckResult`s, bounded by the
//!   check's timeout.
//! - `runner`: each check on its own schedule, its newest result in a
//!   `watch`.
//! - `histogram`: how long each check's runs take, in Prometheus's bucket
//!   shape: written by the check's runner, read by `face`'s `/metrics`.
//! - `reporter`: the report loop, one numbered `Report` per round from
//!   the newest results, put in every aggregator's outbox as soon as the
//!   round's checks are in.
//! - `grid`: the time grid checks and reports share; `alarm` wakes the
//!   checks on it (timerfd: one wakeup where tokio's timer takes two).
//! - [`outbox`]: unacknowledged reports, bounded, drop-oldest and counted;
//!   one per aggregator.
//! - `stream`: the gRPC stream to one aggregator (Hello, Welcome, replay,
//!   Ack/Reject) and reconnecting with the workspace's retry policy
//!   (`greenlight-retry`); `Uplink` is one aggregator's outbox and status.
//! - `face`: the agent's own `/health` (health+json) and `/metrics`.
//! - `error_text`: errors in the short words a check result carries.
//! - `heap`: gives startup's memory (freed heap, code only startup ran)
//!   back to the system.
//! - `fuzzing` (feature `fuzzing` only): the parsers of what a backend
//!   says, for the fuzz targets.

pub mod config;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod outbox;

mod alarm;
mod error_text;
mod face;
mod grid;
mod heap;
mod histogram;
mod probe;
mod reporter;
mod runner;
mod stream;

use std::sync::Arc;

use anyhow::Context;
use greenlight_proto::v1::Hello;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

pub use config::{
    AgentConfig, AgentSettings, ChecksSettings, ConfigError, HttpOptions, HttpSettings, Overrides,
    PostgresSettings, ProcessSettings, RedisSettings, SAMPLE_CONFIG, SchemaSettings, TlsSettings,
    TrafficSettings, TrafficSource, WebsocketSettings,
};
pub use probe::ProbeSetupError;
pub use stream::StreamError;

use face::{Face, Identity};
pub use heap::release_memory_after_startup;
use probe::{ActiveConnections, AggregatorMinRequests, Probe};
use reporter::Reporter;
use stream::{StreamTarget, Uplink, run_stream};

/// Runs the agent until `shutdown` is cancelled: every check on its own
/// schedule, a report every interval, streamed to every aggregator (each
/// its own stream and outbox), and (with
/// `listen`) its own `/health` and `/metrics`. Returns `Ok` after shutdown;
/// an unreachable aggregator is not an error (the agent waits for it).
pub async fn run(config: AgentConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let connections = ActiveConnections::new();
    // The stream writes what the aggregator's Welcome says; the traffic check reads it.
    let min_requests = AggregatorMinRequests::new();
    let probes = config
        .checks
        .iter()
        .map(|check| {
            let probe = Probe::new(check, &connections, &min_requests)?;
            Ok((probe, check.schedule))
        })
        .collect::<Result<Vec<_>, ProbeSetupError>>()?;
    // Bound before anything starts: a taken port is a startup error.
    let listener = match config.listen {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (the `listen` key)"))?,
        ),
        None => None,
    };
    // One Hello for every aggregator: the same run, the same sequences.
    let hello = hello(&config);
    let uplinks: Vec<Uplink> = config
        .aggregator_addresses()
        .into_iter()
        .map(|address| Uplink::new(address, config.buffer_reports))
        .collect();
    let targets: Vec<StreamTarget> = uplinks
        .iter()
        .map(|uplink| StreamTarget {
            address: uplink.address.clone(),
            tls: config.aggregator_tls.clone(),
            token_file: config.token_file.clone(),
            hello: hello.clone(),
            min_requests: min_requests.clone(),
        })
        .collect();
    info!(
        deployment = %config.deployment,
        color = %greenlight_proto::names::color_name(config.color),
        instance_id = %config.instance_id,
        run_id = %hello.run_id,
        aggregator = %config.aggregator_addresses().join(","),
        checks = ?config.check_names(),
        interval = ?config.interval,
        timeout = ?config.timeout,
        listen = ?config.listen,
        "greenlight-agent starting"
    );
    // A stream only ends early on an unusable address; then stop probing
    // and the other streams too.
    let stop = shutdown.child_token();
    let tasks = TaskTracker::new();
    // The checks' rounds and the reports share one time grid.
    let start = tokio::time::Instant::now();
    let arrived = Arc::new(Notify::new());
    let checks = runner::spawn_checks(probes, start, &arrived, &tasks, &stop);
    if let Some(listener) = listener {
        let face = Arc::new(Face {
            identity: Identity {
                deployment: config.deployment.clone(),
                color: greenlight_proto::names::color_name(config.color).to_string(),
                instance_id: config.instance_id.clone(),
            },
            checks: checks.clone(),
            uplinks: uplinks.clone(),
        });
        tasks.spawn(face::serve(listener, face, tasks.clone(), stop.clone()));
    }
    let latest = checks.into_iter().map(|check| check.latest).collect();
    let outboxes = uplinks.iter().map(|uplink| uplink.outbox.clone()).collect();
    let reporter = Reporter::new(latest, arrived, config.interval, start, outboxes);
    // Each aggregator's stream on its own: one down or slow never holds
    // back what the others get.
    let streams = targets.into_iter().zip(&uplinks).map(|(target, uplink)| {
        let stop = stop.clone();
        async move {
            let streamed =
                run_stream(target, uplink.outbox.clone(), &uplink.status, stop.clone()).await;
            stop.cancel();
            streamed
        }
    });
    let (streamed, ()) = tokio::join!(
        futures::future::join_all(streams),
        reporter.run(stop.clone())
    );
    tasks.close();
    tasks.wait().await;
    streamed.into_iter().collect::<Result<Vec<()>, _>>()?;
    info!("greenlight-agent stopped");
    Ok(())
}

/// The stream's first message: who this agent is, for this process run.
fn hello(config: &AgentConfig) -> Hello {
    Hello {
        deployment: config.deployment.clone(),
        color: config.color as i32,
        instance_id: config.instance_id.clone(),
        agent_version: env!("CARGO_PKG_VERSION").to_string(),
        backend_version: config.backend_version.clone(),
        report_interval_ms: u32::try_from(config.interval.as_millis()).unwrap_or(u32::MAX),
        // Sequence numbers restart at 1 with every run; the run id tells the
        // aggregator that a restarted agent's "1" is new, not a duplicate.
        run_id: format!("{:032x}", rand::random::<u128>()),
    }
}
