//! greenlight's test bed: the real things the end-to-end tests run against.
//!
//! Every server here is a real program started by the test itself on a free
//! loopback port and torn down when its handle is dropped, so a failing test
//! leaves nothing running. Nothing here skips: a missing program is an error
//! that says what to install (`tests/run.sh` installs it all).
//!
//! Waits are bounded and measured in wall-clock time, because the processes on
//! the other side run in real time: use the default `#[tokio::test]` clock,
//! not `start_paused`.
//!
//! # Layout
//!
//! - `port`: [`free_port`], a free loopback port.
//! - `binary`: [`binary`], the path of a workspace binary next to the test.
//! - `installed`: where the Debian-packaged servers live, and what to install
//!   when they are missing.
//! - `output`: a child's stdout and stderr, captured line by line.
//! - `signal`: signals for a process and the processes below it.
//! - `process`: [`Process`], a child process killed on Drop.
//! - `redis`: [`RedisServer`], a private `redis-server` (with a password
//!   or TLS when asked).
//! - `redis_sentinel`: [`RedisSentinel`], a primary, a replica and three
//!   sentinels, for failovers.
//! - `redis_cluster`: [`RedisCluster`], three primaries in a Redis Cluster.
//! - `certs`: [`TestCa`], certificates made by the test.
//! - `cut`: [`NetworkCut`], a TCP proxy whose link can be cut and healed.
//! - `postgres`: [`Postgres`], a private PostgreSQL cluster in a temp dir.
//! - `eventually`: [`eventually`], poll until something holds.
//! - `otlp`: [`OtlpReceiver`], an OTLP trace receiver keeping the spans.
//! - `browser`: [`Browser`], headless Chromium driven over the DevTools
//!   Protocol.

mod binary;
mod browser;
mod certs;
mod cut;
mod eventually;
pub mod installed;
mod otlp;
mod output;
mod port;
mod postgres;
mod process;
mod redis;
mod redis_cluster;
mod redis_sentinel;
mod signal;

pub use binary::binary;
pub use browser::Browser;
pub use certs::{Issued, TestCa};
pub use cut::NetworkCut;
pub use eventually::{Attempt, eventually};
pub use otlp::{OtlpReceiver, ReceivedSpan};
pub use port::free_port;
pub use postgres::Postgres;
pub use process::Process;
pub use redis::{RedisServer, RedisTls};
pub use redis_cluster::RedisCluster;
pub use redis_sentinel::RedisSentinel;
