//! Acceptance: the aggregator's certificate is replaced on disk and
//! SIGHUP reloads it. A new connection gets the new certificate (one only a
//! new CA vouches for, with a new serial), while the agent stream opened
//! before the reload keeps being served on its old connection. A bad file
//! then keeps the certificates in force.

use std::time::Duration;

use greenlight_proto::v1::Decision;
use greenlight_testbed::TestCa;

use super::{Pki, agent_tls, https, last_sequence};
use crate::bed::{Bed, DEPLOYMENT, SETTLE, verdict_where_on};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloaded_certificates_serve_new_connections_while_an_open_stream_lives_on() {
    let bed = Bed::new();
    let pki = Pki::new(bed.dir.path());
    // No polling during the test: the reload is SIGHUP's.
    let sections = pki.aggregator_sections("poll = \"1h\"");
    let aggregator = bed.aggregator_toml(&sections, &[]).await;
    let (_backend, green) = bed.backend("green", "v3.1.0").await;
    let certified = pki.agent("green", "green-1", 10);
    let agent = bed.agent_to(
        &https(&bed),
        &agent_tls(&pki.server_ca, &certified),
        "green",
        "green-1",
        &green,
    );
    let old_client = pki.verdict_client(&bed).await;
    let before = verdict_where_on(old_client, "green READY", SETTLE, |v| {
        v.decision() == Decision::Ready
    })
    .await;

    // The new certificate: serial 0x77, and only the new CA signed it.
    let new_ca = TestCa::new("greenlight test server CA, renewed");
    let new_ca_file = new_ca.write(bed.dir.path(), "new-server-ca");
    new_ca.issue(
        bed.dir.path(),
        "server",
        &["127.0.0.1", "reloaded.greenlight.test"],
        0x77,
    );
    aggregator.send_signal(libc::SIGHUP);
    let reloaded = aggregator.wait_for_line("TLS files reloaded", SETTLE).await;
    assert!(reloaded.contains("serial 77"), "{reloaded}");
    assert!(reloaded.contains("reloaded.greenlight.test"), "{reloaded}");

    // New connections: the new CA works, the old one no longer does.
    let mut args = pki.cli_flags(&new_ca_file);
    args.extend(["verdict", DEPLOYMENT, "--json"]);
    let (code, stdout, stderr) = bed.cli_at(&https(&bed), &args).await;
    assert_eq!(
        code, 0,
        "READY, through the new certificate: {stdout}{stderr}"
    );
    let mut args = pki.cli_flags(&pki.server_ca);
    args.extend(["verdict", DEPLOYMENT]);
    let (code, _, stderr) = bed.cli_at(&https(&bed), &args).await;
    assert_eq!(
        code, 2,
        "the old CA does not vouch for the new certificate: {stderr}"
    );
    assert!(stderr.contains("not trusted"), "{stderr}");

    // The stream opened before the reload is still served: its reports
    // keep coming in, and it never reconnected (it could not: it trusts the
    // old CA only).
    let sequence = last_sequence(&before, "green-1").unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (code, stdout, stderr) = bed
        .cli_at(&https(&bed), &{
            let mut args = pki.cli_flags(&new_ca_file);
            args.extend(["verdict", DEPLOYMENT, "--json"]);
            args
        })
        .await;
    assert_eq!(code, 0, "{stderr}");
    let verdict: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let now = verdict["agents"][0]["last_sequence"].as_u64().unwrap();
    assert!(
        now > sequence + 2,
        "the old stream kept reporting: {sequence} -> {now}"
    );
    assert!(
        !agent.output_so_far().contains("lost the stream"),
        "{}",
        agent.output_so_far()
    );
    assert!(!aggregator.output_so_far().contains("agent disconnected"));

    // A bad key: refused, naming the file; the certificates in force stay.
    std::fs::write(&pki.server.key, "not a key").unwrap();
    aggregator.send_signal(libc::SIGHUP);
    let refused = aggregator.wait_for_line("cannot be used", SETTLE).await;
    assert!(refused.contains("server.key"), "{refused}");
    let mut args = pki.cli_flags(&new_ca_file);
    args.extend(["verdict", DEPLOYMENT]);
    let (code, _, stderr) = bed.cli_at(&https(&bed), &args).await;
    assert_eq!(
        code, 0,
        "still served with the reloaded certificate: {stderr}"
    );
}

/// SIGHUP's default would end the process: without [tls] there is nothing
/// to reload, and the aggregator says so and goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_without_tls_is_logged_and_does_not_stop_the_aggregator() {
    let bed = Bed::new();
    let aggregator = bed.aggregator(None, "1s").await;
    aggregator.send_signal(libc::SIGHUP);
    aggregator
        .wait_for_line("SIGHUP: nothing to reload", SETTLE)
        .await;
    let (code, stdout, stderr) = bed.cli(&["status"]).await;
    assert!(aggregator.is_running(), "{stdout}{stderr}");
    assert_ne!(code, 3, "the aggregator still answers: {stdout}{stderr}");
}
