//! Reaching the configured Redis, whichever form it has: one server
//! (`redis://`, `rediss://`), the primary that Sentinel names
//! (`redis+sentinel://`), or a Redis Cluster (`redis+cluster://`). The
//! publisher, the restore, the history reader and `/health` all connect
//! through [`RedisTarget::connect`] and talk through [`RedisConnection`].
//!
//! Following a Sentinel failover: every connect asks the sentinels for the
//! current primary (and checks with `ROLE` that it is one), and a Sentinel
//! connection that failed a command, or was answered READONLY by a primary
//! since demoted to a replica, drops its link so that its next command
//! asks the sentinels again. A caller that retries after an error thus
//! reaches the new primary without knowing there are sentinels.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use redis::{
    AsyncConnectionConfig, Cmd, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, Pipeline,
    RedisConnectionInfo, RedisError, RedisFuture, RedisResult, ServerErrorKind, Value,
};
use tokio::sync::Mutex;

use crate::config::{Auth, ClusterEndpoint, RedisEndpoint, RedisSettings, SentinelEndpoint};

/// How long one connection attempt (a Sentinel lookup included) or one
/// command may take.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Redirections (MOVED, ASK) a cluster command may follow; the callers'
/// own retry loops handle a node that is away.
const CLUSTER_RETRIES: u32 = 3;

/// Where the configured Redis is; cheap to clone.
#[derive(Clone)]
pub struct RedisTarget {
    endpoint: Arc<RedisEndpoint>,
}

impl RedisTarget {
    pub fn new(settings: &RedisSettings) -> RedisTarget {
        RedisTarget {
            endpoint: Arc::new(settings.endpoint().clone()),
        }
    }

    /// A connection to the server, the current primary, or the cluster.
    pub async fn connect(&self) -> RedisResult<RedisConnection> {
        match &*self.endpoint {
            RedisEndpoint::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(TIMEOUT))
                    .set_response_timeout(Some(TIMEOUT))
                    // The callers' retry loops are the one policy; a second
                    // one inside the connection would stall each command for
                    // its own backoff.
                    .set_number_of_retries(0);
                ConnectionManager::new_with_config(client.clone(), config)
                    .await
                    .map(RedisConnection::Single)
            }
            RedisEndpoint::Sentinel(sentinel) => {
                let connection = primary(sentinel).await?;
                Ok(RedisConnection::Sentinel(PrimaryLink::new(
                    self.clone(),
                    sentinel.db,
                    connection,
                )))
            }
            RedisEndpoint::Cluster(cluster) => cluster_connection(cluster)
                .await
                .map(RedisConnection::Cluster),
        }
    }
}

/// A connection to the configured Redis. Commands and pipelines go through
/// [`ConnectionLike`]; on a cluster each is routed to its key's slot, so a
/// MULTI/EXEC must keep to one slot (one deployment's keys).
#[derive(Clone)]
pub enum RedisConnection {
    /// One server; reconnects to it by itself after an I/O error.
    Single(ConnectionManager),
    /// The primary Sentinel named; asks again after a failed command.
    Sentinel(PrimaryLink),
    Cluster(ClusterConnection),
}

impl RedisConnection {
    /// Every key matching `pattern` (SCAN, so the server is not blocked);
    /// on a cluster, from every primary in turn.
    pub async fn keys_matching(&mut self, pattern: &str) -> RedisResult<Vec<String>> {
        let mut keys = Vec::new();
        if let RedisConnection::Cluster(cluster) = self {
            for (host, port) in primaries(cluster).await? {
                let mut cursor = 0;
                loop {
                    let node = SingleNodeRoutingInfo::ByAddress {
                        host: host.clone(),
                        port,
                    };
                    let reply = cluster
                        .route_command(scan_page(cursor, pattern), RoutingInfo::SingleNode(node))
                        .await?;
                    let (next, page): (u64, Vec<String>) = redis::from_redis_value(reply)?;
                    keys.extend(page);
                    if next == 0 {
                        break;
                    }
                    cursor = next;
                }
            }
            return Ok(keys);
        }
        let mut cursor = 0;
        loop {
            let (next, page): (u64, Vec<String>) =
                scan_page(cursor, pattern).query_async(self).await?;
            keys.extend(page);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }
}

fn scan_page(cursor: u64, pattern: &str) -> Cmd {
    let mut command = redis::cmd("SCAN");
    command
        .arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(1000);
    command
}

/// The cluster's primaries, from `CLUSTER SLOTS` (each slot range's first
/// node is its primary).
async fn primaries(cluster: &mut ClusterConnection) -> RedisResult<BTreeSet<(String, u16)>> {
    let reply = cluster
        .route_command(
            redis::cmd("CLUSTER").arg("SLOTS").clone(),
            RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
        )
        .await?;
    let ranges: Vec<Vec<Value>> = redis::from_redis_value(reply)?;
    let mut primaries = BTreeSet::new();
    for range in ranges {
        let Some(node) = range.into_iter().nth(2) else {
            continue;
        };
        let node: Vec<Value> = redis::from_redis_value(node)?;
        let mut node = node.into_iter();
        let (Some(host), Some(port)) = (node.next(), node.next()) else {
            continue;
        };
        primaries.insert((
            redis::from_redis_value(host)?,
            redis::from_redis_value(port)?,
        ));
    }
    Ok(primaries)
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConnection::Single(connection) => connection.req_packed_command(cmd),
            RedisConnection::Sentinel(connection) => connection.req_packed_command(cmd),
            RedisConnection::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConnection::Single(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
            RedisConnection::Sentinel(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
            RedisConnection::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConnection::Single(connection) => connection.get_db(),
            RedisConnection::Sentinel(connection) => connection.db,
            RedisConnection::Cluster(connection) => connection.get_db(),
        }
    }
}

/// The link to the primary the sentinels named, shared by the clones of a
/// connection; gone once a command failed on it, until the next command
/// asks the sentinels again.
#[derive(Clone)]
pub struct PrimaryLink {
    target: RedisTarget,
    db: i64,
    current: Arc<Mutex<Link>>,
}

struct Link {
    /// Counts the links made: a failure forgets only the link it happened
    /// on, not one that a concurrent command has just made.
    generation: u64,
    connection: Option<MultiplexedConnection>,
}

impl PrimaryLink {
    fn new(target: RedisTarget, db: i64, connection: MultiplexedConnection) -> PrimaryLink {
        PrimaryLink {
            target,
            db,
            current: Arc::new(Mutex::new(Link {
                generation: 0,
                connection: Some(connection),
            })),
        }
    }

    async fn link(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        let mut current = self.current.lock().await;
        if let Some(connection) = &current.connection {
            return Ok((current.generation, connection.clone()));
        }
        let RedisEndpoint::Sentinel(sentinel) = &*self.target.endpoint else {
            unreachable!("a PrimaryLink is made for a Sentinel endpoint only");
        };
        let connection = primary(sentinel).await?;
        current.generation += 1;
        current.connection = Some(connection.clone());
        Ok((current.generation, connection))
    }

    /// After `answer` on the link of `generation`: forgets that link when
    /// the answer says it may no longer lead to the primary.
    async fn settle<T>(&self, generation: u64, answer: &RedisResult<T>, values: &[Value]) {
        if !lost_primary(answer, values) {
            return;
        }
        let mut current = self.current.lock().await;
        if current.generation == generation && current.connection.is_some() {
            tracing::info!(
                service = %self.service(),
                "lost the Redis primary (error or READONLY); the next command asks the sentinels again"
            );
            current.connection = None;
        }
    }

    fn service(&self) -> &str {
        match &*self.target.endpoint {
            RedisEndpoint::Sentinel(sentinel) => &sentinel.service,
            _ => "",
        }
    }
}

/// Whether an answer means the link may not lead to the primary any more:
/// any error (I/O, timeout, an aborted MULTI), or a READONLY or MASTERDOWN
/// reply (a primary demoted to a replica answers writes that way).
fn lost_primary<T>(answer: &RedisResult<T>, values: &[Value]) -> bool {
    answer.is_err()
        || values.iter().any(|value| {
            matches!(
                value,
                Value::ServerError(error)
                    if matches!(error.kind(), Some(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown))
            )
        })
}

impl ConnectionLike for PrimaryLink {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let (generation, mut connection) = self.link().await?;
            let answer = connection.req_packed_command(cmd).await;
            let values = answer.as_ref().map(std::slice::from_ref).unwrap_or(&[]);
            self.settle(generation, &answer, values).await;
            answer
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let (generation, mut connection) = self.link().await?;
            let answer = connection
                .req_packed_commands(pipeline, offset, count)
                .await;
            let values = answer.as_deref().unwrap_or(&[]);
            self.settle(generation, &answer, values).await;
            answer
        })
    }

    fn get_db(&self) -> i64 {
        self.db
    }
}

/// Asks the sentinels (in the URL's order) for the current primary, checks
/// that it says it is one (`ROLE`), and connects to it.
async fn primary(sentinel: &SentinelEndpoint) -> RedisResult<MultiplexedConnection> {
    let sentinels: Vec<ConnectionInfo> = sentinel
        .sentinels
        .iter()
        .map(|(host, port)| ConnectionAddr::Tcp(host.clone(), *port).into_connection_info())
        .collect::<RedisResult<_>>()?;
    // Fresh each time: its cached links to the sentinels live as long as
    // this lookup, which happens only at a connect or after a failure.
    let mut lookup = Sentinel::build(sentinels)?;
    let node = SentinelNodeConnectionInfo::default()
        .set_redis_connection_info(redis_settings(&sentinel.auth).set_db(sentinel.db));
    let client = tokio::time::timeout(
        TIMEOUT,
        lookup.async_master_for(&sentinel.service, Some(&node)),
    )
    .await
    .map_err(|_| timed_out("the sentinels did not name a primary"))??;
    tracing::debug!(
        service = %sentinel.service,
        primary = %client.get_connection_info().addr(),
        "the sentinels named the primary"
    );
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

async fn cluster_connection(cluster: &ClusterEndpoint) -> RedisResult<ClusterConnection> {
    let nodes: Vec<ConnectionInfo> = cluster
        .nodes
        .iter()
        .map(|(host, port)| ConnectionAddr::Tcp(host.clone(), *port).into_connection_info())
        .collect::<RedisResult<_>>()?;
    let mut builder = ClusterClientBuilder::new(nodes)
        .connection_timeout(TIMEOUT)
        .response_timeout(TIMEOUT)
        .retries(CLUSTER_RETRIES);
    if let Some(username) = &cluster.auth.username {
        builder = builder.username(username);
    }
    if let Some(password) = &cluster.auth.password {
        builder = builder.password(password);
    }
    let client = builder.build()?;
    tokio::time::timeout(TIMEOUT, client.get_async_connection())
        .await
        .map_err(|_| timed_out("no cluster node answered"))?
}

fn redis_settings(auth: &Auth) -> RedisConnectionInfo {
    let mut settings = RedisConnectionInfo::default();
    if let Some(username) = &auth.username {
        settings = settings.set_username(username);
    }
    if let Some(password) = &auth.password {
        settings = settings.set_password(password);
    }
    settings
}

fn timed_out(what: &'static str) -> RedisError {
    RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("{what} within {}s", TIMEOUT.as_secs()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_readonly_replies_lose_the_primary_other_replies_do_not() {
        let readonly =
            redis::parse_redis_value(b"-READONLY You can't write against a read only replica.\r\n")
                .unwrap();
        let wrongtype =
            redis::parse_redis_value(b"-WRONGTYPE Operation against a key\r\n").unwrap();
        let ok: RedisResult<()> = Ok(());
        assert!(lost_primary(&ok, std::slice::from_ref(&readonly)));
        assert!(!lost_primary(&ok, &[Value::Okay, wrongtype]));
        let failed: RedisResult<()> = Err(timed_out("nothing"));
        assert!(lost_primary(&failed, &[]));
    }
}
