//! Traffic a backend sends to itself, so `/metrics` moves without an outside
//! load generator. It only ever targets this backend's own listener.

use crate::shared::Shared;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// Ceiling on the configured rate: this is a simulator, not a load tester.
const MAX_RPS: u32 = 1000;
/// Ceiling on requests waiting for an answer (injected latency piles them up).
const MAX_IN_FLIGHT: usize = 256;
/// Timeout on top of the injected latency. Cutting a request short would
/// drop it from the server's metrics, hiding the latency it should show.
const TIMEOUT_MARGIN: Duration = Duration::from_secs(2);

/// Sends `rps` `GET /api/work` per second to `addr` until `shutdown`.
pub(crate) async fn run(
    addr: SocketAddr,
    rps: u32,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let rps = rps.clamp(1, MAX_RPS);
    let url = format!("http://{}/api/work", loopback(addr));
    // Keep-alive is reqwest's default; no proxy, since the target is loopback.
    let client = match reqwest::Client::builder().no_proxy().build() {
        Ok(client) => client,
        Err(err) => {
            tracing::warn!(%err, "self-load disabled: cannot build an HTTP client");
            return;
        }
    };
    tracing::info!(%url, rps, "self-load started");

    let mut tick = tokio::time::interval(Duration::from_secs(1) / rps);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut in_flight = JoinSet::new();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => break,
        }
        while in_flight.try_join_next().is_some() {}
        if in_flight.len() >= MAX_IN_FLIGHT {
            tracing::debug!(
                MAX_IN_FLIGHT,
                "self-load skipped a request: too many in flight"
            );
            continue;
        }
        let latency = Duration::from_millis(shared.switches().latency_ms);
        let request = client.get(&url).timeout(latency + TIMEOUT_MARGIN).send();
        in_flight.spawn(async move {
            // Reading the body returns the connection to the keep-alive pool.
            let outcome = match request.await {
                Ok(response) => response.bytes().await.map(drop),
                Err(err) => Err(err),
            };
            if let Err(err) = outcome {
                tracing::debug!(%err, "self-load request failed");
            }
        });
    }
    // Dropping the set aborts what is still waiting; the server drains itself.
    drop(in_flight);
    tracing::info!("self-load stopped");
}

/// A listener on the unspecified address is reached through loopback.
fn loopback(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}
