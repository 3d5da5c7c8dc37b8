//! A private PostgreSQL cluster: `initdb` into a temp dir, `postgres` on a
//! free loopback port.

mod owner;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
// Wall-clock deadlines: PostgreSQL starts in real time.
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tempfile::TempDir;

use crate::{Process, free_port, installed};
use owner::Owner;

/// How long initdb may take (it is usually done in a few seconds).
const INITDB_TIMEOUT: Duration = Duration::from_secs(120);
/// How long postgres may take to accept connections after starting.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between readiness checks.
const READY_POLL: Duration = Duration::from_millis(100);
/// How long a fast shutdown (SIGINT) may take before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(20);
/// The same on Drop, shorter because it blocks a thread.
const DROP_GRACE: Duration = Duration::from_secs(10);
/// Fresh ports to try when another process takes ours first.
const PORT_ATTEMPTS: usize = 3;

/// A PostgreSQL cluster of the test's own, in a temp dir, listening on
/// 127.0.0.1 on a free port, user `postgres` trusted without a password.
/// Stopped and deleted on Drop.
#[derive(Debug)]
pub struct Postgres {
    /// Kept across `stop()`/`start_again()`, so clients holding `url()`
    /// reconnect to the same place.
    port: u16,
    /// The bin directory of one PostgreSQL version (initdb, postgres,
    /// pg_isready).
    bin: PathBuf,
    /// The user initdb and postgres run as when we are root.
    owner: Option<Owner>,
    /// Holds `data/` (the cluster, kept across restarts) and the unix socket.
    dir: TempDir,
    /// The running (or last) postmaster; its output outlives `stop()`.
    process: Process,
}

impl Postgres {
    /// Creates a cluster, starts postgres, and waits (up to 30 s) until it
    /// accepts connections.
    pub async fn start() -> anyhow::Result<Postgres> {
        let bin = installed::postgres_bin_dir()?;
        let owner = Owner::for_postgres()?;
        let dir = tempfile::Builder::new()
            .prefix("greenlight-postgres-")
            .tempdir()
            .context("cannot create a temp dir for PostgreSQL: check that TMPDIR is writable")?;
        if let Some(owner) = owner {
            owner.take(dir.path())?;
        }
        initdb(&bin, owner, dir.path()).await?;
        let mut attempt = 1;
        loop {
            let port = free_port();
            match launch(&bin, owner, dir.path(), port).await {
                Ok(process) => {
                    return Ok(Postgres {
                        port,
                        bin,
                        owner,
                        dir,
                        process,
                    });
                }
                Err(err) if attempt < PORT_ATTEMPTS && port_was_taken(&err) => attempt += 1,
                Err(err) => return Err(err),
            }
        }
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster process, for its output or signals.
    pub fn process(&self) -> &Process {
        &self.process
    }

    /// Prints PostgreSQL's log to stderr.
    pub fn dump(&self) {
        self.process.dump();
    }

    /// `Ok` when `pg_isready` says the server accepts connections.
    pub async fn pg_isready(&self) -> anyhow::Result<()> {
        pg_isready(&self.bin, self.port).await
    }

    /// Fast shutdown (SIGINT: clients are disconnected), SIGKILL if that
    /// takes over 20 s; returns once the postmaster has exited. The data
    /// stays for `start_again()`.
    pub async fn stop(&mut self) {
        self.process.stop_with(libc::SIGINT, STOP_GRACE).await;
    }

    /// Starts postgres again on the same port and data, and waits until it
    /// accepts connections.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        if self.process.is_running() {
            bail!(
                "PostgreSQL on port {} is still running: call stop() before start_again()",
                self.port
            );
        }
        self.process = launch(&self.bin, self.owner, self.dir.path(), self.port).await?;
        Ok(())
    }

    /// SIGSTOP to the postmaster and its backends: connections stay open but
    /// nothing answers, like a hung database.
    pub fn freeze(&self) {
        self.process.freeze();
    }

    /// SIGCONT, undoing `freeze()`.
    pub fn thaw(&self) {
        self.process.thaw();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // A clean shutdown, so no backend outlives the temp dir's removal.
        self.process.stop_blocking(libc::SIGINT, DROP_GRACE);
    }
}

async fn initdb(bin: &Path, owner: Option<Owner>, dir: &Path) -> anyhow::Result<()> {
    let mut command = tokio::process::Command::new(bin.join("initdb"));
    command
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-A", "trust", "-U", "postgres", "--no-sync"])
        // No dependence on which locales the machine has.
        .args(["--no-locale", "-E", "UTF8"])
        .env("LC_ALL", "C")
        .current_dir(dir)
        .kill_on_drop(true);
    if let Some(owner) = owner {
        command.uid(owner.uid).gid(owner.gid);
    }
    let output = tokio::time::timeout(INITDB_TIMEOUT, command.output())
        .await
        .with_context(|| format!("initdb did not finish within {INITDB_TIMEOUT:?}"))?
        .with_context(|| format!("cannot run {}", bin.join("initdb").display()))?;
    if !output.status.success() {
        bail!(
            "initdb into {} failed ({}); if it says \"Permission denied\", the postgres user cannot reach that directory: \
             point TMPDIR at one every user can traverse, such as /tmp. Its output:\n{}{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

async fn launch(
    bin: &Path,
    owner: Option<Owner>,
    dir: &Path,
    port: u16,
) -> anyhow::Result<Process> {
    let mut command = Command::new(bin.join("postgres"));
    command
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-p", &port.to_string()])
        .arg("-k")
        .arg(dir)
        .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
        .env("LC_ALL", "C")
        .current_dir(dir);
    if let Some(owner) = owner {
        // Set in the child before exec, so the postmaster itself is the
        // child: signals reach it directly (a `runuser` in between would
        // turn SIGINT into SIGTERM and swallow SIGSTOP).
        command.uid(owner.uid).gid(owner.gid);
    }
    let process = Process::from_command("postgres", command)?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let last_error = match pg_isready(bin, port).await {
            Ok(()) => return Ok(process),
            Err(err) => err,
        };
        if let Some(status) = process.exit_status() {
            bail!(
                "postgres on port {port} exited ({status}) before accepting connections; its log:\n{}",
                process.final_output().await
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "postgres on port {port} did not accept connections within {READY_TIMEOUT:?} (last check: {last_error:#}); its log:\n{}",
                process.output_so_far()
            );
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

fn port_was_taken(err: &anyhow::Error) -> bool {
    format!("{err:#}").contains("Address already in use")
}

async fn pg_isready(bin: &Path, port: u16) -> anyhow::Result<()> {
    let output = tokio::process::Command::new(bin.join("pg_isready"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "postgres", "-d", "postgres", "-t", "2"])
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("cannot run {}", bin.join("pg_isready").display()))?;
    if !output.status.success() {
        bail!(
            "pg_isready: {} ({})",
            String::from_utf8_lossy(&output.stdout).trim(),
            output.status
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::{Client, NoTls};

    async fn connect(url: &str) -> anyhow::Result<Client> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    async fn select_one(url: &str) -> i32 {
        let client = connect(url).await.unwrap();
        client.query_one("SELECT 1", &[]).await.unwrap().get(0)
    }

    #[tokio::test]
    async fn starts_stops_and_starts_again_with_its_data() {
        let mut postgres = Postgres::start().await.unwrap();
        assert_eq!(
            postgres.url(),
            format!("postgres://postgres@127.0.0.1:{}/postgres", postgres.port())
        );
        assert_eq!(select_one(&postgres.url()).await, 1);
        let client = connect(&postgres.url()).await.unwrap();
        client
            .batch_execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
            .await
            .unwrap();

        postgres.stop().await;
        assert!(!postgres.process().is_running());
        assert!(postgres.pg_isready().await.is_err());
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", postgres.port()))
                .await
                .is_err()
        );

        postgres.start_again().await.unwrap();
        let client = connect(&postgres.url()).await.unwrap();
        let kept: i32 = client
            .query_one("SELECT v FROM kept", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(kept, 42);

        let dir = postgres.dir.path().to_path_buf();
        drop(postgres);
        assert!(!dir.exists(), "Drop removes {}", dir.display());
    }

    #[tokio::test]
    async fn a_frozen_database_does_not_answer() {
        let postgres = Postgres::start().await.unwrap();
        let client = connect(&postgres.url()).await.unwrap();
        postgres.freeze();
        let query = client.query_one("SELECT 1", &[]);
        assert!(
            tokio::time::timeout(Duration::from_millis(500), query)
                .await
                .is_err()
        );
        postgres.thaw();
        assert_eq!(select_one(&postgres.url()).await, 1);
    }
}
