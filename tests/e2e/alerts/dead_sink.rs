//! A sink that accepts connections and never answers delays no rollback
//! and no other sink: the rollback hook's start is measured with and
//! without it (printed, not asserted), a live sink beside the dead one gets
//! the rollback alert, and what the dead sink could not take is logged and counted
//! (`greenlight_alerts_dropped_total` on the aggregator's /metrics, beside
//! the hook's own `greenlight_hook_runs_total`).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use greenlight_testbed::{eventually, free_port};
use tokio::net::TcpListener;

use super::receiver::Receiver;
use super::story;
use crate::bed::{Bed, SETTLE, path_str, set_switches};
use crate::http_face::metrics::{scrape, value};

/// Accepts and holds every connection, never reading or writing.
async fn dead_sink() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alerts", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

/// The rollback hook writes when it started (seconds since the epoch).
fn hooks(record: &Path) -> String {
    format!(
        "[hooks.rollback]\ncommand = [\"sh\", \"-c\", \"date +%s.%N > {}\"]\ntimeout = \"10s\"\n",
        path_str(record)
    )
}

/// From the error spike to the rollback hook's start; the aggregator's
/// log; and its /metrics' `greenlight_alerts_dropped_total` for the sink
/// `dead`, queue_full and undeliverable. With a `live` sink, waits until
/// it got the rollback alert.
async fn rollback_hook_delay(sinks: &str, live: Option<&Receiver>) -> (Duration, String, f64) {
    let bed = Bed::new();
    let record = bed.dir.path().join("rollback-started");
    let http_port = free_port();
    let http = format!("[http]\nlisten = \"127.0.0.1:{http_port}\"\n");
    let aggregator = story::aggregator(&bed, &format!("{}{http}{sinks}", hooks(&record))).await;
    let pair = bed.pair(None).await;
    bed.cut_over_when_ready().await;
    let spiked = SystemTime::now();
    set_switches(&pair.green, r#"{"error_ratio": 0.3}"#).await;
    let started = eventually("the rollback hook", SETTLE, || async {
        let text = std::fs::read_to_string(&record).ok()?;
        text.trim().parse::<f64>().ok()
    })
    .await;
    let started = UNIX_EPOCH + Duration::from_secs_f64(started);
    let delay = started.duration_since(spiked).unwrap_or_default();
    if let Some(live) = live {
        eventually("the live sink's rollback alert", SETTLE, || async {
            let bodies = live.bodies("/alerts");
            bodies
                .iter()
                .any(|body| body["event"] == "rollback")
                .then_some(())
                .ok_or(format!("the live sink got {bodies:?}"))
        })
        .await;
    }
    let metrics = format!("http://127.0.0.1:{http_port}/metrics");
    let scrape = scrape(&metrics).await.expect("the aggregator's /metrics");
    let dropped = ["queue_full", "undeliverable"]
        .iter()
        .filter_map(|reason| {
            value(
                &scrape,
                "greenlight_alerts_dropped_total",
                &[("sink", "dead"), ("reason", reason)],
            )
        })
        .sum();
    // The hook that started is counted where an operator would look.
    let runs = value(
        &scrape,
        "greenlight_hook_runs_total",
        &[("action", "rollback")],
    );
    assert!(
        runs.is_some_and(|runs| runs >= 1.0),
        "greenlight_hook_runs_total{{action=\"rollback\"}} counts the rollback hook: {runs:?}"
    );
    (delay, aggregator.output_so_far(), dropped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_never_answers_delays_no_rollback() {
    let (without, _, none) = rollback_hook_delay("", None).await;
    assert_eq!(none, 0.0, "no sink, nothing dropped");

    let (dead, _listener) = dead_sink().await;
    let live = Receiver::start().await;
    let sinks = format!(
        "[[alerts.sink]]\nname = \"dead\"\nkind = \"webhook\"\nurl = \"{dead}\"\nqueue = 1\nretries = 5\ntimeout = \"30s\"\n[[alerts.sink]]\nname = \"live\"\nkind = \"webhook\"\nurl = \"{}/alerts\"\n",
        live.url
    );
    let (with, log, dropped) = rollback_hook_delay(&sinks, Some(&live)).await;
    println!(
        "rollback hook started {:.3} s after the error spike without a sink, {:.3} s with a dead one",
        without.as_secs_f64(),
        with.as_secs_f64()
    );
    assert!(
        log.contains("alert dropped") && log.contains("queue_full"),
        "what the dead sink could not take is said: {log}"
    );
    assert!(dropped >= 1.0, "and counted in /metrics: {dropped}");
}
