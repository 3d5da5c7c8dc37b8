//! greenlight-agent: the sidecar beside one backend instance. It probes what
//! the backend depends on (PostgreSQL, Redis) and how it behaves (its own
//! `/health`, its error ratio and latency from `/metrics`), and streams one
//! numbered report per interval to greenlight-aggregator over gRPC. It
//! survives the aggregator going away: reports wait in a bounded outbox and
//! are replayed, in order and without duplicates, after reconnecting.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use greenlight_agent::{AgentSettings, ChecksSettings, HttpSettings, TrafficSettings};
//! let config = AgentSettings {
//!     aggregator: "http://127.0.0.1:7070".into(),
//!     deployment: "escashop".into(),
//!     color: "green".into(),
//!     instance_id: Some("green-1".into()),
//!     checks: ChecksSettings {
//!         http: Some(HttpSettings { url: "http://127.0.0.1:5001/health".into() }),
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
//! - `probe`: one file per check (`postgres`, `redis`, `http`, `traffic`);
//!   each gives a `CheckResult`, bounded by the probe timeout.
//! - `reporter`: the report loop, one numbered `Report` per interval.
//! - [`outbox`]: unacknowledged reports, bounded, drop-oldest and counted.
//! - `stream`: the gRPC stream to the aggregator (Hello, Welcome, replay,
//!   Ack/Reject) and reconnecting with backoff (`backoff`).
//! - `error_text`: errors in the short words a check result carries.

pub mod config;
pub mod outbox;

mod backoff;
mod error_text;
mod probe;
mod reporter;
mod stream;

use greenlight_proto::v1::Hello;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use config::{
    AgentConfig, AgentSettings, ChecksSettings, ConfigError, HttpSettings, Overrides,
    PostgresSettings, RedisSettings, SAMPLE_CONFIG, TrafficSettings,
};
pub use probe::ProbeSetupError;
pub use stream::StreamError;

use outbox::SharedOutbox;
use probe::Probe;
use reporter::Reporter;
use stream::{StreamTarget, run_stream};

/// Runs the agent until `shutdown` is cancelled: probes every interval and
/// streams the reports to the aggregator. Returns `Ok` after shutdown; an
/// unreachable aggregator is not an error (the agent waits for it).
pub async fn run(config: AgentConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let probes = Probe::for_checks(&config.checks, config.timeout)?;
    let outbox = SharedOutbox::new(config.buffer_reports);
    let target = StreamTarget {
        address: config.aggregator.origin().ascii_serialization(),
        hello: hello(&config),
    };
    info!(
        deployment = %config.deployment,
        color = %greenlight_proto::names::color_name(config.color),
        instance_id = %config.instance_id,
        run_id = %target.hello.run_id,
        aggregator = %target.address,
        checks = ?config.check_names(),
        interval = ?config.interval,
        timeout = ?config.timeout,
        "greenlight-agent starting"
    );
    let reporter = Reporter::new(probes, config.interval, config.timeout, outbox.clone());
    // The stream only ends early on an unusable address; then stop probing too.
    let stop = shutdown.child_token();
    let stream = async {
        let streamed = run_stream(target, outbox, stop.clone()).await;
        stop.cancel();
        streamed
    };
    let (streamed, ()) = tokio::join!(stream, reporter.run(stop.clone()));
    streamed?;
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
