//! `/control`: how a test flips the fault switches of a running backend.

use crate::shared::Shared;
use crate::{Switches, SwitchesPatch};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

/// `GET /control`: the switches as they are now.
pub(crate) async fn show(State(shared): State<Arc<Shared>>) -> Json<Switches> {
    Json(shared.switches())
}

/// `PUT /control`: changes the fields present in the JSON body and returns
/// the result. The body is parsed by hand, not with the `Json` extractor, so
/// every bad body is a 400 with a message naming the field, and curl works
/// without a content type.
pub(crate) async fn update(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let patch = match SwitchesPatch::from_json(&body) {
        Ok(patch) => patch,
        Err(err) => {
            tracing::info!(%err, "refused a control update");
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": err.0 }))).into_response();
        }
    };
    let mut updated = Switches::default();
    shared.switches.send_modify(|switches| {
        patch.apply(switches);
        updated = switches.clone();
    });
    tracing::info!(color = %shared.config.color, switches = ?updated, "switches changed");
    Json(updated).into_response()
}
