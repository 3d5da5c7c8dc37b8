//! `/health` and `/health/detailed`, in the shapes the guide's scripts read.

use crate::shared::Shared;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// `GET /health`: 200 healthy, or 503 with the database reported down.
pub(crate) async fn summary(State(shared): State<Arc<Shared>>) -> (StatusCode, Json<Value>) {
    let failing = shared.switches().health_failing;
    let body = json!({
        "status": word(!failing),
        "version": shared.config.version,
        "environment": shared.config.color,
        "timestamp": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        "checks": {
            "database": word(!failing),
            "redis": "healthy",
            "external_apis": "healthy",
        },
        "uptime": hh_mm_ss(shared.started.elapsed()),
    });
    (code(failing), Json(body))
}

/// `GET /health/detailed`: per-dependency detail. `websockets` reports the
/// real number of open connections, and turns unhealthy while WebSockets are
/// refused, without failing the whole check (that is `health_failing`'s job).
pub(crate) async fn detailed(State(shared): State<Arc<Shared>>) -> (StatusCode, Json<Value>) {
    let switches = shared.switches();
    let failing = switches.health_failing;
    let body = json!({
        "status": word(!failing),
        "version": shared.config.version,
        "environment": shared.config.color,
        "timestamp": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        "checks": {
            "database": {
                "status": word(!failing),
                "response_time": "12ms",
                "connection_pool": "8/20",
            },
            "redis": {
                "status": "healthy",
                "response_time": "3ms",
                "memory_usage": "45MB",
            },
            "websockets": {
                "status": word(!switches.refuse_websocket),
                "active_connections": shared.metrics.open_websockets(),
            },
        },
    });
    (code(failing), Json(body))
}

fn word(healthy: bool) -> &'static str {
    if healthy { "healthy" } else { "unhealthy" }
}

fn code(failing: bool) -> StatusCode {
    if failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

/// The guide writes uptime as `HH:MM:SS`; hours grow past 24 rather than
/// wrapping, so the value stays monotonic.
fn hh_mm_ss(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_format() {
        assert_eq!(hh_mm_ss(Duration::from_secs(332)), "00:05:32");
        assert_eq!(hh_mm_ss(Duration::from_secs(100 * 3600 + 61)), "100:01:01");
    }
}
