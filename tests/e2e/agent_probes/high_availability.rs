//! Two real aggregators side by side (issue 14): the agent's process sends
//! each every report; one stopped does not hold back the other, and its
//! successor gets what it missed. The agent's face and startup line show
//! both.

use std::collections::BTreeSet;
use std::time::Duration;

use greenlight_testbed::{eventually, free_port};
use serde_json::Value;

use super::support::{Face, agent_to, aggregator_on};
use crate::bed::Bed;
use crate::report_log::accepted_sequences;

const INSTANCE: &str = "green-1";
const WAIT: Duration = Duration::from_secs(30);

/// Waits until `/health` says `status` of the stream to `address`.
async fn stream_status(face: &Face, address: &str, status: &str) {
    eventually(&format!("{address} to be {status}"), WAIT, || async {
        let health = face.health().await?;
        let entries = health["checks"]["aggregator:connection"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let entry = entries
            .iter()
            .find(|entry| entry["componentId"] == address)
            .cloned()
            .unwrap_or(Value::Null);
        if entries.len() == 2 && entry["status"] == status {
            Ok(())
        } else {
            Err(anyhow::anyhow!("{health}"))
        }
    })
    .await;
}

/// Waits until `aggregator` has accepted at least `count` reports.
async fn accepted_at_least(aggregator: &greenlight_testbed::Process, count: usize) {
    eventually(&format!("{count} accepted reports"), WAIT, || async {
        let accepted = accepted_sequences(aggregator, INSTANCE).len();
        (accepted >= count)
            .then_some(())
            .ok_or(format!("{accepted} so far"))
    })
    .await;
}

fn once_each_from_one(sequences: &[u64], whose: &str) {
    let distinct: BTreeSet<u64> = sequences.iter().copied().collect();
    assert_eq!(distinct.len(), sequences.len(), "{whose}: no duplicate");
    let newest = *sequences.iter().max().expect("reports were accepted");
    assert_eq!(
        distinct,
        (1..=newest).collect::<BTreeSet<u64>>(),
        "{whose}: no gap"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_feeds_two_aggregators_and_one_away_holds_back_nothing() {
    let bed = Bed::new();
    let port_b = free_port();
    let a = aggregator_on(&bed, bed.aggregator_port).await;
    let first_b = aggregator_on(&bed, port_b).await;
    let address_a = bed.aggregator_url();
    let address_b = format!("http://127.0.0.1:{port_b}");
    let check = format!(
        "[checks.http]\nurl = \"http://127.0.0.1:{}/health\"\n",
        free_port()
    );
    let agent = agent_to(
        &bed,
        &format!("{address_a},{address_b}"),
        INSTANCE,
        "interval = \"200ms\"",
        &check,
    );
    let started = agent
        .process
        .wait_for_line("greenlight-agent starting", WAIT)
        .await;
    assert!(
        started.contains(&format!("{address_a},{address_b}")),
        "the startup line lists both: {started}"
    );
    accepted_at_least(&a, 10).await;
    accepted_at_least(&first_b, 10).await;
    stream_status(&agent.face, &address_b, "pass").await;

    // B stops: A keeps getting every report.
    first_b.terminate().await;
    let before_b = accepted_sequences(&first_b, INSTANCE);
    stream_status(&agent.face, &address_b, "warn").await;
    stream_status(&agent.face, &address_a, "pass").await;
    let at_a = accepted_sequences(&a, INSTANCE).len();
    accepted_at_least(&a, at_a + 10).await;
    assert_eq!(
        agent
            .face
            .metric("greenlight_agent_aggregator_connected")
            .await
            .unwrap(),
        1.0,
        "one stream of two is up"
    );

    // B's successor on its port gets what B missed, then new reports.
    let second_b = aggregator_on(&bed, port_b).await;
    let newest_a = *accepted_sequences(&a, INSTANCE).last().unwrap();
    eventually("B's successor to catch up with A", WAIT, || async {
        let newest_b = accepted_sequences(&second_b, INSTANCE)
            .last()
            .copied()
            .unwrap_or(0);
        (newest_b >= newest_a)
            .then_some(())
            .ok_or(format!("{newest_b} of {newest_a}"))
    })
    .await;
    stream_status(&agent.face, &address_b, "pass").await;
    agent.process.terminate().await;
    a.terminate().await;
    second_b.terminate().await;

    let at_a = accepted_sequences(&a, INSTANCE);
    let after_b = accepted_sequences(&second_b, INSTANCE);
    let mut at_b = before_b.clone();
    at_b.extend(&after_b);
    println!(
        "A accepted 1..={} ({} reports); B 1..={} before its restart, its successor {}..={}",
        at_a.last().unwrap(),
        at_a.len(),
        before_b.last().unwrap(),
        after_b.first().unwrap(),
        after_b.last().unwrap()
    );
    once_each_from_one(&at_a, "A");
    once_each_from_one(&at_b, "B and its successor");
    assert_eq!(
        after_b[0],
        before_b.last().unwrap() + 1,
        "B's successor starts where B stopped"
    );
}
