//! The load tool (bench/load, issue 14) against a real aggregator and a
//! real Redis: 20 agents at 2 reports a second for 3 s. It exits 0 and its
//! `--json` holds every figure, with reports accepted.

use std::time::Duration;

use greenlight_testbed::{RedisServer, binary};

use crate::bed::Bed;

#[tokio::test]
async fn greenlight_bench_measures_a_small_fleet_and_prints_every_figure() {
    let redis = RedisServer::start().await.expect("a Redis");
    let bed = Bed::new();
    let aggregator = bed.aggregator(Some(&redis.url()), "1s").await;

    let figures = bench(&[
        "--aggregator",
        &bed.aggregator_url(),
        "--agents",
        "20",
        "--rate",
        "2",
        "--duration",
        "3s",
        "--deployments",
        "2",
        "--redis",
        &redis.url(),
        "--aggregator-pid",
        &aggregator.pid().to_string(),
        "--json",
    ])
    .await;

    assert_eq!(figures["agents_connected"], 20, "{figures:#}");
    assert!(
        figures["reports_accepted"].as_u64().unwrap() > 0,
        "{figures:#}"
    );
    assert!(figures["accepted_per_second"].as_f64().unwrap() > 0.0);
    for figure in [
        "/aggregator/cpu_cores",
        "/aggregator/rss_connected_bytes",
        "/aggregator/rss_per_agent_bytes",
        "/get_verdict/p50_ms",
        "/get_verdict/p99_ms",
        "/redis_get/p99_ms",
        "/get_verdict_p99_over_redis_get_p99",
        "/publication/p50_ms",
        "/publication/p99_ms",
        "/target_accepted_per_second",
        "/target_rss_per_agent_bytes",
        "/target_get_verdict_p99_over_redis_get_p99",
        "/target_publication_p99_ms",
    ] {
        assert!(
            figures.pointer(figure).is_some_and(|v| v.is_number()),
            "{figure} missing: {figures:#}"
        );
    }
}

/// `--rollback-trials 2` against an aggregator whose rollback hook writes
/// when it starts: both trials reach a ROLLBACK verdict through the error
/// ratio, each timed to the decision and to the hook.
#[tokio::test]
async fn greenlight_bench_times_fault_to_rollback_trials() {
    let redis = RedisServer::start().await.expect("a Redis");
    let bed = Bed::new();
    let hook_log = bed.dir.path().join("rollback-hooks.log");
    let config = format!(
        "[redis]\nurl = \"{}\"\n[defaults]\nready_after = \"1s\"\n\
         [hooks.cutover]\ncommand = [\"true\"]\n\
         [hooks.rollback]\ncommand = [\"sh\", \"-c\", 'echo \"$GREENLIGHT_DEPLOYMENT $(date +%s%N)\" >> \"$0\"', \"{}\"]\n",
        redis.url(),
        hook_log.display()
    );
    let _aggregator = bed.aggregator_toml(&config, &[]).await;

    let figures = bench(&[
        "--aggregator",
        &bed.aggregator_url(),
        "--rollback-trials",
        "2",
        "--rate",
        "2",
        "--redis",
        &redis.url(),
        "--hook-log",
        &hook_log.display().to_string(),
        "--json",
    ])
    .await;

    let trials = figures["trials"].as_array().expect("a trials list");
    assert_eq!(trials.len(), 2, "{figures:#}");
    for trial in trials {
        assert!(trial["error"].is_null(), "{figures:#}");
        assert!(trial["decision_ms"].as_f64().unwrap() > 0.0, "{figures:#}");
        assert!(
            trial["hook_start_ms"].as_f64().unwrap() > 0.0,
            "{figures:#}"
        );
        assert!(
            trial["rules"]
                .as_array()
                .unwrap()
                .iter()
                .any(|rule| rule == "error_ratio"),
            "{figures:#}"
        );
    }
    assert_eq!(figures["decision"]["samples"], 2, "{figures:#}");
    assert_eq!(figures["expected_decision_ms"], 1000.0, "{figures:#}");
}

/// Runs `greenlight-bench` with `args` (bounded: 2 minutes); it must exit
/// 0, and its `--json` output is returned.
async fn bench(args: &[&str]) -> serde_json::Value {
    let run = tokio::process::Command::new(binary("greenlight-bench"))
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("greenlight-bench finishes within 2 minutes")
        .expect("running greenlight-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let figures: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    figures
}
