//! A blue/green deployment on this machine: the aggregator, simulated
//! backends and agents as processes, configured through files as an
//! operator would, plus the CLI and a raw gRPC client to ask them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use greenlight_proto::v1::verdict_service_client::VerdictServiceClient;
use greenlight_proto::v1::{GetVerdictRequest, Transition, Verdict};
use greenlight_testbed::{Process, binary, eventually, free_port};
use tempfile::TempDir;

mod stored;

pub use stored::{
    fill_history, history, history_all, history_all_of, history_field, json_key_where,
};

pub const DEPLOYMENT: &str = "escashop";
/// Generous: the machine is shared and noisy.
pub const SETTLE: Duration = Duration::from_secs(60);
const STARTUP: Duration = Duration::from_secs(30);

pub struct Dependencies<'a> {
    pub postgres: Option<&'a str>,
    pub redis: Option<&'a str>,
}

/// A directory for config files, kept until the test ends.
pub struct Bed {
    pub dir: TempDir,
    pub aggregator_port: u16,
}

impl Bed {
    pub fn new() -> Bed {
        Bed {
            dir: tempfile::tempdir().expect("a temp dir for configs"),
            aggregator_port: free_port(),
        }
    }

    pub fn aggregator_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.aggregator_port)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("writing a config file");
        path
    }

    /// Starts the aggregator on `aggregator_port` (the same port on every
    /// call, so a restart is found where the agents look).
    pub async fn aggregator(&self, redis_url: Option<&str>, ready_after: &str) -> Process {
        self.aggregator_with(redis_url, &format!("ready_after = \"{ready_after}\""))
            .await
    }

    /// The same, with `defaults` (TOML lines) for every deployment.
    pub async fn aggregator_with(&self, redis_url: Option<&str>, defaults: &str) -> Process {
        self.aggregator_with_env(redis_url, defaults, &[]).await
    }

    /// The same, with more environment (its hooks inherit it).
    pub async fn aggregator_with_env(
        &self,
        redis_url: Option<&str>,
        defaults: &str,
        env: &[(&str, &str)],
    ) -> Process {
        let redis = redis_url
            .map(|url| format!("[redis]\nurl = \"{url}\"\nverdict_ttl = \"10s\"\n"))
            .unwrap_or_default();
        self.aggregator_toml(&format!("{redis}[defaults]\n{defaults}\n"), env)
            .await
    }

    /// Starts the aggregator with `sections` (TOML tables: `[tls]`,
    /// `[redis]`, `[defaults]`, ...) after its `listen` and `tick`; it logs
    /// at `info` unless `env` sets `RUST_LOG`.
    pub async fn aggregator_toml(&self, sections: &str, env: &[(&str, &str)]) -> Process {
        let config = self.write(
            "aggregator.toml",
            &format!(
                "listen = \"127.0.0.1:{}\"\ntick = \"100ms\"\n{sections}",
                self.aggregator_port
            ),
        );
        let mut env = env.to_vec();
        if !env.iter().any(|(name, _)| *name == "RUST_LOG") {
            env.push(("RUST_LOG", "info"));
        }
        let process = Process::spawn(
            binary("greenlight-aggregator"),
            &["--config", path_str(&config)],
            &env,
        )
        .expect("starting greenlight-aggregator");
        process
            .wait_for_line("greenlight-aggregator listening on", STARTUP)
            .await;
        process
    }

    /// Starts a simulated backend sending itself 20 requests a second.
    pub async fn backend(&self, color: &str, version: &str) -> (Process, String) {
        self.backend_with_load(color, version, 20).await
    }

    /// The same, sending itself `rps` requests a second.
    pub async fn backend_with_load(
        &self,
        color: &str,
        version: &str,
        rps: u32,
    ) -> (Process, String) {
        let rps = rps.to_string();
        let process = Process::spawn(
            binary("greenlight-simbackend"),
            &[
                "--color",
                color,
                "--app-version",
                version,
                "--self-load-rps",
                &rps,
            ],
            &[],
        )
        .expect("starting greenlight-simbackend");
        let line = process
            .wait_for_line("greenlight-simbackend listening on", STARTUP)
            .await;
        let address = line
            .rsplit(' ')
            .next()
            .expect("an address")
            .trim()
            .to_string();
        (process, address)
    }

    /// Starts an agent beside `backend` checking every dependency given.
    pub fn agent(
        &self,
        color: &str,
        instance: &str,
        backend: &str,
        dependencies: Dependencies<'_>,
        interval: &str,
    ) -> Process {
        let config = self.agent_config(color, instance, backend, dependencies, interval);
        spawn_agent(&config)
    }

    /// Writes the config `agent` starts an agent with, for a test that runs
    /// the agent itself (under a wrapper such as `faketime`).
    pub fn agent_config(
        &self,
        color: &str,
        instance: &str,
        backend: &str,
        dependencies: Dependencies<'_>,
        interval: &str,
    ) -> PathBuf {
        self.agent_config_to(
            &self.aggregator_url(),
            "",
            color,
            instance,
            backend,
            dependencies,
            interval,
        )
    }

    /// An agent reporting to `aggregator` (e.g. `https://...`) with
    /// `tables` (TOML tables such as `[tls]`) in its config.
    pub fn agent_to(
        &self,
        aggregator: &str,
        tables: &str,
        color: &str,
        instance: &str,
        backend: &str,
    ) -> Process {
        let no_dependencies = Dependencies {
            postgres: None,
            redis: None,
        };
        let config = self.agent_config_to(
            aggregator,
            tables,
            color,
            instance,
            backend,
            no_dependencies,
            "500ms",
        );
        spawn_agent(&config)
    }

    #[allow(clippy::too_many_arguments)]
    fn agent_config_to(
        &self,
        aggregator: &str,
        tables: &str,
        color: &str,
        instance: &str,
        backend: &str,
        dependencies: Dependencies<'_>,
        interval: &str,
    ) -> PathBuf {
        let mut checks = format!(
            "[checks.http]\nurl = \"http://{backend}/health\"\n[checks.traffic]\nurl = \"http://{backend}/metrics\"\n"
        );
        if let Some(url) = dependencies.postgres {
            checks.push_str(&format!("[checks.postgres]\nurl = \"{url}\"\n"));
        }
        if let Some(url) = dependencies.redis {
            checks.push_str(&format!("[checks.redis]\nurl = \"{url}\"\n"));
        }
        self.write(
            &format!("agent-{instance}.toml"),
            &format!(
                "aggregator = \"{aggregator}\"\ndeployment = \"{DEPLOYMENT}\"\ncolor = \"{color}\"\ninstance_id = \"{instance}\"\nbackend_version = \"v-{color}\"\ninterval = \"{interval}\"\n{tables}\n{checks}"
            ),
        )
    }

    /// Runs the CLI against this bed's aggregator: (exit code, stdout, stderr).
    pub async fn cli(&self, args: &[&str]) -> (i32, String, String) {
        self.cli_at(&self.aggregator_url(), args).await
    }

    /// Runs the CLI with `--aggregator <aggregator>`.
    pub async fn cli_at(&self, aggregator: &str, args: &[&str]) -> (i32, String, String) {
        let output = tokio::time::timeout(
            Duration::from_secs(120),
            tokio::process::Command::new(binary("greenlight"))
                .arg("--aggregator")
                .arg(aggregator)
                .args(args)
                .env_remove("GREENLIGHT_TOKEN")
                .output(),
        )
        .await
        .expect("the CLI finished within 120 s")
        .expect("running greenlight");
        (
            output.status.code().expect("the CLI exited, not killed"),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    pub async fn verdict_client(&self) -> VerdictServiceClient<tonic::transport::Channel> {
        let url = self.aggregator_url();
        eventually("connecting to the aggregator", STARTUP, || {
            VerdictServiceClient::connect(url.clone())
        })
        .await
    }

    /// Waits until the verdict satisfies `condition`; returns it.
    pub async fn verdict_where(
        &self,
        what: &str,
        timeout: Duration,
        condition: impl Fn(&Verdict) -> bool,
    ) -> Verdict {
        verdict_where_on(self.verdict_client().await, what, timeout, condition).await
    }
}

/// The latest transition of `verdict` into `phase`; panics without one.
pub fn entered(verdict: &Verdict, phase: greenlight_proto::v1::Phase) -> &Transition {
    verdict
        .transitions
        .iter()
        .rev()
        .find(|t| t.to() == phase)
        .unwrap_or_else(|| panic!("no transition to {phase:?} in {:?}", verdict.transitions))
}

/// When `verdict` last entered `phase`.
pub fn entered_at(verdict: &Verdict, phase: greenlight_proto::v1::Phase) -> std::time::SystemTime {
    entered(verdict, phase)
        .at
        .as_ref()
        .and_then(greenlight_proto::time::from_timestamp)
        .expect("a transition has its time")
}

/// Waits until the verdict `client` gets satisfies `condition`; returns it.
pub async fn verdict_where_on(
    client: VerdictServiceClient<tonic::transport::Channel>,
    what: &str,
    timeout: Duration,
    condition: impl Fn(&Verdict) -> bool,
) -> Verdict {
    eventually(what, timeout, || {
        let mut client = client.clone();
        let condition = &condition;
        async move {
            let verdict = client
                .get_verdict(GetVerdictRequest {
                    deployment: DEPLOYMENT.into(),
                })
                .await
                .map_err(|status| format!("{status:?}"))?
                .into_inner();
            if condition(&verdict) {
                Ok(verdict)
            } else {
                Err(format!(
                    "decision {:?}, reasons {:?}",
                    verdict.decision(),
                    verdict
                        .reasons
                        .iter()
                        .map(|r| &r.message)
                        .collect::<Vec<_>>()
                ))
            }
        }
    })
    .await
}

/// An agent started with the config at `config`.
fn spawn_agent(config: &Path) -> Process {
    Process::spawn(
        binary("greenlight-agent"),
        &["--config", path_str(config)],
        &[("RUST_LOG", "info")],
    )
    .expect("starting greenlight-agent")
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// A blue and a green simulated backend, each with its agent (http and
/// traffic checks, plus `redis` when given), running until dropped.
pub struct Pair {
    pub green: String,
    /// Kept alive for the pair's lifetime.
    _processes: Vec<Process>,
}

impl Bed {
    pub async fn pair(&self, redis: Option<&str>) -> Pair {
        let (blue_backend, blue) = self.backend("blue", "v3.0.0").await;
        let (green_backend, green) = self.backend("green", "v3.1.0").await;
        let deps = || Dependencies {
            postgres: None,
            redis,
        };
        let blue_agent = self.agent("blue", "blue-1", &blue, deps(), "500ms");
        let green_agent = self.agent("green", "green-1", &green, deps(), "500ms");
        Pair {
            green,
            _processes: vec![blue_backend, green_backend, blue_agent, green_agent],
        }
    }

    /// Waits for READY, then asks for the cutover (the gRPC call) and waits
    /// for the bake to start.
    pub async fn cut_over_when_ready(&self) -> Verdict {
        self.verdict_where("green READY", SETTLE, |v| {
            v.decision() == greenlight_proto::v1::Decision::Ready
        })
        .await;
        let mut client = self.verdict_client().await;
        let answer = client
            .cutover(greenlight_proto::v1::CutoverRequest {
                deployment: DEPLOYMENT.into(),
                force: false,
                requested_by: "e2e".into(),
            })
            .await
            .expect("cutover of a READY candidate is accepted")
            .into_inner();
        assert!(answer.accepted, "{answer:?}");
        self.verdict_where("baking", SETTLE, |v| {
            v.phase() == greenlight_proto::v1::Phase::Baking
        })
        .await
    }
}

/// Sets a simulated backend's fault switches (`PUT /control`).
pub async fn set_switches(backend: &str, json: &str) {
    let response = reqwest::Client::new()
        .put(format!("http://{backend}/control"))
        .body(json.to_string())
        .send()
        .await
        .expect("the backend's control endpoint answers");
    assert!(
        response.status().is_success(),
        "{json}: {}",
        response.status()
    );
}
