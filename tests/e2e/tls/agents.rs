//! Acceptance: a real agent over mutual TLS gets a verdict; a plaintext
//! agent and an agent with a certificate from another CA are refused at
//! the handshake, while the good agent keeps being served. The CLI over
//! https works with the right CA and client certificate, and says what is
//! wrong otherwise.

use std::time::Duration;

use greenlight_proto::v1::{Decision, GetVerdictRequest};
use greenlight_testbed::TestCa;

use super::{Pki, agent_tls, https, last_sequence};
use crate::bed::{Bed, DEPLOYMENT, SETTLE, path_str, verdict_where_on};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_over_mutual_tls_are_served_and_strangers_are_refused() {
    let bed = Bed::new();
    let pki = Pki::new(bed.dir.path());
    let aggregator = bed.aggregator_toml(&pki.aggregator_sections(""), &[]).await;
    let (_backend, green) = bed.backend("green", "v3.1.0").await;
    let good = pki.agent("green", "green-1", 10);
    let _agent = bed.agent_to(
        &https(&bed),
        &agent_tls(&pki.server_ca, &good),
        "green",
        "green-1",
        &green,
    );
    let client = pki.verdict_client(&bed).await;
    let ready = verdict_where_on(client.clone(), "green READY over mutual TLS", SETTLE, |v| {
        v.decision() == Decision::Ready
    })
    .await;

    // A plaintext agent, and one whose certificate another CA signed.
    let plain = bed.agent_to(&bed.aggregator_url(), "", "green", "green-plain", &green);
    let stranger_ca = TestCa::new("a stranger's CA");
    let stranger = stranger_ca.issue(
        bed.dir.path(),
        "green-stranger",
        &[&super::spiffe("green", "green-stranger")],
        11,
    );
    let _stranger = bed.agent_to(
        &https(&bed),
        &agent_tls(&pki.server_ca, &stranger),
        "green",
        "green-stranger",
        &green,
    );
    aggregator.wait_for_line("InvalidContentType", SETTLE).await;
    aggregator.wait_for_line("UnknownIssuer", SETTLE).await;
    plain
        .wait_for_line("cannot reach the aggregator", SETTLE)
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let now = client
        .clone()
        .get_verdict(GetVerdictRequest {
            deployment: DEPLOYMENT.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let instances: Vec<&str> = now.agents.iter().map(|a| a.instance_id.as_str()).collect();
    assert_eq!(instances, ["green-1"], "only the certified agent is in");
    assert_eq!(now.decision(), Decision::Ready);
    assert!(last_sequence(&now, "green-1") > last_sequence(&ready, "green-1"));

    // The CLI: the right CA and a client certificate work.
    let mut args = pki.cli_flags(&pki.server_ca);
    args.extend(["verdict", DEPLOYMENT]);
    let (code, stdout, stderr) = bed.cli_at(&https(&bed), &args).await;
    assert_eq!(code, 0, "READY over https: {stdout}{stderr}");
    // Trusting another CA than the server's: exit 2, saying so.
    let mut args = pki.cli_flags(&pki.clients_ca_file);
    args.push("status");
    let (code, _, stderr) = bed.cli_at(&https(&bed), &args).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not trusted"), "{stderr}");
    // No client certificate where one is required: refused. (TLS 1.3
    // refuses it after the client's side of the handshake, so the CLI
    // sees either the alert, and says so, or only a broken call.)
    let (code, stdout, stderr) = bed
        .cli_at(&https(&bed), &["--ca", path_str(&pki.server_ca), "status"])
        .await;
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(!stdout.contains("READY"), "{stdout}");
    // Either way the CLI says what to try.
    assert!(stderr.contains("--cert and --key"), "{stderr}");
    aggregator
        .wait_for_line("peer sent no certificates", SETTLE)
        .await;
}
