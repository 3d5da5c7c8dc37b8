//! The aggregator's HTTP face on `[http] listen`: `/health`
//! (`application/health+json`), `/metrics` (Prometheus text), the verdict
//! JSON under `/api/v1/deployments`, and the status page at `/` with its
//! server-sent events at `/events`. Read-only, and asks for no credentials:
//! bind it to a private address. The handlers are thin: what they show is
//! built by the pure modules.
//!
//! # Layout
//! - `board`: what the face remembers (timeline, chart series, hook tally).
//! - `timeline`, `series`: the bounded ring of events and of samples.
//! - `sampler`: the per-second sampling and the per-deployment gauges.
//! - `view`: one deployment as the page shows it, read under the locks.
//! - `page`, `chart`, `escape`: the HTML, its SVG charts, and escaping.
//! - `health_doc`: the `/health` document.
//! - `recorder`: the process's Prometheus recorder.

pub mod board;
mod chart;
mod escape;
mod health_doc;
mod page;
pub mod recorder;
mod sampler;
mod series;
mod timeline;
mod view;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures::Stream;
use greenlight_proto::json::VerdictJson;
use greenlight_proto::names::color_name;
use greenlight_proto::v1::{Color, Decision};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use self::board::Board;
use self::health_doc::{ColorAgents, HealthSnapshot, RedisHealth};
use crate::config::RedisSettings;
use crate::hub::Hub;

/// How long /health waits for Redis to answer a PING.
const REDIS_PING_TIMEOUT: Duration = Duration::from_secs(1);
/// The status page refreshes at least this often (check values and the
/// chart move without a new verdict).
const PAGE_REFRESH: Duration = Duration::from_secs(2);

/// What the handlers read.
pub struct Face {
    pub hub: Arc<Hub>,
    pub board: Arc<Board>,
    /// `None`: no recorder was installed in this process.
    pub metrics: Option<PrometheusHandle>,
    /// Pinged by /health; `None` when running without Redis.
    pub redis: Option<RedisSettings>,
    /// SSE streams end at shutdown, so the server can drain.
    pub shutdown: CancellationToken,
}

/// Serves the face on `listener` until `shutdown`, and samples for it.
pub fn spawn(listener: TcpListener, face: Face, tasks: &TaskTracker) {
    let face = Arc::new(face);
    tasks.spawn(sampler::run(
        face.hub.clone(),
        face.board.clone(),
        face.metrics.clone(),
        face.shutdown.clone(),
    ));
    let shutdown = face.shutdown.clone();
    let router = router(face);
    tasks.spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the HTTP face stopped");
        }
    });
}

fn router(face: Arc<Face>) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/events", get(events))
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .route("/api/v1/deployments", get(deployments))
        .route("/api/v1/deployments/{name}", get(deployment))
        // Gates for tools that read only a status code (Flagger's webhooks
        // POST): 200 when the decision is the one asked about, else 412.
        .route(
            "/api/v1/deployments/{name}/ready",
            get(gate_ready).post(gate_ready),
        )
        .route(
            "/api/v1/deployments/{name}/rollback",
            get(gate_rollback).post(gate_rollback),
        )
        .with_state(face)
}

async fn status_page(State(face): State<Arc<Face>>) -> Html<String> {
    let (views, now) = view::gather(&face.hub, &face.board);
    Html(page::page(&views, now))
}

/// One `update` event, carrying the page's `<main>`, at once, on every
/// new verdict and every [`PAGE_REFRESH`].
async fn events(
    State(face): State<Arc<Face>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let verdicts = face.hub.subscribe();
    let mut refresh = tokio::time::interval(PAGE_REFRESH);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stream = futures::stream::unfold(
        (face, verdicts, refresh),
        |(face, mut verdicts, mut refresh)| async move {
            tokio::select! {
                _ = face.shutdown.cancelled() => return None,
                changed = verdicts.changed() => changed.ok()?,
                _ = refresh.tick() => {}
            }
            verdicts.mark_unchanged();
            let (views, now) = view::gather(&face.hub, &face.board);
            let event = Event::default()
                .event("update")
                .data(page::fragment(&views, now));
            Some((Ok(event), (face, verdicts, refresh)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn health(State(face): State<Arc<Face>>) -> Response {
    let redis = match &face.redis {
        None => RedisHealth::NotConfigured,
        Some(settings) => ping(settings).await,
    };
    let (colors, now) = face.hub.read(|engine, now| {
        let colors = engine
            .verdicts(now)
            .iter()
            .flat_map(|verdict| {
                [Color::Blue, Color::Green].map(|color| {
                    let agents: Vec<_> = verdict
                        .agents
                        .iter()
                        .filter(|a| a.color() == color)
                        .collect();
                    ColorAgents {
                        deployment: verdict.deployment.clone(),
                        color: color_name(color),
                        tracked: agents.len(),
                        connected: agents.iter().filter(|a| a.connected).count(),
                        fresh: agents.iter().filter(|a| a.fresh).count(),
                    }
                })
            })
            .filter(|color| color.tracked > 0)
            .collect();
        (colors, now)
    });
    let hooks = face.board.with(|state| state.hooks.clone());
    let (failing, body) = health_doc::document(&HealthSnapshot {
        now,
        redis,
        hooks,
        colors,
    });
    let status = if failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "application/health+json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn ping(settings: &RedisSettings) -> RedisHealth {
    let started = tokio::time::Instant::now();
    let answer = tokio::time::timeout(REDIS_PING_TIMEOUT, async {
        let mut connection = crate::redis::RedisTarget::new(settings).connect().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    })
    .await;
    match answer {
        Ok(Ok(_)) => RedisHealth::Reachable {
            round_trip: started.elapsed(),
        },
        Ok(Err(error)) => RedisHealth::Unreachable(crate::redis::describe(&error)),
        Err(_) => RedisHealth::Unreachable(format!(
            "no answer to PING within {} ms",
            REDIS_PING_TIMEOUT.as_millis()
        )),
    }
}

async fn metrics_text(State(face): State<Arc<Face>>) -> Response {
    match &face.metrics {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            handle.render(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "no metrics recorder is installed in this process\n",
        )
            .into_response(),
    }
}

async fn deployments(State(face): State<Arc<Face>>) -> Response {
    let verdicts = face.hub.read(|engine, now| engine.verdicts(now));
    let body: Vec<VerdictJson> = verdicts.iter().map(VerdictJson::from).collect();
    axum::Json(body).into_response()
}

async fn deployment(State(face): State<Arc<Face>>, Path(name): Path<String>) -> Response {
    verdict_answer(&face, &name, None)
}

async fn gate_ready(State(face): State<Arc<Face>>, Path(name): Path<String>) -> Response {
    verdict_answer(&face, &name, Some(Decision::Ready))
}

async fn gate_rollback(State(face): State<Arc<Face>>, Path(name): Path<String>) -> Response {
    verdict_answer(&face, &name, Some(Decision::Rollback))
}

/// The verdict JSON; with `gate`, 200 only when the decision is `gate`
/// (412 otherwise, the verdict still in the body to say why).
fn verdict_answer(face: &Face, name: &str, gate: Option<Decision>) -> Response {
    match face.hub.read(|engine, now| engine.verdict(name, now)) {
        Some(verdict) => {
            let status = match gate {
                Some(wanted) if verdict.decision() != wanted => StatusCode::PRECONDITION_FAILED,
                _ => StatusCode::OK,
            };
            (status, axum::Json(VerdictJson::from(&verdict))).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({
                "error": format!("no deployment {name:?}: none is configured by that name and no agent has said hello for it"),
            })),
        )
            .into_response(),
    }
}
