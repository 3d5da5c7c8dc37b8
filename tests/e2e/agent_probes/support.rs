//! The peers these tests start (a simulated backend on a chosen port, a
//! password-protected redis-server, an aggregator logging what it
//! accepts, the agent itself) and the agent's face, read over HTTP.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use greenlight_testbed::{Process, binary, eventually, free_port};
use serde_json::Value;

use crate::bed::Bed;
use crate::report_log::ACCEPTED_REPORTS_LOG;

/// How long a started process may take to say it is ready.
const STARTUP: Duration = Duration::from_secs(30);

/// A simulated backend on `port` sending itself `rps` requests a second.
pub async fn backend(port: u16, rps: u32) -> Process {
    let process = Process::spawn(
        binary("greenlight-simbackend"),
        &[
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--color",
            "green",
            "--app-version",
            "v3.1.0",
            "--self-load-rps",
            &rps.to_string(),
        ],
        &[],
    )
    .expect("starting greenlight-simbackend");
    process
        .wait_for_line("greenlight-simbackend listening on", STARTUP)
        .await;
    process
}

/// Flips the backend's fault switches, e.g. `{"error_ratio":0.1}`.
pub async fn control(port: u16, switches: &str) {
    let response = reqwest::Client::new()
        .put(format!("http://127.0.0.1:{port}/control"))
        .body(switches.to_string())
        .send()
        .await
        .expect("PUT /control");
    assert!(
        response.status().is_success(),
        "PUT /control {switches}: {}",
        response.status()
    );
}

/// A redis-server on `port` that wants `password` (AUTH).
pub async fn redis_with_password(dir: &std::path::Path, port: u16, password: &str) -> Process {
    let process = Process::spawn(
        "redis-server",
        &[
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            password,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir.to_str().expect("temp paths are UTF-8"),
        ],
        &[],
    )
    .expect("starting redis-server (apt-get install redis-server)");
    process
        .wait_for_line("Ready to accept connections", STARTUP)
        .await;
    process
}

/// The aggregator on the bed's port, logging each accepted report's
/// sequence (debug level of its agent stream module).
pub async fn aggregator(bed: &Bed) -> Process {
    aggregator_on(bed, bed.aggregator_port).await
}

/// An aggregator as [`aggregator`], on `port` (one of several side by side).
pub async fn aggregator_on(bed: &Bed, port: u16) -> Process {
    let config = bed
        .dir
        .path()
        .join(format!("aggregator-probes-{port}.toml"));
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ntick = \"100ms\"\n[defaults]\nready_after = \"1s\"\n"
        ),
    )
    .expect("writing the aggregator's config");
    let process = Process::spawn(
        binary("greenlight-aggregator"),
        &["--config", config.to_str().expect("temp paths are UTF-8")],
        &[("RUST_LOG", ACCEPTED_REPORTS_LOG)],
    )
    .expect("starting greenlight-aggregator");
    process
        .wait_for_line("greenlight-aggregator listening on", STARTUP)
        .await;
    process
}

/// A running agent and its face.
pub struct Agent {
    pub process: Process,
    pub face: Face,
}

/// Starts `greenlight-agent` with `checks` (TOML tables) and `head` (top
/// level keys), serving its face on a free port; reports go to the bed's
/// aggregator port.
pub fn agent(bed: &Bed, instance: &str, head: &str, checks: &str) -> Agent {
    agent_to(bed, &bed.aggregator_url(), instance, head, checks)
}

/// An agent as [`agent`], reporting to `aggregator` (the key's value: one
/// address or several separated by commas).
pub fn agent_to(bed: &Bed, aggregator: &str, instance: &str, head: &str, checks: &str) -> Agent {
    let port = free_port();
    let path: PathBuf = bed.dir.path().join(format!("agent-{instance}.toml"));
    std::fs::write(
        &path,
        format!(
            "aggregator = \"{aggregator}\"\ndeployment = \"escashop\"\ncolor = \"green\"\n\
             instance_id = \"{instance}\"\nlisten = \"127.0.0.1:{port}\"\n{head}\n{checks}"
        ),
    )
    .expect("writing the agent's config");
    let process = Process::spawn(
        binary("greenlight-agent"),
        &["--config", path.to_str().expect("temp paths are UTF-8")],
        &[("RUST_LOG", "info")],
    )
    .expect("starting greenlight-agent");
    Agent {
        process,
        face: Face::new(port),
    }
}

/// The agent's `/health` and `/metrics`.
pub struct Face {
    base: String,
    client: reqwest::Client,
}

impl Face {
    fn new(port: u16) -> Face {
        Face {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("an HTTP client"),
        }
    }

    pub async fn health(&self) -> anyhow::Result<Value> {
        let response = self
            .client
            .get(format!("{}/health", self.base))
            .send()
            .await
            .context("GET /health")?;
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_string();
        if content_type != "application/health+json" {
            bail!("/health answered {content_type:?}");
        }
        let text = response.text().await?;
        Ok(serde_json::from_str(&text)?)
    }

    /// The first entry of `key`, e.g. `postgres:responseTime`.
    pub async fn entry(&self, key: &str) -> anyhow::Result<Value> {
        let health = self.health().await?;
        match health["checks"][key].get(0) {
            Some(entry) => Ok(entry.clone()),
            None => bail!("no {key} in {health}"),
        }
    }

    /// Waits until `key`'s entry has `status`; returns the entry.
    pub async fn wait_status(&self, key: &str, status: &str, timeout: Duration) -> Value {
        eventually(&format!("{key} to be {status}"), timeout, || async {
            let entry = self.entry(key).await?;
            if entry["status"] == status {
                Ok(entry)
            } else {
                Err(anyhow::anyhow!("{key} is {entry}"))
            }
        })
        .await
    }

    /// The value of an unlabelled series in `/metrics`.
    pub async fn metric(&self, name: &str) -> anyhow::Result<f64> {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .context("GET /metrics")?
            .text()
            .await?;
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .with_context(|| format!("no {name} in /metrics"))
    }

    /// Waits until the agent answers at all.
    pub async fn wait_up(&self) {
        eventually("the agent's /health", STARTUP, || self.health()).await;
    }
}

/// Resident memory of `pid` in bytes, from `/proc/<pid>/status`.
pub fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the agent runs");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kib * 1024
}
