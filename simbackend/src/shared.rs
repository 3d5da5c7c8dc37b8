//! The state every handler of one backend shares.

use crate::config::SimConfig;
use crate::metrics::Metrics;
use crate::switches::Switches;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What every handler of one backend sees.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    /// Latest switch values; `watch` because readers only need the newest.
    pub(crate) switches: watch::Sender<Switches>,
    pub(crate) metrics: Arc<Metrics>,
    /// Origin of `/health`'s `uptime`.
    pub(crate) started: Instant,
    /// Lets long-lived work (WebSocket sessions, injected latency) end
    /// promptly when the server stops.
    pub(crate) shutdown: CancellationToken,
}

impl Shared {
    pub(crate) fn switches(&self) -> Switches {
        self.switches.borrow().clone()
    }
}
