//! A simulated backend with fault switches, for greenlight's tests and demo.
//!
//! It speaks what a real backend from the blue/green guide speaks (`/health`,
//! `/health/detailed`, Prometheus `/metrics`, a WebSocket endpoint and some
//! work endpoints), and lets a test break it on purpose through `/control`:
//! raise the error ratio, add latency, fail `/health`, refuse WebSockets.
//! Several backends can run in one process: nothing is global.
//!
//! # Layout
//!
//! - [`config`]: [`SimConfig`], who this backend says it is.
//! - [`switches`]: [`Switches`], the fault switches, and [`SwitchesPatch`],
//!   a validated partial update from `PUT /control`.
//! - `server`: [`serve`], the router and graceful shutdown.
//! - `shared`: the state every handler sees: config, switches, metrics.
//! - `health`: `/health` and `/health/detailed` in the guide's JSON shapes.
//! - `work`: `GET /` and `GET /api/{*rest}`, the requests that count as traffic.
//! - `control`: `GET`/`PUT /control`.
//! - `websocket`: `/ws`, an echo endpoint that counts open connections.
//! - `metrics`: request counters, latency histogram, WebSocket gauge and the
//!   Prometheus text rendering.
//! - `error_window`: the 5xx ratio over the last ten seconds.
//! - `self_load`: optional traffic a backend sends to itself.

pub mod config;
pub mod switches;

mod control;
mod error_window;
mod health;
mod metrics;
mod self_load;
mod server;
mod shared;
mod websocket;
mod work;

pub use config::SimConfig;
pub use server::serve;
pub use switches::{InvalidPatch, Switches, SwitchesPatch};

/// Header set on every response, so load-balancer tests can see which color
/// served a request.
pub const COLOR_HEADER: &str = "x-backend-color";
