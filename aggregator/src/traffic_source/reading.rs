//! What one read of a load balancer says, and why a read can fail.

use std::path::PathBuf;
use std::time::Duration;

use greenlight_proto::names::color_name;
use greenlight_proto::v1::Color;

/// Where the load balancer sends new requests, as read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// Every new request goes to this color (never `Unspecified`).
    One(Color),
    /// Not one color: both take new requests (a switch half done, a canary
    /// by hand) or neither does (both drained, an nginx site that is
    /// neither config). Said in words, for the log; the engine is not told,
    /// since there is no live color to follow.
    NotOne(String),
}

impl std::fmt::Display for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reading::One(color) => write!(f, "traffic goes to {}", color_name(*color)),
            Reading::NotOne(what) => write!(f, "traffic goes to no single color: {what}"),
        }
    }
}

/// A read that did not say where traffic goes. Each message names what was
/// read and what to check.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "cannot connect to HAProxy's runtime API at {address}: {source} (is HAProxy running with `stats socket {address} level admin`?)"
    )]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("talking to HAProxy's runtime API at {address}: {source}")]
    Talk {
        address: String,
        source: std::io::Error,
    },
    #[error("{what} did not answer within {timeout:?}")]
    Timeout { what: String, timeout: Duration },
    #[error("{what} is larger than {limit} bytes: not a traffic source's answer")]
    TooLarge { what: String, limit: u64 },
    #[error(
        "HAProxy answered `show servers state {backend}` with {answer:?}: is the traffic source's backend right?"
    )]
    NotServersState { backend: String, answer: String },
    #[error("HAProxy's backend {backend} has no server {server:?} (the traffic source's {key})")]
    NoServer {
        backend: String,
        server: String,
        key: &'static str,
    },
    #[error("HAProxy's `show servers state` answer is not as expected: {0}")]
    Malformed(String),
    #[error("cannot read {} ({key} of the traffic source): {source}", path.display())]
    File {
        path: PathBuf,
        key: &'static str,
        source: std::io::Error,
    },
}
