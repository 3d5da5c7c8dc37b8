//! A private `redis-server` on a free loopback port: plain, with a password
//! (`--requirepass`), or speaking TLS only (`--tls-port`, `--port 0`).

use std::path::{Path, PathBuf};
use std::process::Command;
// Wall-clock deadlines: redis-server starts in real time.
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::{Process, free_port, installed};

/// How long redis-server may take to answer PING after starting.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one PING may take.
const PING_TIMEOUT: Duration = Duration::from_secs(1);
/// Pause between readiness checks.
const READY_POLL: Duration = Duration::from_millis(50);
/// Fresh ports to try when another process takes ours first.
const PORT_ATTEMPTS: usize = 3;

/// TLS for a test's redis-server: its certificate and key, and the CA
/// redis-server is told about (it does not ask clients for certificates).
#[derive(Debug, Clone)]
pub struct RedisTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

/// How a server is started; kept for `start_again()`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    pub(crate) password: Option<String>,
    pub(crate) tls: Option<RedisTls>,
    /// A config file, read first: a sentinel's (which it rewrites).
    pub(crate) config: Option<PathBuf>,
    /// Arguments after the bed's own (`--replicaof`, `--sentinel`,
    /// `--cluster-enabled yes`).
    pub(crate) args: Vec<String>,
}

/// A `redis-server` of the test's own, without persistence, bound to
/// 127.0.0.1 on a free port. Killed on Drop.
#[derive(Debug)]
pub struct RedisServer {
    /// Kept across `stop()`/`start_again()`, so clients holding `url()`
    /// reconnect to the same place.
    port: u16,
    /// Redis' working directory: with `--save ""` it stays empty, but redis
    /// needs one, and it must not be the test's.
    dir: TempDir,
    /// The running (or last) redis-server; its output outlives `stop()`.
    process: Process,
    options: Options,
}

impl RedisServer {
    /// Starts redis-server and waits (up to 20 s) until it answers PING.
    pub async fn start() -> anyhow::Result<RedisServer> {
        RedisServer::start_with(Options::default()).await
    }

    /// The same, refusing clients without `password` (`--requirepass`);
    /// `url()` carries it.
    pub async fn with_password(password: &str) -> anyhow::Result<RedisServer> {
        RedisServer::start_with(Options {
            password: Some(password.to_string()),
            ..Options::default()
        })
        .await
    }

    /// The same, speaking TLS only (`--port 0 --tls-port <port>`); `url()`
    /// is `rediss://`.
    pub async fn with_tls(tls: RedisTls) -> anyhow::Result<RedisServer> {
        RedisServer::start_with(Options {
            tls: Some(tls),
            ..Options::default()
        })
        .await
    }

    pub(crate) async fn start_with(options: Options) -> anyhow::Result<RedisServer> {
        let dir = tempfile::Builder::new()
            .prefix("greenlight-redis-")
            .tempdir()
            .context("cannot create a temp dir for redis-server: check that TMPDIR is writable")?;
        let mut attempt = 1;
        loop {
            let port = free_port();
            match launch(port, dir.path(), &options).await {
                Ok(process) => {
                    return Ok(RedisServer {
                        port,
                        dir,
                        process,
                        options,
                    });
                }
                Err(err) if attempt < PORT_ATTEMPTS && port_was_taken(&err) => attempt += 1,
                Err(err) => return Err(err),
            }
        }
    }

    /// `redis://127.0.0.1:<port>`; `redis://:<password>@...` with a
    /// password, `rediss://` with TLS.
    pub fn url(&self) -> String {
        let scheme = if self.options.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        let auth = match &self.options.password {
            Some(password) => format!(":{password}@"),
            None => String::new(),
        };
        format!("{scheme}://{auth}127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The redis-server process, for its output or signals.
    pub fn process(&self) -> &Process {
        &self.process
    }

    /// Prints redis-server's output to stderr.
    pub fn dump(&self) {
        self.process.dump();
    }

    /// One PING over a fresh connection; `Ok` when `+PONG` comes back
    /// within a second.
    pub async fn ping(&self) -> anyhow::Result<()> {
        ping(self.port).await
    }

    /// SIGTERM, and SIGKILL if it has not exited after 15 s; returns once it
    /// has exited. The port is then closed.
    pub async fn stop(&mut self) {
        self.process.terminate().await;
    }

    /// Starts redis-server again on the same port, empty, and waits until it
    /// answers PING.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        if self.process.is_running() {
            bail!(
                "redis-server on port {} is still running: call stop() before start_again()",
                self.port
            );
        }
        self.process = launch(self.port, self.dir.path(), &self.options).await?;
        Ok(())
    }

    /// SIGSTOP: the port stays open but nothing answers, like a hung server.
    pub fn freeze(&self) {
        self.process.freeze();
    }

    /// SIGCONT, undoing `freeze()`.
    pub fn thaw(&self) {
        self.process.thaw();
    }
}

async fn launch(port: u16, dir: &Path, options: &Options) -> anyhow::Result<Process> {
    let program = installed::redis_server()?;
    let mut command = Command::new(program);
    if let Some(config) = &options.config {
        command.arg(config);
    }
    match &options.tls {
        Some(tls) => {
            command
                .args(["--port", "0", "--tls-port", &port.to_string()])
                .arg("--tls-cert-file")
                .arg(&tls.cert)
                .arg("--tls-key-file")
                .arg(&tls.key)
                .arg("--tls-ca-cert-file")
                .arg(&tls.ca)
                .args(["--tls-auth-clients", "no"]);
        }
        None => {
            command.args(["--port", &port.to_string()]);
        }
    }
    if let Some(password) = &options.password {
        command.args(["--requirepass", password]);
    }
    command
        .args(["--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        .args(&options.args);
    let process = Process::from_command("redis-server", command)?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let answered = match &options.tls {
            // The bed speaks no TLS itself: a listening port is ready enough.
            Some(_) => TcpStream::connect(("127.0.0.1", port))
                .await
                .map(drop)
                .map_err(anyhow::Error::from),
            None => ping(port).await.or_else(|error| {
                // NOAUTH is an answer: the server is up and wants the password.
                let wants_password =
                    options.password.is_some() && format!("{error:#}").contains("NOAUTH");
                if wants_password { Ok(()) } else { Err(error) }
            }),
        };
        let last_error = match answered {
            Ok(()) => return Ok(process),
            Err(err) => err,
        };
        if let Some(status) = process.exit_status() {
            bail!(
                "redis-server on port {port} exited ({status}) before answering PING; its output:\n{}",
                process.final_output().await
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "redis-server on port {port} did not answer PING within {READY_TIMEOUT:?} (last error: {last_error:#}); its output:\n{}",
                process.output_so_far()
            );
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// A client connection to a bed's server on `port` (a sentinel, a
/// cluster node), within a second.
pub(crate) async fn connection(port: u16) -> anyhow::Result<::redis::aio::MultiplexedConnection> {
    let client = ::redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    tokio::time::timeout(PING_TIMEOUT, client.get_multiplexed_async_connection())
        .await
        .with_context(|| format!("port {port} did not answer within {PING_TIMEOUT:?}"))?
        .with_context(|| format!("cannot connect to port {port}"))
}

fn port_was_taken(err: &anyhow::Error) -> bool {
    format!("{err:#}").contains("Address already in use")
}

async fn ping(port: u16) -> anyhow::Result<()> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(b"PING\r\n").await?;
        let mut reply = String::new();
        BufReader::new(stream).read_line(&mut reply).await?;
        anyhow::Ok(reply)
    };
    let reply = tokio::time::timeout(PING_TIMEOUT, exchange)
        .await
        .with_context(|| {
            format!("redis on port {port} did not answer PING within {PING_TIMEOUT:?}")
        })?
        .with_context(|| format!("cannot PING redis on port {port}"))?;
    if !reply.starts_with("+PONG") {
        bail!(
            "redis on port {port} answered PING with {:?}",
            reply.trim_end()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn starts_stops_and_starts_again() {
        let mut redis = RedisServer::start().await.unwrap();
        assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port()));
        redis.ping().await.unwrap();

        let client = ::redis::Client::open(redis.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = ::redis::cmd("SET")
            .arg("k")
            .arg("v")
            .query_async(&mut conn)
            .await
            .unwrap();
        let value: String = ::redis::cmd("GET")
            .arg("k")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(value, "v");

        redis.stop().await;
        assert!(redis.ping().await.is_err());
        assert!(
            TcpStream::connect(("127.0.0.1", redis.port()))
                .await
                .is_err()
        );

        redis.start_again().await.unwrap();
        redis.ping().await.unwrap();
    }

    #[tokio::test]
    async fn a_frozen_server_does_not_answer() {
        let redis = RedisServer::start().await.unwrap();
        redis.freeze();
        let err = redis.ping().await.unwrap_err();
        assert!(
            format!("{err:#}").contains("did not answer PING"),
            "{err:#}"
        );
        redis.thaw();
        redis.ping().await.unwrap();
    }

    #[tokio::test]
    async fn start_again_refuses_while_running() {
        let mut redis = RedisServer::start().await.unwrap();
        assert!(redis.start_again().await.is_err());
    }
}
