//! A private HAProxy running the shipped `deploy/haproxy/haproxy.cfg`, moved
//! onto a free loopback port, two backends and a temp dir (admin socket,
//! server-state file); and its runtime API, read directly.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use greenlight_testbed::{Process, eventually, free_port};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::script::{Script, deploy_dir};

/// How long HAProxy may take to start serving.
const STARTUP: Duration = Duration::from_secs(30);
/// Tries with a fresh port when another process took the free one first.
const START_ATTEMPTS: usize = 3;

/// One server as `show servers state` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub name: String,
    /// 2 = UP (running).
    pub op_state: u32,
    /// SRV_ADMF_* flags: 0x01 0x02 0x20 maintenance, 0x08 0x10 drain.
    pub admin_state: u32,
    pub weight: u32,
}

impl Server {
    /// New requests go to it: no maintenance or drain flag, weight > 0.
    pub fn takes_traffic(&self) -> bool {
        self.admin_state & (0x23 | 0x18) == 0 && self.weight > 0
    }
}

pub struct Haproxy {
    /// Config, admin socket and server-state file; removed on drop.
    dir: TempDir,
    pub port: u16,
    config: PathBuf,
    process: Process,
}

impl Haproxy {
    /// Starts HAProxy in front of `blue` and `green` ("ip:port"), as the
    /// shipped config starts it: traffic to blue.
    pub async fn start(blue: &str, green: &str) -> Haproxy {
        let dir = tempfile::tempdir().expect("a temp dir for HAProxy");
        let mut last_failure = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let config = dir.path().join("haproxy.cfg");
            std::fs::write(&config, shipped_config(dir.path(), port, blue, green))
                .expect("writing haproxy.cfg");
            match run(&config).await {
                Ok(process) => {
                    let haproxy = Haproxy {
                        dir,
                        port,
                        config,
                        process,
                    };
                    haproxy.wait_serving().await;
                    return haproxy;
                }
                Err(failure) => last_failure = format!("{failure:#}"),
            }
        }
        panic!("HAProxy did not start in {START_ATTEMPTS} attempts: {last_failure}");
    }

    /// Stops HAProxy and starts it again with the same config, the same
    /// port and the server-state file the script saved.
    pub async fn restart(&mut self) {
        self.process.terminate().await;
        self.process = run(&self.config)
            .await
            .unwrap_or_else(|failure| panic!("restarting HAProxy: {failure:#}"));
        self.wait_serving().await;
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }

    pub fn state_file(&self) -> PathBuf {
        self.dir.path().join("server-state")
    }

    /// `script` aimed at this HAProxy.
    pub fn script(&self, script: Script) -> Script {
        script
            .with("GREENLIGHT_SWITCH_BACKEND", "haproxy")
            .with("HAPROXY_SOCKET", self.socket().to_str().expect("UTF-8"))
            .with(
                "HAPROXY_STATE_FILE",
                self.state_file().to_str().expect("UTF-8"),
            )
    }

    /// One runtime API command and its answer.
    pub async fn command(&self, line: &str) -> anyhow::Result<String> {
        let mut stream = tokio::net::UnixStream::connect(self.socket())
            .await
            .with_context(|| format!("connecting to {}", self.socket().display()))?;
        stream.write_all(format!("{line}\n").as_bytes()).await?;
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
            .await
            .context("HAProxy did not answer within 10 s")??;
        Ok(answer)
    }

    /// Both servers of backend `escashop`, blue first.
    pub async fn servers(&self) -> anyhow::Result<Vec<Server>> {
        parse_servers_state(&self.command("show servers state escashop").await?)
    }

    /// Where new requests go: "blue", "green", "both" or "none".
    pub async fn live(&self) -> String {
        let servers = self.servers().await.expect("reading HAProxy's servers");
        let taking: Vec<&str> = servers
            .iter()
            .filter(|server| server.takes_traffic())
            .map(|server| server.name.as_str())
            .collect();
        match taking.as_slice() {
            [one] => (*one).to_owned(),
            [] => "none".to_owned(),
            _ => "both".to_owned(),
        }
    }

    /// Until the admin socket answers and a request through HAProxy comes
    /// back from the color its servers' state says is live.
    async fn wait_serving(&self) {
        let url = self.url();
        eventually("HAProxy to serve", STARTUP, || async {
            let live = match self.servers().await {
                Ok(servers) => servers
                    .into_iter()
                    .find(|server| server.takes_traffic() && server.op_state == 2)
                    .map(|server| server.name),
                Err(error) => return Err(format!("{error:#}")),
            };
            let Some(live) = live else {
                return Err("no server is UP and taking traffic yet".to_owned());
            };
            let color = super::load::color_of(&url).await?;
            if color == live {
                Ok(())
            } else {
                Err(format!("{live} is live but {color} answered"))
            }
        })
        .await;
    }
}

/// `haproxy -f CONFIG -db` (foreground), once it is up or has exited.
async fn run(config: &Path) -> anyhow::Result<Process> {
    let process = Process::spawn(
        "haproxy",
        &["-f", config.to_str().expect("UTF-8"), "-db"],
        &[],
    )
    .context("starting haproxy (apt-get install haproxy; tests/run.sh installs it)")?;
    let socket = config.with_file_name("admin.sock");
    let deadline = std::time::Instant::now() + STARTUP;
    loop {
        if let Some(status) = process.wait_exit(Duration::ZERO).await {
            bail!("haproxy exited ({status}): {}", process.output_so_far());
        }
        if tokio::net::UnixStream::connect(&socket).await.is_ok() {
            return Ok(process);
        }
        if std::time::Instant::now() > deadline {
            process.dump();
            bail!("haproxy opened no admin socket within {STARTUP:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The shipped config, rewritten line by line for this machine: no chroot,
/// user or daemon mode, and paths, port and backends of the test. Each
/// rewrite must find its text, so a change to the shipped file that the
/// test no longer covers fails here.
fn shipped_config(dir: &Path, port: u16, blue: &str, green: &str) -> String {
    let path = deploy_dir().join("haproxy/haproxy.cfg");
    let mut text = std::fs::read_to_string(&path).expect("reading deploy/haproxy/haproxy.cfg");
    let socket = dir.join("admin.sock");
    let state = dir.join("server-state");
    let rewrites = [
        ("    log /dev/log local0\n", String::new()),
        ("    chroot /var/lib/haproxy\n", String::new()),
        ("    user haproxy\n", String::new()),
        ("    group haproxy\n", String::new()),
        ("    daemon\n", String::new()),
        ("/run/haproxy/admin.sock", socket.display().to_string()),
        (
            "/var/lib/greenlight/haproxy-server-state",
            state.display().to_string(),
        ),
        (
            "    bind 0.0.0.0:80\n",
            format!("    bind 127.0.0.1:{port}\n"),
        ),
        (
            "server blue 127.0.0.1:5000 ",
            format!("server blue {blue} "),
        ),
        (
            "server green 127.0.0.1:5001 ",
            format!("server green {green} "),
        ),
    ];
    for (from, to) in rewrites {
        assert!(
            text.contains(from),
            "{} no longer contains {from:?}: update the test's rewrite",
            path.display()
        );
        text = text.replace(from, &to);
    }
    text
}

/// Parses `show servers state` by its header line, as the script does.
fn parse_servers_state(answer: &str) -> anyhow::Result<Vec<Server>> {
    let header = answer
        .lines()
        .find_map(|line| line.strip_prefix("# "))
        .with_context(|| format!("no header in {answer:?}"))?;
    let columns: Vec<&str> = header.split_whitespace().collect();
    let column = |name: &str| {
        columns
            .iter()
            .position(|column| *column == name)
            .with_context(|| format!("no column {name} in {header:?}"))
    };
    let (name, op, admin, weight) = (
        column("srv_name")?,
        column("srv_op_state")?,
        column("srv_admin_state")?,
        column("srv_uweight")?,
    );
    answer
        .lines()
        .filter(|line| !line.starts_with('#') && line.split_whitespace().count() == columns.len())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Ok(Server {
                name: fields[name].to_owned(),
                op_state: fields[op].parse()?,
                admin_state: fields[admin].parse()?,
                weight: fields[weight].parse()?,
            })
        })
        .collect()
}
