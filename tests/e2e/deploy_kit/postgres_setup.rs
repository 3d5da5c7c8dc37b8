//! deploy/postgres/setup.sql against a real PostgreSQL: run twice (the
//! second changes nothing), it makes database escashop and role greenlight;
//! the agent, with the shipped configs' URL form (the Unix socket, `%2F`
//! for "/"), logs in as that role and its postgres check passes, connection
//! counts included (pg_stat_activity); and the role can write nothing.

use std::time::Duration;

use anyhow::{Context, bail};
use greenlight_testbed::{Postgres, Process, binary, eventually, free_port};

use super::kit::{deploy, read, toml_of, toml_str};

/// The directory of the cluster's Unix socket: the postmaster's `-k`.
fn socket_dir(postgres: &Postgres) -> String {
    let pid = postgres.process().pid();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let at = args.iter().position(|a| a == "-k").expect("postgres -k");
    args[at + 1].clone()
}

/// Runs deploy/postgres/setup.sql as the docs say, as user postgres.
pub(crate) fn psql_setup(postgres: &Postgres) {
    let sql = deploy().join("postgres/setup.sql");
    let output = std::process::Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &postgres.port().to_string()])
        .args([
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-f",
        ])
        .arg(&sql)
        .output()
        .expect("psql runs (apt-get install postgresql-client)");
    assert!(
        output.status.success(),
        "{} fails: {}{}",
        sql.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_sql_makes_the_role_the_agent_logs_in_as_and_no_more() {
    let postgres = Postgres::start().await.expect("PostgreSQL");
    psql_setup(&postgres);
    psql_setup(&postgres);

    // The shipped URL, pointed at this cluster's socket directory and port.
    let shipped = toml_of(&read("deploy/agent-blue.toml"), "deploy/agent-blue.toml");
    let url = toml_str(&shipped, "checks.postgres.url", "deploy/agent-blue.toml");
    assert_eq!(url, "postgres://greenlight@%2Frun%2Fpostgresql/escashop");
    let dir = socket_dir(&postgres).replace('/', "%2F");
    let url = url.replace("%2Frun%2Fpostgresql", &format!("{dir}:{}", postgres.port()));

    let listen = free_port();
    let config = format!(
        "aggregator = \"http://127.0.0.1:{}\"\ndeployment = \"escashop\"\ncolor = \"blue\"\n\
         listen = \"127.0.0.1:{listen}\"\n[checks.postgres]\nurl = \"{url}\"\n",
        free_port()
    );
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("agent.toml");
    std::fs::write(&file, config).unwrap();
    let agent = Process::spawn(
        binary("greenlight-agent"),
        &["--config", file.to_str().unwrap()],
        &[],
    )
    .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let entry = eventually(
        "the agent's postgres check to pass as role greenlight, with connection counts",
        Duration::from_secs(30),
        || async {
            let body: serde_json::Value = client
                .get(format!("http://127.0.0.1:{listen}/health"))
                .send()
                .await?
                .json()
                .await?;
            let entry = body["checks"]["postgres:responseTime"][0].clone();
            if entry["status"] != "pass" {
                bail!("postgres: {entry}");
            }
            let max = entry["detail"]["maxConnections"].as_u64().unwrap_or(0);
            if max == 0 {
                bail!("no connection counts yet: {entry}");
            }
            anyhow::Ok(entry)
        },
    )
    .await;
    assert!(
        entry["detail"]["connectionsInUse"].as_u64().unwrap() >= 1,
        "{entry}"
    );
    agent.terminate().await;

    // As the agent's role: read-only, and no right to create even when it
    // asks for a writable transaction.
    let (client, connection) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=greenlight dbname=escashop",
            postgres.port()
        ),
        tokio_postgres::NoTls,
    )
    .await
    .context("connecting as greenlight")
    .unwrap();
    tokio::spawn(connection);
    let error = client.batch_execute("CREATE TABLE t ()").await.unwrap_err();
    assert!(
        format!("{error:?}").contains("read-only transaction"),
        "{error:?}"
    );
    let error = client
        .batch_execute("BEGIN READ WRITE; CREATE TABLE t ()")
        .await
        .unwrap_err();
    assert!(
        format!("{error:?}").contains("permission denied for schema public"),
        "{error:?}"
    );
    client.batch_execute("ROLLBACK").await.unwrap();
    let row = client
        .query_one(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolconnlimit FROM pg_roles WHERE rolname = 'greenlight'",
            &[],
        )
        .await
        .unwrap();
    let (superuser, createdb, createrole, limit): (bool, bool, bool, i32) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert!(!superuser && !createdb && !createrole && limit == 8);
    let error = client.batch_execute("SET ROLE escashop").await.unwrap_err();
    assert!(
        format!("{error:?}").contains("permission denied"),
        "{error:?}"
    );
}
