//! Issue 13, schema readiness, against a real PostgreSQL: each color's
//! agent declares what its code needs ([checks.postgres.schema]) and logs in
//! as a role that may only log in (pg_catalog is what it can read). Before
//! the guide's migration green is NOT_READY naming the missing enum value
//! and column; the migration applied, it is READY with nothing restarted.
//! A column blue still reads, dropped before cutover, refuses READY
//! (rollback_target_incompatible, naming blue's column); dropped during the
//! bake, the verdict holds and a webhook receives the critical alert.

use std::path::Path;

use greenlight_proto::v1::{Color, Decision, Phase, Reason, Verdict};
use greenlight_testbed::{Postgres, Process, binary, eventually};
use serde_json::Value;
use tokio_postgres::NoTls;

use crate::alerts::receiver::Receiver;
use crate::bed::{Bed, DEPLOYMENT, Dependencies, SETTLE, path_str};

/// The database as release 3.0 left it: the enum without 'processing',
/// customers without processing_started_at, and priority_flag, which blue
/// (3.0) still reads and green (3.1) no longer does.
const BEFORE_MIGRATION: &str = "
CREATE TYPE queue_status_enum AS ENUM ('waiting', 'serving', 'completed', 'cancelled');
CREATE TABLE customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    queue_status queue_status_enum NOT NULL DEFAULT 'waiting',
    priority_flag boolean DEFAULT false
);
CREATE ROLE greenlight LOGIN;
";

/// The guide's migration, its two schema statements (its index uses the new
/// value, which PostgreSQL 15 refuses in the transaction that adds it).
const MIGRATION: [&str; 2] = [
    "ALTER TYPE queue_status_enum ADD VALUE IF NOT EXISTS 'processing'",
    "ALTER TABLE customers ADD COLUMN IF NOT EXISTS processing_started_at TIMESTAMP DEFAULT NULL",
];

const BLUE_NEEDS: &str = r#"
[checks.postgres.schema]
tables = ["customers"]
columns = ["customers.queue_status", "customers.priority_flag"]
enum_values = { queue_status_enum = ["waiting", "serving", "completed", "cancelled"] }
"#;

const GREEN_NEEDS: &str = r#"
[checks.postgres.schema]
tables = ["customers"]
columns = ["customers.queue_status", "customers.processing_started_at"]
enum_values = { queue_status_enum = ["waiting", "serving", "processing", "completed", "cancelled"] }
"#;

async fn sql(postgres: &Postgres, statements: &[&str]) {
    let (client, connection) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            postgres.port()
        ),
        NoTls,
    )
    .await
    .expect("connecting as postgres");
    let driver = tokio::spawn(connection);
    for statement in statements {
        client
            .batch_execute(statement)
            .await
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
    }
    drop(client);
    let _ = driver.await;
}

/// An agent beside `backend`, as the bed writes it, with `needs` added.
fn agent(bed: &Bed, color: &str, backend: &str, postgres: &str, needs: &str) -> Process {
    let config = bed.agent_config(
        color,
        &format!("{color}-1"),
        backend,
        Dependencies {
            postgres: Some(postgres),
            redis: None,
        },
        "500ms",
    );
    append(&config, needs);
    Process::spawn(
        binary("greenlight-agent"),
        &["--config", path_str(&config)],
        &[("RUST_LOG", "info")],
    )
    .expect("starting greenlight-agent")
}

fn append(path: &Path, text: &str) {
    let mut written = std::fs::read_to_string(path).expect("the agent's config");
    written.push_str(text);
    std::fs::write(path, written).expect("writing the agent's config");
}

fn reason<'a>(verdict: &'a Verdict, rule: &str) -> &'a Reason {
    verdict
        .reasons
        .iter()
        .find(|r| r.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} in {:#?}", verdict.reasons))
}

fn names_rule(verdict: &Verdict, rule: &str) -> bool {
    verdict.reasons.iter().any(|r| r.rule == rule)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn green_waits_for_its_migration_and_blue_must_stay_a_rollback_target() {
    let postgres = Postgres::start().await.expect("PostgreSQL");
    sql(&postgres, &[BEFORE_MIGRATION]).await;
    let agent_url = format!(
        "postgres://greenlight@127.0.0.1:{}/postgres",
        postgres.port()
    );

    let receiver = Receiver::start().await;
    let bed = Bed::new();
    let _aggregator = bed
        .aggregator_toml(
            &format!(
                "[defaults]\nready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\n\
                 [deployments.{DEPLOYMENT}]\nlive = \"blue\"\n\
                 [[alerts.sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}/webhook\"\n",
                receiver.url
            ),
            &[],
        )
        .await;
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let blue_agent = agent(&bed, "blue", &blue, &agent_url, BLUE_NEEDS);
    let green_agent = agent(&bed, "green", &green, &agent_url, GREEN_NEEDS);
    let pids = (blue_agent.pid(), green_agent.pid());

    // Before the migration: NOT_READY, naming what green's code lacks.
    let waiting = bed
        .verdict_where("green waiting for its migration", SETTLE, |v| {
            v.decision() == Decision::NotReady
                && v.reasons
                    .iter()
                    .any(|r| r.rule == "check_failed" && r.check == "postgres/schema")
        })
        .await;
    let missing = waiting
        .reasons
        .iter()
        .find(|r| r.check == "postgres/schema")
        .unwrap();
    println!("before the migration: {}", missing.message);
    assert_eq!(missing.color(), Color::Green);
    assert_eq!(missing.agent, "green-1");
    for words in [
        "queue_status_enum has no value 'processing'",
        "column customers.processing_started_at does not exist",
    ] {
        assert!(missing.error.contains(words), "{missing:?}");
        assert!(missing.message.contains(words), "{missing:?}");
    }
    assert!(
        !names_rule(&waiting, "rollback_target_incompatible"),
        "blue's needs are met: {:#?}",
        waiting.reasons
    );

    // The migration, applied while everything runs: READY, nothing restarted.
    sql(&postgres, &MIGRATION).await;
    bed.verdict_where("green READY after the migration", SETTLE, |v| {
        v.decision() == Decision::Ready
    })
    .await;
    assert_eq!((blue_agent.pid(), green_agent.pid()), pids);
    assert!(blue_agent.is_running() && green_agent.is_running());

    // A column blue still reads, dropped before cutover: READY refused,
    // naming blue's column.
    sql(
        &postgres,
        &["ALTER TABLE customers DROP COLUMN priority_flag"],
    )
    .await;
    let refused = bed
        .verdict_where("READY refused for blue's dropped column", SETTLE, |v| {
            names_rule(v, "rollback_target_incompatible")
        })
        .await;
    assert_eq!(refused.decision(), Decision::NotReady);
    let incompatible = reason(&refused, "rollback_target_incompatible");
    println!("before cutover: {}", incompatible.message);
    assert_eq!(incompatible.color(), Color::Blue);
    assert_eq!(incompatible.agent, "blue-1");
    assert_eq!(incompatible.check, "postgres/schema");
    assert!(
        incompatible
            .message
            .contains("column customers.priority_flag does not exist"),
        "{incompatible:?}"
    );
    assert!(
        incompatible
            .message
            .contains("green is not READY while a rollback to blue could not work"),
        "{incompatible:?}"
    );
    let (code, stdout, _) = bed.cli(&["verdict", DEPLOYMENT]).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("rollback_target_incompatible"), "{stdout}");

    // Restored: READY again, then the cutover.
    sql(
        &postgres,
        &["ALTER TABLE customers ADD COLUMN priority_flag boolean DEFAULT false"],
    )
    .await;
    bed.cut_over_when_ready().await;

    // Dropped during the bake: HOLD (not a rollback onto a side that
    // cannot work), and the critical alert.
    sql(
        &postgres,
        &["ALTER TABLE customers DROP COLUMN priority_flag"],
    )
    .await;
    let held = bed
        .verdict_where("the bake held for blue's dropped column", SETTLE, |v| {
            names_rule(v, "rollback_target_incompatible")
        })
        .await;
    println!(
        "during the bake: {}",
        reason(&held, "rollback_target_incompatible").message
    );
    assert_eq!(
        (held.decision(), held.phase()),
        (Decision::Hold, Phase::Held)
    );
    assert_eq!(held.live(), Color::Green, "traffic stays on green");
    // The condition fired before cutover too (and was resolved when the
    // column came back): this is the bake's firing.
    let during_bake = |body: &Value| {
        body["event"] == "rollback_target_incompatible"
            && body["state"] == "firing"
            && body["details"].as_array().is_some_and(|lines| {
                lines.iter().filter_map(Value::as_str).any(|line| {
                    line.contains("rolling back to blue would break it, so greenlight holds")
                })
            })
    };
    let alert = eventually("the critical alert during the bake", SETTLE, || async {
        receiver
            .bodies("/webhook")
            .into_iter()
            .find(during_bake)
            .ok_or("not yet")
    })
    .await;
    assert!(
        receiver.bodies("/webhook").iter().any(|body| {
            body["event"] == "rollback_target_incompatible" && body["state"] == "resolved"
        }),
        "the refusal before cutover was resolved when the column came back"
    );
    println!("webhook: {alert:#}");
    assert_eq!(alert["severity"], "critical");
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["color"], "blue");
    let details: Vec<&str> = alert["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        details
            .iter()
            .any(|line| line.contains("column customers.priority_flag does not exist")),
        "{details:?}"
    );
    assert!(
        !receiver
            .bodies("/webhook")
            .iter()
            .any(|body| body["event"] == "rollback"),
        "no rollback onto blue"
    );
}
