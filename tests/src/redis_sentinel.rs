//! Redis Sentinel on loopback: a primary, one replica and three sentinels
//! (quorum 2) watching it, every one a [`RedisServer`] on a free port. The
//! primary can be SIGKILLed and the failover to the replica awaited.

use std::time::Duration;
// Wall-clock deadlines: the sentinels decide in real time.
use std::time::Instant;

use anyhow::{Context, bail};
use tempfile::TempDir;

use crate::redis::{Options, RedisServer, connection};

/// The name the sentinels monitor the primary under.
pub const SERVICE: &str = "greenlight";
/// How long the sentinels take to know the replica and each other.
const SETTLE: Duration = Duration::from_secs(30);
/// Pause between questions to the sentinels.
const POLL: Duration = Duration::from_millis(100);

/// A primary, its replica and three sentinels; all killed on Drop.
pub struct RedisSentinel {
    /// The sentinels' config files (each rewrites its own).
    _configs: TempDir,
    /// The first primary, then (after a failover) the old one.
    primary: RedisServer,
    replica: RedisServer,
    sentinels: Vec<RedisServer>,
}

impl RedisSentinel {
    /// Starts everything and waits (up to 30 s) until the replica is in
    /// sync and every sentinel knows it and the two other sentinels, so
    /// that a failover can happen.
    pub async fn start() -> anyhow::Result<RedisSentinel> {
        let primary = RedisServer::start().await?;
        let replica = RedisServer::start_with(Options {
            args: replica_of(primary.port()),
            ..Options::default()
        })
        .await?;
        let configs = tempfile::Builder::new()
            .prefix("greenlight-sentinel-")
            .tempdir()
            .context("cannot create a temp dir for the sentinels' configs")?;
        let mut sentinels = Vec::new();
        for index in 0..3 {
            let config = configs.path().join(format!("sentinel-{index}.conf"));
            std::fs::write(&config, sentinel_config(primary.port()))
                .with_context(|| format!("cannot write {}", config.display()))?;
            sentinels.push(
                RedisServer::start_with(Options {
                    config: Some(config),
                    args: vec!["--sentinel".into()],
                    ..Options::default()
                })
                .await?,
            );
        }
        let bed = RedisSentinel {
            _configs: configs,
            primary,
            replica,
            sentinels,
        };
        bed.settle().await?;
        Ok(bed)
    }

    /// `redis+sentinel://127.0.0.1:<s1>,127.0.0.1:<s2>,127.0.0.1:<s3>/greenlight`
    pub fn url(&self) -> String {
        let sentinels: Vec<String> = self
            .sentinels
            .iter()
            .map(|sentinel| format!("127.0.0.1:{}", sentinel.port()))
            .collect();
        format!("redis+sentinel://{}/{SERVICE}", sentinels.join(","))
    }

    /// The first primary's port (the old primary's, after a failover).
    pub fn primary_port(&self) -> u16 {
        self.primary.port()
    }

    /// The replica's port: the primary after a failover.
    pub fn replica_port(&self) -> u16 {
        self.replica.port()
    }

    /// SIGKILLs the primary; returns once it has exited.
    pub async fn kill_primary(&self) {
        self.primary.process().kill().await;
    }

    /// The primary's address as the first sentinel that answers says.
    pub async fn master(&self) -> anyhow::Result<(String, u16)> {
        let mut last = None;
        for sentinel in &self.sentinels {
            match master_by(sentinel.port()).await {
                Ok(address) => return Ok(address),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no sentinels")))
    }

    /// Waits until every sentinel names a primary other than `old`;
    /// returns it.
    pub async fn wait_for_new_master(
        &self,
        old: u16,
        timeout: Duration,
    ) -> anyhow::Result<(String, u16)> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut named = Vec::new();
            for sentinel in &self.sentinels {
                named.push(master_by(sentinel.port()).await.ok());
            }
            let agreed =
                named.first().cloned().flatten().filter(|first| {
                    first.1 != old && named.iter().all(|n| n.as_ref() == Some(first))
                });
            if let Some(address) = agreed {
                return Ok(address);
            }
            if Instant::now() >= deadline {
                self.dump();
                bail!("the sentinels named {named:?} {timeout:?} after port {old} was lost");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Prints every server's output to stderr.
    pub fn dump(&self) {
        self.primary.dump();
        self.replica.dump();
        for sentinel in &self.sentinels {
            sentinel.dump();
        }
    }

    async fn settle(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + SETTLE;
        loop {
            let mut ready = in_sync(self.replica.port()).await.unwrap_or(false);
            for sentinel in &self.sentinels {
                ready = ready && knows_all(sentinel.port()).await.unwrap_or(false);
            }
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.dump();
                bail!("the sentinels did not learn the replica and each other within {SETTLE:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

fn replica_of(port: u16) -> Vec<String> {
    vec!["--replicaof".into(), "127.0.0.1".into(), port.to_string()]
}

/// Quorum 2 of 3; the primary is down after 1 s without an answer; a
/// failover that stalls is retried soon.
fn sentinel_config(primary: u16) -> String {
    format!(
        "sentinel monitor {SERVICE} 127.0.0.1 {primary} 2\n\
         sentinel down-after-milliseconds {SERVICE} 1000\n\
         sentinel failover-timeout {SERVICE} 2000\n\
         sentinel parallel-syncs {SERVICE} 1\n"
    )
}

/// `SENTINEL GET-MASTER-ADDR-BY-NAME` on one sentinel.
async fn master_by(sentinel: u16) -> anyhow::Result<(String, u16)> {
    let mut connection = connection(sentinel).await?;
    let address: Option<(String, u16)> = redis::cmd("SENTINEL")
        .arg("GET-MASTER-ADDR-BY-NAME")
        .arg(SERVICE)
        .query_async(&mut connection)
        .await?;
    address.with_context(|| format!("sentinel {sentinel} knows no {SERVICE}"))
}

/// Whether a sentinel knows one replica and two other sentinels.
async fn knows_all(sentinel: u16) -> anyhow::Result<bool> {
    let mut connection = connection(sentinel).await?;
    let fields: std::collections::HashMap<String, String> = redis::cmd("SENTINEL")
        .arg("MASTER")
        .arg(SERVICE)
        .query_async(&mut connection)
        .await?;
    let count = |name: &str| fields.get(name).and_then(|n| n.parse::<u32>().ok());
    Ok(count("num-slaves") == Some(1) && count("num-other-sentinels") == Some(2))
}

/// Whether the replica's link to its primary is up.
async fn in_sync(replica: u16) -> anyhow::Result<bool> {
    let mut connection = connection(replica).await?;
    let info: String = redis::cmd("INFO")
        .arg("replication")
        .query_async(&mut connection)
        .await?;
    Ok(info.contains("master_link_status:up"))
}
