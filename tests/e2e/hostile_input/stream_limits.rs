//! Limits on what one stream may send: a 10 MB report gets a clear
//! RESOURCE_EXHAUSTED with the aggregator's memory bounded while a client
//! sends them for 30 s; a flooding stream is refused, typed.

use std::time::{Duration, Instant};

use greenlight_proto::v1::RejectReason;
use greenlight_proto::v1::agent_message::Body;
use greenlight_proto::v1::aggregator_message::Body as Answer;

use super::support::{RawStream, RealAgent, expect_reject, honest, intruder_hello, message};
use crate::bed::Bed;

/// Resident memory of a process, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_mb_report_gets_a_clear_error_and_memory_stays_bounded() {
    let bed = Bed::new();
    let aggregator = bed.aggregator(None, "1s").await;
    let huge = || {
        let mut report = honest(100, 0);
        report.sequence = 1;
        report.checks[0].error = "x".repeat(10 << 20);
        message(Body::Report(report))
    };

    let mut stream = RawStream::open(&bed, intruder_hello("big-1")).await;
    let status = stream.send_raw(huge()).await.expect_err("the stream ends");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("limits.max_message_bytes"),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("1048576"),
        "names the limit: {}",
        status.message()
    );

    // 30 s of them, each on a new stream (the old one is ended).
    let start_rss = rss_kib(aggregator.pid());
    let mut peak = start_rss;
    let mut sent = 0u32;
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        let mut stream = RawStream::open(&bed, intruder_hello("big-1")).await;
        let status = stream.send_raw(huge()).await.expect_err("each ends");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        sent += 1;
        peak = peak.max(rss_kib(aggregator.pid()));
    }
    eprintln!(
        "{sent} reports of 10 MB in 30 s; aggregator RSS {start_rss} KiB at the start, {peak} KiB at most"
    );
    assert!(sent >= 5, "the loop ran: {sent}");
    // Not one 10 MB message held: the growth stays well below one.
    assert!(
        peak < start_rss + 8 * 1024,
        "RSS grew from {start_rss} to {peak} KiB"
    );
    assert!(aggregator.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_stream_is_refused_typed_while_the_real_agent_is_served() {
    let bed = Bed::new();
    let _aggregator = bed
        .aggregator_with(
            None,
            "ready_after = \"1s\"\n[limits]\nmax_reports_per_second = 5\nreport_burst = 50",
        )
        .await;
    let real = RealAgent::ready(&bed).await;

    let mut flood = RawStream::open(&bed, intruder_hello("flood-1")).await;
    let (mut acked, mut limited) = (0u32, 0u32);
    for _ in 0..300 {
        let answer = flood.send(honest(100, 0)).await.expect("an answer");
        if matches!(answer.body, Some(Answer::Ack(_))) {
            acked += 1;
            continue;
        }
        expect_reject(
            answer,
            Some(RejectReason::RateLimited),
            "limits.max_reports_per_second",
            "an Ack or a RATE_LIMITED reject",
        );
        limited += 1;
    }
    eprintln!("300 reports as fast as answered: {acked} taken, {limited} refused");
    // The burst, and what 5 a second added while the loop ran.
    assert!((50..150).contains(&acked), "{acked} taken");
    assert_eq!(acked + limited, 300);
    real.still_ready(&bed).await;
}
