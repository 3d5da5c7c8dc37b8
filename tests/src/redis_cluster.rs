//! A Redis Cluster on loopback: three primaries (no replicas), each a
//! [`RedisServer`] with `cluster-enabled yes` on free ports (its cluster
//! bus too), joined with `redis-cli --cluster create`.

use std::process::Command;
use std::time::Duration;
// Wall-clock deadlines: the nodes agree in real time.
use std::time::Instant;

use anyhow::{Context, bail};

use crate::redis::{Options, RedisServer, connection};
use crate::{Process, free_port, installed};

/// How long joining and agreeing on the slots may take.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between questions to the nodes.
const POLL: Duration = Duration::from_millis(100);

/// Three primaries sharing the 16384 slots; killed on Drop.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts the nodes, joins them, and waits until every node says
    /// `cluster_state:ok`.
    pub async fn start() -> anyhow::Result<RedisCluster> {
        let mut nodes = Vec::new();
        for _ in 0..3 {
            nodes.push(
                RedisServer::start_with(Options {
                    args: [
                        "--cluster-enabled",
                        "yes",
                        // In the node's own temp dir (its --dir).
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "5000",
                        // Not port + 10000, which may be taken or past 65535.
                        "--cluster-port",
                        &free_port().to_string(),
                    ]
                    .map(String::from)
                    .to_vec(),
                    ..Options::default()
                })
                .await?,
            );
        }
        let cluster = RedisCluster { nodes };
        cluster.create().await?;
        cluster.wait_until_ok().await?;
        Ok(cluster)
    }

    /// `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>`
    pub fn url(&self) -> String {
        format!("redis+cluster://{}", self.addresses().join(","))
    }

    /// Each node's `redis://127.0.0.1:<port>`, for a cluster client.
    pub fn node_urls(&self) -> Vec<String> {
        self.addresses()
            .iter()
            .map(|address| format!("redis://{address}"))
            .collect()
    }

    /// Prints every node's output to stderr.
    pub fn dump(&self) {
        for node in &self.nodes {
            node.dump();
        }
    }

    fn addresses(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect()
    }

    async fn create(&self) -> anyhow::Result<()> {
        let mut command = Command::new(installed::redis_cli()?);
        command
            .args(["--cluster", "create"])
            .args(self.addresses())
            .args(["--cluster-replicas", "0", "--cluster-yes"]);
        let process = Process::from_command("redis-cli --cluster create", command)?;
        match process.wait_exit(JOIN_TIMEOUT).await {
            Some(status) if status.success() => Ok(()),
            Some(status) => bail!(
                "redis-cli --cluster create exited ({status}); its output:\n{}",
                process.final_output().await
            ),
            None => bail!(
                "redis-cli --cluster create did not finish within {JOIN_TIMEOUT:?}; its output:\n{}",
                process.output_so_far()
            ),
        }
    }

    async fn wait_until_ok(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + JOIN_TIMEOUT;
        loop {
            let mut states = Vec::new();
            for node in &self.nodes {
                states.push(
                    cluster_state(node.port())
                        .await
                        .unwrap_or_else(|error| format!("{error:#}")),
                );
            }
            if states.iter().all(|state| state == "ok") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.dump();
                bail!("the cluster's nodes said {states:?} for {JOIN_TIMEOUT:?}, not all ok");
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// `cluster_state` from one node's `CLUSTER INFO`.
async fn cluster_state(port: u16) -> anyhow::Result<String> {
    let mut connection = connection(port).await?;
    let info: String = redis::cmd("CLUSTER")
        .arg("INFO")
        .query_async(&mut connection)
        .await?;
    info.lines()
        .find_map(|line| line.strip_prefix("cluster_state:"))
        .map(|state| state.trim().to_string())
        .context("CLUSTER INFO without cluster_state")
}
