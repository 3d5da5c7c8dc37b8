//! Running `deploy/switch-traffic` as a process, with an environment that
//! names only what the test set up.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use greenlight_testbed::{binary, free_port};

/// Longer than the script ever needs (its own waits are 10 s at most).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Variables the script reads: removed from the inherited environment so a
/// setting on the machine running the tests cannot steer them.
const SCRIPT_VARIABLES: &[&str] = &[
    "GREENLIGHT_SWITCH_BACKEND",
    "GREENLIGHT_DEPLOYMENT",
    "GREENLIGHT_BIN",
    "GREENLIGHT_AGGREGATOR",
    "GREENLIGHT_EPOCH",
    "GREENLIGHT_ACTION",
    "GREENLIGHT_CAUSE",
    "GREENLIGHT_DIRECTION",
    "GREENLIGHT_FROM",
    "GREENLIGHT_TO",
    "GREENLIGHT_VERDICT",
    "DEPLOYMENTS_LOG",
    "SWITCH_VERIFY_TIMEOUT",
    "HAPROXY_SOCKET",
    "HAPROXY_BACKEND",
    "HAPROXY_BLUE_SERVER",
    "HAPROXY_GREEN_SERVER",
    "HAPROXY_WEIGHT",
    "HAPROXY_STATE_FILE",
    "NGINX_SITE",
    "NGINX_CONFIGS",
    "NGINX_BIN",
    "NGINX_ARGS",
    "NGINX_VERIFY_URL",
];

/// The shipped deploy kit.
pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .canonicalize()
        .expect("the deploy/ directory next to tests/")
}

/// How one run of the script ended.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// When the script was started and when it had exited.
    pub started: Instant,
    pub returned: Instant,
}

impl Outcome {
    /// Both streams, for messages and `contains` checks.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Panics, showing what the script printed, unless it exited `code`.
    pub fn expect_code(&self, code: i32, what: &str) -> &Self {
        assert_eq!(
            self.code, code,
            "{what}: switch-traffic exited {} instead of {code}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Panics unless the output contains `text`.
    pub fn expect_said(&self, text: &str) -> &Self {
        assert!(
            self.output().contains(text),
            "switch-traffic did not say {text:?}\n--- stdout\n{}--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// The script with its environment.
#[derive(Clone, Debug)]
pub struct Script {
    env: Vec<(String, String)>,
}

impl Script {
    /// The deployments log (and the epoch and lock files beside it) in
    /// `dir`; the verdict gate asks the real CLI, pointed at a port nothing
    /// listens on until a test says otherwise.
    pub fn new(dir: &Path) -> Script {
        Script { env: Vec::new() }
            .with(
                "DEPLOYMENTS_LOG",
                dir.join("log/deployments.log").to_str().expect("UTF-8"),
            )
            .with(
                "GREENLIGHT_BIN",
                binary("greenlight").to_str().expect("UTF-8"),
            )
            .with(
                "GREENLIGHT_AGGREGATOR",
                &format!("http://127.0.0.1:{}", free_port()),
            )
    }

    /// The same with `name=value` added (or replaced).
    pub fn with(mut self, name: &str, value: &str) -> Script {
        self.env.retain(|(existing, _)| existing != name);
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The variables the script runs with (an aggregator's hooks inherit them).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    pub fn log_path(&self) -> PathBuf {
        PathBuf::from(self.var("DEPLOYMENTS_LOG").expect("set in new()"))
    }

    /// The deployments log's lines (none before the first switch).
    pub fn log_lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.log_path())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(existing, _)| existing == name)
            .map(|(_, value)| value.as_str())
    }

    pub async fn run(&self, args: &[&str]) -> Outcome {
        let mut command = tokio::process::Command::new(deploy_dir().join("switch-traffic"));
        for name in SCRIPT_VARIABLES {
            command.env_remove(name);
        }
        command
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true);
        let started = Instant::now();
        let output = tokio::time::timeout(SCRIPT_TIMEOUT, command.output())
            .await
            .unwrap_or_else(|_| {
                panic!("switch-traffic {args:?} still ran after {SCRIPT_TIMEOUT:?}")
            })
            .expect("running deploy/switch-traffic");
        Outcome {
            code: output
                .status
                .code()
                .expect("switch-traffic exited, not killed"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            started,
            returned: Instant::now(),
        }
    }
}
