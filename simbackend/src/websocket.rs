//! `/ws`: an echo endpoint, so the agent's WebSocket probe has something real
//! to talk to, and `websocket_connections` has something to count.

use crate::metrics::WebSocketGuard;
use crate::shared::Shared;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Upgrades, or answers 503 while the `refuse_websocket` switch is on.
pub(crate) async fn upgrade(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    if shared.switches().refuse_websocket {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "WebSocket refused by the refuse_websocket switch",
        )
            .into_response();
    }
    // Counted from the 101 answer rather than from when the session task
    // starts, so a client that got its handshake already sees itself in
    // `/metrics`. A failed upgrade drops the closure, and with it the count.
    let guard = shared.metrics.open_websocket();
    let shutdown = shared.shutdown.clone();
    ws.on_upgrade(move |socket| echo(socket, guard, shutdown))
}

/// Sends every text and binary message back. Pings need nothing here:
/// the WebSocket layer answers them with pongs.
async fn echo(mut socket: WebSocket, _open: WebSocketGuard, shutdown: CancellationToken) {
    loop {
        let message = tokio::select! {
            message = socket.recv() => message,
            () = shutdown.cancelled() => {
                let frame = CloseFrame { code: close_code::AWAY, reason: "server shutting down".into() };
                // The peer may be gone already; nothing to do about it then.
                let _ = socket.send(Message::Close(Some(frame))).await;
                return;
            }
        };
        let reply = match message {
            Some(Ok(Message::Text(text))) => Message::Text(text),
            Some(Ok(Message::Binary(bytes))) => Message::Binary(bytes),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => return,
            Some(Err(err)) => {
                tracing::debug!(%err, "WebSocket session ended with an error");
                return;
            }
        };
        if socket.send(reply).await.is_err() {
            return;
        }
    }
}
