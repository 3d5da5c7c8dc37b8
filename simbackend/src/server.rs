//! The router and graceful shutdown.

use crate::metrics::{self, Metrics};
use crate::shared::Shared;
use crate::{COLOR_HEADER, SimConfig, Switches, control, health, self_load, websocket, work};
use anyhow::Context as _;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, extract::State, middleware};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long in-flight requests may take to finish once shutdown starts.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// Serves until `shutdown` is cancelled. Returns when the server stopped.
///
/// With `config.self_load_rps > 0` it also sends itself that much work
/// traffic through `listener`'s own address.
pub async fn serve(
    listener: TcpListener,
    config: SimConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener
        .local_addr()
        .context("reading the listener address")?;
    let color = HeaderValue::from_str(&config.color)
        .with_context(|| format!("color {:?} cannot be sent as an HTTP header", config.color))?;
    let self_load_rps = config.self_load_rps;
    let shared = Arc::new(Shared {
        config,
        switches: watch::Sender::new(Switches::default()),
        metrics: Arc::new(Metrics::new()),
        started: Instant::now(),
        shutdown: shutdown.clone(),
    });

    let self_load = (self_load_rps > 0).then(|| {
        tokio::spawn(self_load::run(
            addr,
            self_load_rps,
            Arc::clone(&shared),
            shutdown.clone(),
        ))
    });

    tracing::info!(%addr, color = %shared.config.color, version = %shared.config.version, "simulated backend serving");
    let server = axum::serve(listener, router(shared, color))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let drain_deadline = async {
        shutdown.cancelled().await;
        tokio::time::sleep(DRAIN_GRACE).await;
    };
    let result = tokio::select! {
        result = server => result.context("serving HTTP"),
        () = drain_deadline => {
            tracing::warn!(grace = ?DRAIN_GRACE, "requests still open after the grace period; stopping anyway");
            Ok(())
        }
    };

    if let Some(task) = self_load {
        // The task watches the same token, so this returns promptly.
        if let Err(err) = task.await {
            tracing::warn!(%err, "self-load task failed");
        }
    }
    tracing::info!(%addr, "simulated backend stopped");
    result
}

fn router(shared: Arc<Shared>, color: HeaderValue) -> Router {
    Router::new()
        .route("/health", get(health::summary))
        .route("/health/detailed", get(health::detailed))
        .route("/metrics", get(render_metrics))
        .route("/ws", get(websocket::upgrade))
        .route("/control", get(control::show).put(control::update))
        .route("/", get(work::answer))
        .route("/api/{*rest}", get(work::answer))
        .with_state(shared)
        .layer(middleware::map_response(move |mut response: Response| {
            let color = color.clone();
            async move {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(COLOR_HEADER), color);
                response
            }
        }))
}

async fn render_metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        shared.metrics.render(),
    )
}
