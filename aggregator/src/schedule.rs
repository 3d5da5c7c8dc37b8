//! Waking the engine when time alone changes a verdict: the core says when
//! (`Engine::next_deadline`); this sleeps until then or until the next
//! event may have moved it. No fixed tick.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::hub::Hub;

/// With nothing due, look again after this long anyway (cheap, and a guard
/// against a deadline the core failed to report).
const IDLE: Duration = Duration::from_secs(30);

pub async fn run(hub: Arc<Hub>, shutdown: CancellationToken) {
    loop {
        let sleep = match hub.next_deadline() {
            Some(deadline) => deadline
                .duration_since(hub.now())
                .unwrap_or_default()
                .min(IDLE),
            None => IDLE,
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            // An event was stepped: the deadline may have moved.
            _ = hub.stepped() => continue,
            _ = tokio::time::sleep(sleep) => hub.with_engine(|engine, now| engine.tick(now)),
        }
    }
}
