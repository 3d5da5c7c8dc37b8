//! Acceptance: with `[auth]`, no credentials is UNAUTHENTICATED; a
//! viewer's rollback is PERMISSION_DENIED; an operator's cutover and
//! rollback work and the history names the operator from the token, not
//! from what the client wrote; grpc.health.v1 answers without credentials.
//! Agents come in by certificate (green) and by token (blue), each only
//! for its own identity.

use greenlight_proto::v1::{Color, Hello};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::bed::{Bed, DEPLOYMENT, SETTLE, path_str};
use crate::hostile_input::support::RawStream;
use crate::tls::{Pki, agent_tls, https};

const OPERATOR_TOKEN: &str = "operator-token-alice-0123456789";
const VIEWER_TOKEN: &str = "viewer-token-grafana-0123456789";
const BLUE_AGENT_TOKEN: &str = "agent-token-blue-fleet-0123456789";

/// `printf %s TOKEN | sha256sum`, as an operator writes the tokens file.
fn sha256(token: &str) -> String {
    let output = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(token.as_bytes())?;
            child.wait_with_output()
        })
        .expect("running sha256sum");
    String::from_utf8(output.stdout).unwrap()[..64].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_decide_who_may_steer_and_the_history_names_the_credential() {
    let bed = Bed::new();
    let pki = Pki::new(bed.dir.path());
    let dir = bed.dir.path();
    let tokens = dir.join("tokens");
    std::fs::write(
        &tokens,
        format!(
            "# role   name               sha256 of the token\noperator alice {}\nviewer grafana {}\nagent escashop/blue/* {}\n",
            sha256(OPERATOR_TOKEN),
            sha256(VIEWER_TOKEN),
            sha256(BLUE_AGENT_TOKEN)
        ),
    )
    .unwrap();
    let token_file = |name: &str, token: &str| {
        let path = dir.join(name);
        std::fs::write(&path, format!("{token}\n")).unwrap();
        path
    };
    let operator = token_file("operator.token", OPERATOR_TOKEN);
    let viewer = token_file("viewer.token", VIEWER_TOKEN);
    let blue_token = token_file("blue.token", BLUE_AGENT_TOKEN);
    // Client certificates optional: the CLI comes with a token only.
    let aggregator = bed
        .aggregator_toml(
            &pki.aggregator_sections(&format!(
                "client_auth = \"optional\"\n[auth]\ntokens = \"{}\"\n",
                path_str(&tokens)
            )),
            &[],
        )
        .await;
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let _blue = bed.agent_to(
        &https(&bed),
        &format!(
            "token_file = \"{}\"\n[tls]\nca = \"{}\"\n",
            path_str(&blue_token),
            path_str(&pki.server_ca)
        ),
        "blue",
        "blue-1",
        &blue,
    );
    let green_1 = pki.agent("green", "green-1", 10);
    let _green = bed.agent_to(
        &https(&bed),
        &agent_tls(&pki.server_ca, &green_1),
        "green",
        "green-1",
        &green,
    );
    let ca = path_str(&pki.server_ca);
    let cli = |token: Option<&std::path::Path>, args: &[&str]| {
        let mut all = vec!["--ca", ca];
        if let Some(token) = token {
            all.extend(["--token-file", path_str(token)]);
        }
        all.extend(args);
        let all: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        let bed = &bed;
        async move {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            bed.cli_at(&https(bed), &all).await
        }
    };

    // The viewer waits for READY: both agents are in, each by its own proof.
    let (code, stdout, stderr) = cli(
        Some(&viewer),
        &["wait", DEPLOYMENT, "--until", "ready", "--timeout", "60s"],
    )
    .await;
    assert_eq!(code, 0, "the viewer waits for READY: {stdout}{stderr}");

    // No credentials: UNAUTHENTICATED, exit 2, saying what would do.
    let (code, stdout, stderr) = cli(None, &["status"]).await;
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("requires credentials"), "{stderr}");
    // A token nobody issued: the same.
    let stranger = token_file("stranger.token", "not-a-token-anyone-issued");
    let (code, _, stderr) = cli(Some(&stranger), &["status"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not one this aggregator knows"), "{stderr}");

    // The viewer reads, and may not steer.
    let (code, stdout, stderr) = cli(Some(&viewer), &["verdict", DEPLOYMENT]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) = cli(
        Some(&viewer),
        &["rollback", DEPLOYMENT, "--reason", "a viewer tries"],
    )
    .await;
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("grafana (viewer, token) may not call Rollback"),
        "{stderr}"
    );
    // An agent's token is for reporting only.
    let (code, _, stderr) = cli(Some(&blue_token), &["status"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("may not call ListDeployments"), "{stderr}");

    // The operator cuts over and rolls back; the history names alice from
    // her token, whatever the client says it is.
    let (code, stdout, stderr) = cli(Some(&operator), &["cutover", DEPLOYMENT]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) = cli(
        Some(&operator),
        &["rollback", DEPLOYMENT, "--reason", "e2e rolls back"],
    )
    .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, history, stderr) = cli(Some(&viewer), &["history", DEPLOYMENT]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        history.contains("cutover requested by alice (operator, token)"),
        "{history}"
    );
    assert!(
        history.contains("rollback requested by alice (operator, token)")
            && history.contains("e2e rolls back"),
        "{history}"
    );
    let (_, stdout, stderr) = cli(Some(&viewer), &["verdict", DEPLOYMENT, "--json"]).await;
    let verdict: serde_json::Value = serde_json::from_str(&stdout).expect(&stderr);
    assert_eq!(verdict["phase"], "RolledBack", "{stdout}");

    // A certificate from the right CA but with no role: denied, by name.
    let mut no_role = pki.verdict_client(&bed).await;
    let status = no_role
        .get_verdict(greenlight_proto::v1::GetVerdictRequest {
            deployment: DEPLOYMENT.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status
            .message()
            .contains("spiffe://greenlight/operator/e2e"),
        "{status:?}"
    );

    // The blue fleet's token may not report as green.
    let channel = pki.channel(&bed, None).await;
    let as_green = Hello {
        deployment: DEPLOYMENT.into(),
        color: Color::Green as i32,
        instance_id: "green-9".into(),
        run_id: "run-9".into(),
        report_interval_ms: 1000,
        ..Default::default()
    };
    let Err(status) = RawStream::open_on(channel.clone(), as_green, Some(BLUE_AGENT_TOKEN)).await
    else {
        panic!("the blue fleet's token opened a stream as green")
    };
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("escashop/blue/*"), "{status:?}");

    // grpc.health.v1 without any credentials: the aggregator is SERVING,
    // and so is the color that carries traffic.
    let mut health = HealthClient::new(channel);
    for service in ["", "greenlight.escashop.blue"] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|status| {
                panic!("health of {service:?} without credentials: {status:?}")
            })
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service:?}");
    }
    aggregator.wait_for_line("call refused", SETTLE).await;
}
