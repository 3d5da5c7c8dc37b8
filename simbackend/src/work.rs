//! Work requests: `GET /` and `GET /api/{*rest}`, the only traffic counted in
//! `/metrics`, so the switches show up in the error rate and latency.

use crate::shared::Shared;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Waits `latency_ms`, then fails with probability `error_ratio`.
pub(crate) async fn answer(State(shared): State<Arc<Shared>>) -> (StatusCode, Json<Value>) {
    let started = Instant::now();
    let switches = shared.switches();
    if switches.latency_ms > 0 {
        // Shutdown cuts the wait short so a long injected latency cannot hold
        // up the drain.
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(switches.latency_ms)) => {}
            () = shared.shutdown.cancelled() => {}
        }
    }
    // `random` is in [0, 1), so a ratio of 1 always fails and 0 never does.
    let fails = rand::random::<f64>() < switches.error_ratio;
    let (code, body) = if fails {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "simulated failure", "color": shared.config.color }),
        )
    } else {
        (
            StatusCode::OK,
            json!({ "color": shared.config.color, "version": shared.config.version }),
        )
    };
    shared.metrics.record(code.as_u16(), started.elapsed());
    (code, Json(body))
}
