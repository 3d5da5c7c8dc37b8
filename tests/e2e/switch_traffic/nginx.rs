//! A private nginx serving the shipped `deploy/nginx/nginx.<color>.conf` as
//! its one site, moved onto a free loopback port and two backends, with
//! everything it writes in a temp dir.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use greenlight_testbed::{Process, eventually, free_port};
use tempfile::TempDir;

use super::load::color_of;
use super::script::{Script, deploy_dir};

/// How long nginx may take to start serving.
const STARTUP: Duration = Duration::from_secs(30);
/// Tries with a fresh port when another process took the free one first.
const START_ATTEMPTS: usize = 3;

pub struct Nginx {
    /// nginx.conf, the site, the color configs, logs, pid and temp files.
    dir: TempDir,
    pub port: u16,
    /// Stopped (with its workers) on drop.
    _process: Process,
}

impl Nginx {
    /// Starts nginx in front of `blue` and `green` ("ip:port") with the
    /// site set to nginx.blue.conf, as the guide's Normal state.
    pub async fn start(blue: &str, green: &str) -> Nginx {
        let dir = tempfile::tempdir().expect("a temp dir for nginx");
        let mut last_failure = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            write_configs(dir.path(), port, blue, green);
            match run(dir.path(), port).await {
                Ok(process) => {
                    return Nginx {
                        dir,
                        port,
                        _process: process,
                    };
                }
                Err(failure) => last_failure = format!("{failure:#}"),
            }
        }
        panic!("nginx did not start in {START_ATTEMPTS} attempts: {last_failure}");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The file the script swaps (sites-enabled/escashop.conf in the guide).
    pub fn site(&self) -> PathBuf {
        self.dir.path().join("sites/escashop.conf")
    }

    /// Where nginx.blue.conf and nginx.green.conf are (the guide's configs/).
    pub fn configs(&self) -> PathBuf {
        self.dir.path().join("configs")
    }

    /// `script` aimed at this nginx.
    pub fn script(&self, script: Script) -> Script {
        script
            .with("GREENLIGHT_SWITCH_BACKEND", "nginx")
            .with("NGINX_BIN", "nginx")
            .with("NGINX_ARGS", &args(self.dir.path()).join(" "))
            .with("NGINX_SITE", self.site().to_str().expect("UTF-8"))
            .with("NGINX_CONFIGS", self.configs().to_str().expect("UTF-8"))
            .with(
                "NGINX_VERIFY_URL",
                &format!("http://127.0.0.1:{}/health", self.port),
            )
    }
}

/// What every nginx call needs to find this instance: its config, its
/// prefix and its error log (nginx opens one before it reads the config).
fn args(dir: &Path) -> Vec<String> {
    let path = |name: &str| dir.join(name).display().to_string();
    vec![
        "-c".into(),
        path("nginx.conf"),
        "-p".into(),
        format!("{}/", dir.display()),
        "-e".into(),
        path("error.log"),
    ]
}

/// `nginx ... -g 'daemon off;'`, once it serves blue or has exited.
async fn run(dir: &Path, port: u16) -> anyhow::Result<Process> {
    let mut arguments = args(dir);
    arguments.extend(["-g".into(), "daemon off;".into()]);
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let process = Process::spawn("nginx", &arguments, &[])
        .context("starting nginx (apt-get install nginx; tests/run.sh installs it)")?;
    let url = format!("http://127.0.0.1:{port}/");
    let deadline = std::time::Instant::now() + STARTUP;
    loop {
        if let Some(status) = process.wait_exit(Duration::ZERO).await {
            let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            bail!(
                "nginx exited ({status}): {}\n{log}",
                process.output_so_far()
            );
        }
        match color_of(&url).await {
            Ok(color) if color == "blue" => return Ok(process),
            Ok(color) => bail!("nginx started with {color}, not blue"),
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(failure) => bail!("nginx did not serve within {STARTUP:?}: {failure}"),
        }
    }
}

/// nginx.conf (the `http` block the guide's site is included in), and the
/// shipped color configs rewritten for this port and these backends.
fn write_configs(dir: &Path, port: u16, blue: &str, green: &str) {
    let configs = dir.join("configs");
    let sites = dir.join("sites");
    for sub in [&configs, &sites] {
        std::fs::create_dir_all(sub).expect("creating nginx's directories");
    }
    for color in ["blue", "green"] {
        let path = deploy_dir().join(format!("nginx/nginx.{color}.conf"));
        let mut text = std::fs::read_to_string(&path).expect("reading a shipped nginx config");
        let rewrites = [
            (
                "listen 0.0.0.0:80 default_server;",
                format!("listen 127.0.0.1:{port} default_server;"),
            ),
            ("server 127.0.0.1:5000;", format!("server {blue};")),
            ("server 127.0.0.1:5001;", format!("server {green};")),
        ];
        let mut found = 0;
        for (from, to) in rewrites {
            if text.contains(from) {
                found += 1;
                text = text.replace(from, &to);
            }
        }
        assert_eq!(
            found,
            2,
            "{} should have `listen 0.0.0.0:80 default_server;` and one upstream server on 5000 or 5001: update the test's rewrite",
            path.display()
        );
        std::fs::write(configs.join(format!("nginx.{color}.conf")), text)
            .expect("writing a color config");
    }
    std::fs::copy(configs.join("nginx.blue.conf"), sites.join("escashop.conf"))
        .expect("the site starts as blue");
    let at = |name: &str| dir.join(name).display().to_string();
    // As root the workers would run as `nobody`, which cannot enter the temp dir.
    // SAFETY: geteuid(2) has no preconditions and touches no memory of ours.
    let user = if unsafe { libc::geteuid() } == 0 {
        "user root;\n"
    } else {
        ""
    };
    let main = format!(
        "{user}worker_processes 1;\npid {pid};\nerror_log {log} notice;\nevents {{ worker_connections 512; }}\nhttp {{\n    access_log off;\n    client_body_temp_path {body};\n    proxy_temp_path {proxy};\n    fastcgi_temp_path {fastcgi};\n    uwsgi_temp_path {uwsgi};\n    scgi_temp_path {scgi};\n    include {sites}/*.conf;\n}}\n",
        pid = at("nginx.pid"),
        log = at("error.log"),
        body = at("client_body"),
        proxy = at("proxy"),
        fastcgi = at("fastcgi"),
        uwsgi = at("uwsgi"),
        scgi = at("scgi"),
        sites = sites.display(),
    );
    std::fs::write(dir.join("nginx.conf"), main).expect("writing nginx.conf");
}

/// Until nginx, after a switch, answers from `color` on a new connection.
pub async fn wait_color(nginx: &Nginx, color: &str) {
    let url = nginx.url();
    eventually(&format!("nginx to serve {color}"), STARTUP, || async {
        match color_of(&url).await {
            Ok(served) if served == color => Ok(()),
            Ok(served) => Err(format!("{served} answered")),
            Err(failure) => Err(failure),
        }
    })
    .await;
}
