//! Acceptance: an agent certified for blue cannot report for green; a
//! second stream for a live identity is refused (ALREADY_EXISTS, naming
//! it) while the first keeps being served; the same run reconnecting
//! replaces its stream, and the old one stops speaking for it.

use greenlight_proto::v1::Decision;
use tonic::Code;

use crate::bed::{Bed, DEPLOYMENT, SETTLE, verdict_where_on};
use crate::hostile_input::support::{RawStream, expect_ack, honest};
use crate::tls::{Pki, agent_tls, https, last_sequence};

fn hello(
    color: greenlight_proto::v1::Color,
    instance: &str,
    run: &str,
) -> greenlight_proto::v1::Hello {
    greenlight_proto::v1::Hello {
        deployment: DEPLOYMENT.into(),
        color: color as i32,
        instance_id: instance.into(),
        run_id: run.into(),
        report_interval_ms: 1000,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_reports_only_as_its_certificate_says_and_never_twice_at_once() {
    use greenlight_proto::v1::Color;
    let bed = Bed::new();
    let pki = Pki::new(bed.dir.path());
    // No [auth]: the certificates alone bind agents to their identities.
    let aggregator = bed.aggregator_toml(&pki.aggregator_sections(""), &[]).await;
    let (_backend, green) = bed.backend("green", "v3.1.0").await;
    let green_1 = pki.agent("green", "green-1", 10);
    let _agent = bed.agent_to(
        &https(&bed),
        &agent_tls(&pki.server_ca, &green_1),
        "green",
        "green-1",
        &green,
    );
    let client = pki.verdict_client(&bed).await;
    let ready = verdict_where_on(client.clone(), "green READY", SETTLE, |v| {
        v.decision() == Decision::Ready
    })
    .await;

    // A real agent with blue's certificate, configured as green: refused,
    // and told why in words that name both identities.
    let blue_1 = pki.agent("blue", "blue-1", 11);
    let misplaced = bed.agent_to(
        &https(&bed),
        &agent_tls(&pki.server_ca, &blue_1),
        "green",
        "green-2",
        &green,
    );
    let refusal = misplaced.wait_for_line("CONFIGURATION ERROR", SETTLE).await;
    assert!(
        refusal.contains("credential is for escashop/blue/blue-1")
            && refusal.contains("escashop/green/green-2"),
        "{refusal}"
    );
    // The same from a raw client, with the status code.
    let channel = pki.channel(&bed, Some(&blue_1)).await;
    let Err(status) = RawStream::open_on(channel, hello(Color::Green, "green-1", "x"), None).await
    else {
        panic!("blue's certificate opened a stream as green")
    };
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    // A second stream for green-1, with green-1's own certificate, while
    // the real agent's stream is alive: refused, naming the identity.
    let channel = pki.channel(&bed, Some(&green_1)).await;
    let Err(status) =
        RawStream::open_on(channel, hello(Color::Green, "green-1", "impostor"), None).await
    else {
        panic!("a second stream for a live identity was welcomed")
    };
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert!(
        status.message().contains("escashop/green/green-1"),
        "{status:?}"
    );
    aggregator.wait_for_line("already connected", SETTLE).await;

    // The first keeps being served, alone.
    let before = last_sequence(&ready, "green-1").unwrap();
    let later = verdict_where_on(client.clone(), "green-1 keeps reporting", SETTLE, |v| {
        last_sequence(v, "green-1").is_some_and(|sequence| sequence >= before + 4)
    })
    .await;
    let instances: Vec<&str> = later
        .agents
        .iter()
        .map(|agent| agent.instance_id.as_str())
        .collect();
    assert_eq!(instances, ["green-1"]);
    assert_eq!(later.decision(), Decision::Ready);

    // The same run reconnecting (its old stream half-dead, say) replaces
    // its stream: the new one is welcomed, the old one is closed on its
    // next report and is not taken.
    let green_7 = pki.agent("green", "green-7", 12);
    let mut old = RawStream::open_on(
        pki.channel(&bed, Some(&green_7)).await,
        hello(Color::Green, "green-7", "run-7"),
        None,
    )
    .await
    .expect("green-7's first stream");
    expect_ack(&old.send(honest(10, 0)).await.unwrap(), "first report");
    let mut new = RawStream::open_on(
        pki.channel(&bed, Some(&green_7)).await,
        hello(Color::Green, "green-7", "run-7"),
        None,
    )
    .await
    .expect("the same run's reconnect replaces its stream");
    let status = old.send(honest(20, 0)).await.unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    assert!(status.message().contains("took over"), "{status:?}");
    new.sequence = 1;
    expect_ack(
        &new.send(honest(30, 0)).await.unwrap(),
        "the new stream's report",
    );
    // Sequence 2 is the new stream's: the old one's was not taken.
    verdict_where_on(
        client,
        "green-7 holds the new stream's report",
        SETTLE,
        |v| last_sequence(v, "green-7") == Some(2),
    )
    .await;
}
