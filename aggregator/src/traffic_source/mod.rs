//! Where traffic really goes: the load balancer read back (HAProxy's
//! runtime API, or which nginx config is enabled), so the verdict's live
//! color follows the world, whoever moved it.
//!
//! # Layout
//! - `config`: the `[deployments.<name>.traffic_source]` section, validated.
//! - `reading`: what one read says ([`Reading`]), and [`ReadError`].
//! - `servers_state`: HAProxy's `show servers state` parsed (pure).
//! - `haproxy`: asking HAProxy's runtime API, over a Unix socket or TCP.
//! - `nginx`: which color's config the enabled site is.
//! - `streak`: what is worth a log line (changes, one warning per failing
//!   streak).
//! - `poller`: one tracked task per deployment, feeding the engine.

mod config;
mod haproxy;
mod nginx;
mod poller;
mod reading;
mod servers_state;
mod streak;

pub use config::{DEFAULT_POLL, RawTrafficSource};
pub use poller::{READ_TIMEOUT, read, spawn_all};
pub use reading::{ReadError, Reading};

use std::path::PathBuf;
use std::time::Duration;

/// How to read one deployment's load balancer.
#[derive(Debug, Clone, PartialEq)]
pub enum TrafficSourceKind {
    /// HAProxy's runtime API: the color whose server is ready (with a
    /// weight) is where traffic goes.
    Haproxy {
        /// The admin socket: a Unix socket path, or `host:port`.
        socket: String,
        backend: String,
        blue_server: String,
        green_server: String,
    },
    /// nginx as the guide switches it: the enabled site is a copy of one
    /// color's config.
    Nginx {
        site: PathBuf,
        blue_config: PathBuf,
        green_config: PathBuf,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrafficSource {
    pub kind: TrafficSourceKind,
    /// How often it is read.
    pub poll: Duration,
}
