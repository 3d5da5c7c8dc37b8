//! Tests of the `[checks.*]` keys: schedules, the new checks, and every
//! refusal naming its key, read from files as an operator writes them.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::load::{Overrides, load_with_env};
use super::{AgentConfig, CheckTarget, ConfigError, ProcessLocator};

/// A prefix no real environment uses.
const NO_ENV: &str = "GREENLIGHT_TEST_CHECKS_UNSET_";

const HEAD: &str = r#"
deployment = "escashop"
color = "green"
instance_id = "green-1"
interval = "1s"
timeout = "800ms"
"#;

fn load(checks: &str) -> Result<AgentConfig, ConfigError> {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    write!(file, "{HEAD}{checks}").unwrap();
    load_with_env(Some(file.path()), NO_ENV, &Overrides::default())
}

fn refused(checks: &str) -> ConfigError {
    load(checks).expect_err("the file should be refused")
}

#[test]
fn each_check_has_its_own_schedule() {
    let config = load(
        r#"
        [checks.postgres]
        url = "postgres://u@127.0.0.1/db"
        interval = "5s"
        [checks.redis]
        url = "redis://127.0.0.1:6379"
        interval = "500ms"
        [checks.http]
        url = "http://127.0.0.1:5001/health"
        timeout = "300ms"
        [checks.websocket]
        url = "ws://127.0.0.1:5001/ws"
        enabled = false
        "#,
    )
    .unwrap();
    assert_eq!(config.check_names(), ["postgres", "redis", "http"]);
    let schedule = |name| config.check(name).unwrap().schedule;
    let ms = Duration::from_millis;
    assert_eq!(
        (schedule("postgres").interval, schedule("postgres").timeout),
        (ms(5000), ms(800)),
        "the agent's timeout"
    );
    assert_eq!(
        (schedule("redis").interval, schedule("redis").timeout),
        (ms(500), ms(400)),
        "cut to 80% of the check's own interval"
    );
    assert_eq!(
        (schedule("http").interval, schedule("http").timeout),
        (ms(1000), ms(300))
    );
}

#[test]
fn schedules_are_checked_per_key() {
    let error = refused("[checks.postgres]\nurl = \"postgres://u@h/db\"\ninterval = \"-1s\"\n");
    assert_eq!(error.key.as_deref(), Some("checks.postgres.interval"));
    let error = refused("[checks.redis]\nurl = \"redis://h\"\ninterval = \"0s\"\n");
    assert_eq!(error.key.as_deref(), Some("checks.redis.interval"));
    let error =
        refused("[checks.http]\nurl = \"http://h/health\"\ninterval = \"1s\"\ntimeout = \"2s\"\n");
    assert_eq!(error.key.as_deref(), Some("checks.http.timeout"));
    assert!(
        error.reason.contains("longer than this check's interval"),
        "{error}"
    );
    let error = refused("[checks.http]\nurl = \"http://h/health\"\nenabled = false\n");
    assert_eq!(error.key.as_deref(), Some("checks"), "nothing left enabled");
}

#[test]
fn unknown_keys_are_named_in_every_table() {
    for (table, key) in [
        (
            "[checks.http]\nurl = \"http://h/health\"\ndetailed = \"x\"\n",
            "checks.http.detailed",
        ),
        (
            "[checks.process]\nport = 5001\npids = 3\n",
            "checks.process.pids",
        ),
        (
            "[checks.websocket]\nurl = \"ws://h/ws\"\nping = true\n",
            "checks.websocket.ping",
        ),
        (
            "[checks.traffic]\nurl = \"http://h/metrics\"\nerror_metric = \"e\"\n",
            "checks.traffic.error_metric",
        ),
        ("[checks.smtp]\nurl = \"smtp://h\"\n", "checks.smtp"),
    ] {
        let error = refused(table);
        assert_eq!(error.key.as_deref(), Some(key), "{table}: {error}");
        assert!(error.reason.contains("unknown key"), "{error}");
    }
}

#[test]
fn urls_of_the_new_keys_are_checked() {
    let error = refused("[checks.websocket]\nurl = \"http://127.0.0.1:5001/ws\"\n");
    assert_eq!(error.key.as_deref(), Some("checks.websocket.url"));
    assert!(error.reason.contains("ws://"), "{error}");
    let error = refused("[checks.http]\nurl = \"http://h/health\"\ndetailed_url = \"not a url\"\n");
    assert_eq!(error.key.as_deref(), Some("checks.http.detailed_url"));
    let error = refused("[checks.postgres]\nurl = \"postgres://u@h/db?sslmode=verify-full\"\n");
    assert_eq!(error.key.as_deref(), Some("checks.postgres.url"));
    assert!(
        error.reason.contains("disable, prefer or require"),
        "{error}"
    );
    let error = refused("listen = \"localhost\"\n[checks.http]\nurl = \"http://h/health\"\n");
    assert_eq!(error.key.as_deref(), Some("listen"));
}

#[test]
fn tls_and_auth_urls_are_accepted() {
    let config = load(
        r#"
        [checks.postgres]
        url = "postgres://u:secret@127.0.0.1/db?sslmode=require"
        [checks.redis]
        url = "rediss://:secret@127.0.0.1:6380"
        "#,
    )
    .unwrap();
    assert_eq!(config.check_names(), ["postgres", "redis"]);
    let debug = format!("{:?}", config.check("redis").unwrap());
    assert!(
        !debug.contains("secret"),
        "passwords stay out of logs: {debug}"
    );
}

#[test]
fn the_process_is_named_exactly_once() {
    let error = refused("[checks.process]\n");
    assert_eq!(error.key.as_deref(), Some("checks.process"));
    let error = refused("[checks.process]\nport = 5001\nname = \"node\"\n");
    assert_eq!(error.key.as_deref(), Some("checks.process"));
    let error = refused("[checks.process]\nport = 70000\n");
    assert_eq!(error.key.as_deref(), Some("checks.process.port"));
    let error = refused("[checks.process]\nname = \"node\"\nmax_cpu_ratio = -1\n");
    assert_eq!(error.key.as_deref(), Some("checks.process.max_cpu_ratio"));
    let config = load("[checks.process]\npid_file = \"/run/escashop.pid\"\n").unwrap();
    let CheckTarget::Process(process) = &config.check("process").unwrap().target else {
        panic!("not a process check")
    };
    assert_eq!(
        process.locator,
        ProcessLocator::PidFile("/run/escashop.pid".into())
    );
}

#[test]
fn traffic_source_and_names() {
    let error = refused("[checks.traffic]\nurl = \"http://h/metrics\"\nsource = \"both\"\n");
    assert_eq!(error.key.as_deref(), Some("checks.traffic.source"));
    let error = refused(
        "[checks.traffic]\nurl = \"http://h/metrics\"\nerror_rate_metric = \"error-rate\"\n",
    );
    assert_eq!(
        error.key.as_deref(),
        Some("checks.traffic.error_rate_metric")
    );
    let config =
        load("[checks.traffic]\nurl = \"http://h/metrics\"\nsource = \"gauge\"\n").unwrap();
    let CheckTarget::Traffic(traffic) = &config.check("traffic").unwrap().target else {
        panic!("not a traffic check")
    };
    assert_eq!(traffic.source, super::TrafficSource::Gauge);
}

#[test]
fn a_schema_declaration_is_read_and_a_bad_name_is_placed_in_the_file() {
    let config = load(
        r#"
[checks.postgres]
url = "postgres://u@127.0.0.1/db"

[checks.postgres.schema]
tables = ["customers"]
columns = ["customers.processing_started_at"]
enum_values = { queue_status_enum = ["waiting", "serving", "processing", "completed", "cancelled"] }
"#,
    )
    .unwrap();
    let CheckTarget::Postgres(target) = &config.check("postgres").unwrap().target else {
        unreachable!()
    };
    let needs = target.schema.as_ref().expect("a schema is declared");
    assert_eq!(needs.columns[0].column, "processing_started_at");
    assert_eq!(needs.enums[0].values[2], "processing");

    let error = refused(
        r#"
[checks.postgres]
url = "postgres://u@127.0.0.1/db"

[checks.postgres.schema]
columns = ["processing_started_at"]
"#,
    );
    assert_eq!(error.key.as_deref(), Some("checks.postgres.schema.columns"));
    let text = error.to_string();
    assert!(
        text.contains("line 12, column 1: key \"checks.postgres.schema.columns\": \"processing_started_at\" is not TABLE.COLUMN"),
        "{text}"
    );
    let error = refused(
        "[checks.postgres]\nurl = \"postgres://u@h/db\"\n[checks.postgres.schema]\ntabels = [\"customers\"]\n",
    );
    assert!(error.to_string().contains("tabels"), "{error}");
}

#[test]
fn the_shipped_configs_declare_the_guides_schema() {
    for color in ["blue", "green"] {
        let path = format!(
            "{}/../deploy/agent-{color}.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        let config = load_with_env(Some(Path::new(&path)), NO_ENV, &Overrides::default())
            .unwrap_or_else(|error| panic!("{path}: {error}"));
        let CheckTarget::Postgres(target) = &config.check("postgres").unwrap().target else {
            unreachable!()
        };
        let needs = target
            .schema
            .as_ref()
            .unwrap_or_else(|| panic!("{path} declares its schema"));
        let processing = needs.enums[0].values.iter().any(|v| v == "processing");
        assert_eq!(processing, color == "green", "{path}");
    }
}
