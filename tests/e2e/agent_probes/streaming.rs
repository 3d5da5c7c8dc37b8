//! The report stream against the real aggregator: restarted mid-stream, it
//! sees every sequence number once; away for long, the agent's buffer stays
//! bounded, drops the oldest reports, and says how many.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use greenlight_testbed::{eventually, free_port};

use super::support::{agent, aggregator, backend, resident_bytes};
use crate::bed::Bed;
use crate::report_log::accepted_sequences;

const INSTANCE: &str = "green-1";
const WAIT: Duration = Duration::from_secs(30);

/// An http check against a closed port: fails fast every round, which is
/// all a report needs to carry.
fn closed_port_check() -> String {
    format!(
        "[checks.http]\nurl = \"http://127.0.0.1:{}/health\"\n",
        free_port()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregator_restart_loses_and_repeats_no_report() {
    let bed = Bed::new();
    let first = aggregator(&bed).await;
    let agent = agent(&bed, INSTANCE, "interval = \"200ms\"", &closed_port_check());
    eventually("10 accepted reports", WAIT, || async {
        let accepted = accepted_sequences(&first, INSTANCE).len();
        (accepted >= 10)
            .then_some(())
            .ok_or(format!("{accepted} so far"))
    })
    .await;

    // SIGTERM in the middle of the stream; the agent buffers meanwhile.
    first.terminate().await;
    let before = accepted_sequences(&first, INSTANCE);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = aggregator(&bed).await;
    eventually("reports after the restart", WAIT, || async {
        let accepted = accepted_sequences(&second, INSTANCE).len();
        (accepted >= 15)
            .then_some(())
            .ok_or(format!("{accepted} so far"))
    })
    .await;
    agent.process.terminate().await;
    second.terminate().await;

    let after = accepted_sequences(&second, INSTANCE);
    let mut all = before.clone();
    all.extend(&after);
    let newest = *all.iter().max().expect("reports were accepted");
    let distinct: BTreeSet<u64> = all.iter().copied().collect();
    println!(
        "first aggregator accepted {}..={} ({} reports); the restarted one {}..={} ({} reports)",
        before.first().unwrap(),
        before.last().unwrap(),
        before.len(),
        after.first().unwrap(),
        after.last().unwrap(),
        after.len()
    );
    assert_eq!(distinct.len(), all.len(), "no duplicate: {all:?}");
    assert_eq!(
        distinct,
        (1..=newest).collect::<BTreeSet<u64>>(),
        "no gap: {all:?}"
    );
    assert_eq!(
        after[0],
        before.last().unwrap() + 1,
        "the replay starts where the first stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_buffer_stays_bounded_and_counts_what_it_dropped() {
    const BUFFER: f64 = 20.0;
    let bed = Bed::new();
    let backend_port = free_port();
    let _backend = backend(backend_port, 0).await;
    // No aggregator yet. A report every 5 ms, each carrying six results
    // (the backend's detailed health and its metrics): unbounded, the
    // outbox would grow by megabytes while the aggregator is away.
    let base = format!("127.0.0.1:{backend_port}");
    let agent = agent(
        &bed,
        INSTANCE,
        "interval = \"5ms\"\nbuffer_reports = 20",
        &format!(
            "[checks.http]\nurl = \"http://{base}/health\"\n\
             detailed_url = \"http://{base}/health/detailed\"\ninterval = \"200ms\"\n\
             [checks.traffic]\nurl = \"http://{base}/metrics\"\ninterval = \"200ms\"\n"
        ),
    );
    let face = &agent.face;
    face.wait_up().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = agent.process.pid();
    let rss_start = resident_bytes(pid);
    let away = Instant::now();
    let mut rss_max = rss_start;
    let mut outbox_max: f64 = 0.0;
    while away.elapsed() < Duration::from_secs(12) {
        rss_max = rss_max.max(resident_bytes(pid));
        outbox_max = outbox_max.max(
            face.metric("greenlight_agent_outbox_reports")
                .await
                .unwrap(),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let reports = face.metric("greenlight_agent_reports_total").await.unwrap();
    let dropped = face
        .metric("greenlight_agent_reports_dropped_total")
        .await
        .unwrap();
    println!(
        "aggregator away: {reports} reports made, {dropped} dropped, outbox at most {outbox_max}; \
         agent RSS {} KiB -> at most {} KiB",
        rss_start / 1024,
        rss_max / 1024
    );
    assert!(
        outbox_max <= BUFFER,
        "the outbox holds at most 20: {outbox_max}"
    );
    assert!(reports > 1000.0, "reports kept coming: {reports}");
    assert!(
        dropped >= reports - BUFFER,
        "the rest were dropped: {dropped} of {reports}"
    );
    // Unbounded, ~2000 more reports of ~1.5 KiB would show; bounded, RSS
    // stays put.
    assert!(
        rss_max < rss_start + 1024 * 1024,
        "memory stays bounded: {} -> {} bytes",
        rss_start,
        rss_max
    );

    // The aggregator returns: the kept reports arrive, and the count of the
    // dropped ones is exactly the reports it never sees.
    let aggregator = aggregator(&bed).await;
    eventually("the backlog and new reports", WAIT, || async {
        let accepted = accepted_sequences(&aggregator, INSTANCE).len();
        (accepted >= 60)
            .then_some(())
            .ok_or(format!("{accepted} so far"))
    })
    .await;
    let dropped = face
        .metric("greenlight_agent_reports_dropped_total")
        .await
        .unwrap();
    agent.process.terminate().await;
    let accepted = accepted_sequences(&aggregator, INSTANCE);
    println!(
        "aggregator back: accepted {}..={} ({} reports); the agent counted {dropped} dropped",
        accepted[0],
        accepted.last().unwrap(),
        accepted.len()
    );
    assert_eq!(
        accepted[0] as f64,
        dropped + 1.0,
        "every report before the first accepted one was dropped, and counted"
    );
    let expected: Vec<u64> = (accepted[0]..=*accepted.last().unwrap()).collect();
    assert_eq!(accepted, expected, "after that, nothing missing");
}
