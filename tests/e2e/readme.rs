//! Issue 12: the README's "Using it" block, run as written. Each line of
//! the block is given to bash from the repository's root, in order, as a
//! newcomer would type it; the daemons it starts with `&` run beside the
//! test. What differs from the newcomer's machine is only the environment:
//! it moves every port onto a free one (Redis, PostgreSQL, the backends,
//! HAProxy, the aggregator) and points the hooks at the repository's
//! `deploy/switch-traffic`, as the README's prose says to install it.
//!
//! After the lines that move traffic, the test also checks HAProxy itself.

use std::path::PathBuf;
use std::time::Duration;

use greenlight_testbed::{Postgres, Process, RedisServer, binary, eventually, free_port};

use crate::bed::{Bed, SETTLE};
use crate::switch_traffic::haproxy::Haproxy;
use crate::switch_traffic::script::{Script, deploy_dir};

/// Longer than any line needs (the block's `wait` allows 300 s).
const LINE_LIMIT: Duration = Duration::from_secs(330);

fn repository() -> PathBuf {
    deploy_dir()
        .parent()
        .expect("deploy/ is inside the repository")
        .to_path_buf()
}

/// The lines of the first ```sh block after "## Using it", blank lines
/// left out.
fn using_it_block(readme: &str) -> Vec<String> {
    let section = readme
        .split_once("\n## Using it")
        .expect("README.md has a \"## Using it\" section")
        .1;
    let block = section
        .split_once("```sh\n")
        .expect("the Using it section has a ```sh block")
        .1
        .split_once("```")
        .expect("the block is closed")
        .0;
    block
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The command without its trailing `# comment` (a `#` after whitespace,
/// outside quotes), and whether it ends with `&`.
fn command_of(line: &str) -> (String, bool) {
    let mut quote = None;
    let mut previous = ' ';
    let mut end = line.len();
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, '#') if previous.is_whitespace() => {
                end = at;
                break;
            }
            _ => {}
        }
        previous = c;
    }
    let command = line[..end].trim();
    match command.strip_suffix('&') {
        Some(background) => (background.trim().to_string(), true),
        None => (command.to_string(), false),
    }
}

#[test]
fn comments_and_background_are_read_like_bash_reads_them() {
    assert_eq!(
        command_of("greenlight-agent --config a.toml &     # beside it"),
        ("greenlight-agent --config a.toml".into(), true)
    );
    assert_eq!(
        command_of(r#"greenlight pause x --reason "not # a comment"; greenlight resume x  # why"#),
        (
            r#"greenlight pause x --reason "not # a comment"; greenlight resume x"#.into(),
            false
        )
    );
    assert_eq!(
        command_of("greenlight verdict escashop --json | jq .reasons"),
        (
            "greenlight verdict escashop --json | jq .reasons".into(),
            false
        )
    );
}

/// One machine's worth of set-up, on free ports.
struct Machine {
    repository: PathBuf,
    /// PATH with the workspace's binaries first.
    path: String,
    /// For every command: the CLI's (and the agents') aggregator.
    common: Vec<(String, String)>,
    aggregator: Vec<(String, String)>,
    blue_agent: Vec<(String, String)>,
    green_agent: Vec<(String, String)>,
    /// The switch script's: HAProxy's socket, the deployments log.
    script: Vec<(String, String)>,
}

impl Machine {
    /// The environment of `command`: what a newcomer's machine has at the
    /// standard places, here at free ports.
    fn env(&self, command: &str) -> Vec<(String, String)> {
        let mut env = vec![("PATH".to_string(), self.path.clone())];
        env.extend(self.common.iter().cloned());
        if command.starts_with("greenlight-aggregator") {
            env.extend(self.aggregator.iter().cloned());
            env.extend(self.script.iter().cloned());
        } else if command.contains("agent-blue.toml") {
            env.extend(self.blue_agent.iter().cloned());
        } else if command.contains("agent-green.toml") {
            env.extend(self.green_agent.iter().cloned());
        } else if command.contains("switch-traffic") {
            env.extend(self.script.iter().cloned());
        }
        env
    }

    fn bash(&self, command: &str) -> tokio::process::Command {
        let mut bash = tokio::process::Command::new("bash");
        bash.arg("-c")
            .arg(format!("set -o pipefail; {command}"))
            .current_dir(&self.repository)
            .env_clear()
            .envs(self.env(command))
            .env("HOME", std::env::var("HOME").unwrap_or_default());
        bash
    }

    fn spawn(&self, command: &str) -> Process {
        let mut bash = std::process::Command::new("bash");
        bash.arg("-c")
            .arg(format!("exec {command}"))
            .current_dir(&self.repository)
            .env_clear()
            .envs(self.env(command));
        let name = command.split_whitespace().next().unwrap_or("bash");
        Process::from_command(name, bash).expect("starting a daemon of the block")
    }
}

fn pairs(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.clone()))
        .collect()
}

fn agent_env(
    aggregator_port: u16,
    postgres: &str,
    redis: &str,
    backend: &str,
) -> Vec<(String, String)> {
    pairs(&[
        (
            "GREENLIGHT_AGGREGATOR",
            format!("http://127.0.0.1:{aggregator_port}"),
        ),
        ("GREENLIGHT_CHECKS__POSTGRES__URL", postgres.to_string()),
        ("GREENLIGHT_CHECKS__REDIS__URL", redis.to_string()),
        (
            "GREENLIGHT_CHECKS__HTTP__URL",
            format!("http://{backend}/health"),
        ),
        (
            "GREENLIGHT_CHECKS__TRAFFIC__URL",
            format!("http://{backend}/metrics"),
        ),
        ("GREENLIGHT_LISTEN", format!("127.0.0.1:{}", free_port())),
    ])
}

/// The role and database the agents' `[checks.postgres]` expect, made by
/// deploy/postgres/setup.sql as docs/deploy.md says, holding EscaShop's
/// schema as it is after the guide's migration (what both colors'
/// `[checks.postgres.schema]` declare); over TCP here, where the shipped
/// configs use the Unix socket.
fn escashop_database(postgres: &Postgres) -> String {
    crate::deploy_kit::postgres_setup::psql_setup(postgres);
    psql_escashop(postgres, APPLICATION_SCHEMA);
    format!(
        "postgres://greenlight@127.0.0.1:{}/escashop",
        postgres.port()
    )
}

/// EscaShop's own tables, as the application's role owns them, with the
/// guide's migration 20250127_add_processing_status applied (the value
/// `processing`, the column `processing_started_at`).
const APPLICATION_SCHEMA: &str = "
SET ROLE escashop;
CREATE TYPE queue_status_enum AS ENUM
    ('waiting', 'serving', 'processing', 'completed', 'cancelled');
CREATE TABLE customers (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    queue_status queue_status_enum NOT NULL DEFAULT 'waiting',
    created_at timestamp NOT NULL DEFAULT now(),
    processing_started_at timestamp DEFAULT NULL
);
CREATE INDEX idx_customers_processing_status
    ON customers(queue_status) WHERE queue_status = 'processing';
";

fn psql_escashop(postgres: &Postgres, sql: &str) {
    let output = std::process::Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &postgres.port().to_string()])
        .args(["-U", "postgres", "-d", "escashop", "-v", "ON_ERROR_STOP=1"])
        .args(["-c", sql])
        .output()
        .expect("psql runs (apt-get install postgresql-client)");
    assert!(
        output.status.success(),
        "the application's schema: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_using_it_section_works_as_written() {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("README.md");
    let lines = using_it_block(&readme);
    assert!(lines.len() >= 8, "the block has its commands: {lines:?}");

    let redis = RedisServer::start().await.expect("Redis");
    let postgres = Postgres::start().await.expect("PostgreSQL");
    let postgres_url = escashop_database(&postgres);
    let bed = Bed::new();
    let (_blue_backend, blue) = bed.backend_with_load("blue", "v3.0.0", 20).await;
    let (_green_backend, green) = bed.backend_with_load("green", "v3.1.0", 20).await;
    let haproxy = Haproxy::start(&blue, &green).await;
    let aggregator_port = free_port();
    let aggregator_url = format!("http://127.0.0.1:{aggregator_port}");
    // The script finds the CLI on PATH, as a newcomer's does.
    let script = haproxy
        .script(Script::new(bed.dir.path()))
        .with("GREENLIGHT_AGGREGATOR", &aggregator_url);
    let script: Vec<(String, String)> = script
        .env()
        .iter()
        .filter(|(name, _)| name != "GREENLIGHT_BIN")
        .cloned()
        .collect();
    let switch = deploy_dir().join("switch-traffic").display().to_string();
    let bin = binary("greenlight").parent().unwrap().display().to_string();
    let machine = Machine {
        repository: repository(),
        path: format!("{bin}:{}", std::env::var("PATH").unwrap_or_default()),
        common: pairs(&[("GREENLIGHT_AGGREGATOR", aggregator_url.clone())]),
        aggregator: pairs(&[
            (
                "GREENLIGHT_AGGREGATOR_LISTEN",
                format!("127.0.0.1:{aggregator_port}"),
            ),
            (
                "GREENLIGHT_AGGREGATOR_HTTP__LISTEN",
                format!("127.0.0.1:{}", free_port()),
            ),
            ("GREENLIGHT_AGGREGATOR_REDIS__URL", redis.url()),
            // The guide's 30 s readiness window, on a test's time scale.
            ("GREENLIGHT_AGGREGATOR_DEFAULTS__READY_AFTER", "3s".into()),
            (
                "GREENLIGHT_AGGREGATOR_DEPLOYMENTS__ESCASHOP__READY_AFTER",
                "3s".into(),
            ),
            (
                "GREENLIGHT_AGGREGATOR_HOOKS__CUTOVER__COMMAND",
                format!("[\"{switch}\", \"{{direction}}\"]"),
            ),
            (
                "GREENLIGHT_AGGREGATOR_HOOKS__ROLLBACK__COMMAND",
                format!("[\"{switch}\", \"{{direction}}\", \"--force\"]"),
            ),
        ]),
        blue_agent: agent_env(aggregator_port, &postgres_url, &redis.url(), &blue),
        green_agent: agent_env(aggregator_port, &postgres_url, &redis.url(), &green),
        script,
    };

    let mut daemons: Vec<Process> = Vec::new();
    let mut cut_over = false;
    for line in &lines {
        let (command, background) = command_of(line);
        println!("$ {command}{}", if background { " &" } else { "" });
        if background {
            let daemon = machine.spawn(&command);
            if command.starts_with("greenlight-aggregator") {
                // A person types the next line a moment later.
                daemon
                    .wait_for_line("aggregator serving gRPC", Duration::from_secs(60))
                    .await;
            }
            daemons.push(daemon);
            continue;
        }
        let output = tokio::time::timeout(LINE_LIMIT, machine.bash(&command).output())
            .await
            .unwrap_or_else(|_| panic!("`{command}` did not finish within {LINE_LIMIT:?}"))
            .expect("running bash");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        print!("{stdout}");
        eprint!("{stderr}");
        if !output.status.success() {
            for daemon in &daemons {
                daemon.dump();
            }
            panic!(
                "`{command}` failed ({}) as written in the README:\n{stdout}\n--- stderr ---\n{stderr}",
                output.status
            );
        }
        // What the line is for, checked where it shows.
        if command.starts_with("greenlight wait") {
            assert!(stdout.contains("READY"), "`{command}` said READY: {stdout}");
        }
        if command.contains("switch-traffic blue-to-green") {
            wait_live(&haproxy, "green").await;
            cut_over = true;
        }
        if cut_over && command == "greenlight verdict escashop" {
            assert!(
                stdout.contains("Baking"),
                "after the cutover the verdict is baking: {stdout}"
            );
            cut_over = false;
        }
        if command.starts_with("greenlight rollback") {
            wait_live(&haproxy, "blue").await;
        }
        if command.contains("switch-traffic green-to-blue") {
            assert_eq!(haproxy.live().await, "blue");
        }
    }
    let history = crate::bed::history_all(&redis.url()).await;
    assert!(
        !history.is_empty(),
        "the story is in the history stream of the test's Redis"
    );
    for daemon in &daemons {
        assert!(
            daemon.is_running(),
            "{} is still running at the end of the block",
            daemon.name()
        );
    }
}

async fn wait_live(haproxy: &Haproxy, color: &str) {
    eventually(
        &format!("HAProxy sending traffic to {color}"),
        SETTLE,
        || async {
            match haproxy.live().await {
                live if live == color => Ok(()),
                live => Err(format!("HAProxy sends to {live}")),
            }
        },
    )
    .await;
}
