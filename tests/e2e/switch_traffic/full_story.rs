//! The whole story with the real pieces: green READY, a cutover through the
//! switch script, 20% errors injected into green, and the aggregator rolling
//! back through the switch script with nobody acting, until requests are
//! served by blue again. Agents probe once a second.
//!
//! The time from fault injection to the switch is printed (a figure, not an
//! assertion). `STORY_RUNS=N` repeats the fault-and-rollback
//! cycle N times (redeploying green's agent between runs) and prints the
//! median: that is the benchmark in docs/BENCHMARKS.md.

use std::time::{Duration, Instant};

use greenlight_proto::v1::{Decision, Phase};
use greenlight_testbed::{Process, RedisServer, eventually};

use super::haproxy::Haproxy;
use super::load::color_of;
use super::script::{Script, deploy_dir};
use crate::bed::{Bed, DEPLOYMENT, Dependencies, SETTLE, history_field, set_switches};

const RULES: &str = "ready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\n";

fn hooks() -> String {
    let script = deploy_dir().join("switch-traffic");
    let script = script.to_str().expect("UTF-8");
    format!(
        "[hooks.cutover]\ncommand = [\"{script}\", \"{{direction}}\"]\ntimeout = \"30s\"\n\
         [hooks.rollback]\ncommand = [\"{script}\", \"{{direction}}\", \"--force\"]\ntimeout = \"30s\"\n"
    )
}

async fn wait_live(haproxy: &Haproxy, color: &str) -> Instant {
    let deadline = Instant::now() + SETTLE;
    loop {
        if haproxy.live().await == color {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "HAProxy never sent traffic to {color}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aggregator_rolls_back_through_the_switch_script_with_nobody_acting() {
    let runs: usize = std::env::var("STORY_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(1);
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    // 100 requests a second each: a small production service.
    let (_blue_backend, blue) = bed.backend_with_load("blue", "v3.0.0", 100).await;
    let (_green_backend, green) = bed.backend_with_load("green", "v3.1.0", 100).await;
    let haproxy = Haproxy::start(&blue, &green).await;
    let script = haproxy
        .script(Script::new(bed.dir.path()))
        .with("GREENLIGHT_AGGREGATOR", &bed.aggregator_url());
    let env: Vec<(String, String)> = script.env().to_vec();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let config = format!("{RULES}{}", hooks());
    let _aggregator = bed
        .aggregator_with_env(Some(&redis.url()), &config, &env)
        .await;
    let none = || Dependencies {
        postgres: None,
        redis: None,
    };
    let _blue_agent = bed.agent("blue", "blue-1", &blue, none(), "1s");
    let mut green_agent: Process = bed.agent("green", "green-1", &green, none(), "1s");

    let mut took = Vec::new();
    for run in 1..=runs {
        bed.verdict_where("green READY", SETTLE, |v| {
            v.decision() == Decision::Ready && v.phase() == Phase::Ready
        })
        .await;
        let (code, stdout, stderr) = bed.cli(&["cutover", DEPLOYMENT]).await;
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        wait_live(&haproxy, "green").await;
        assert_eq!(color_of(&haproxy.url()).await.unwrap(), "green");

        set_switches(&green, r#"{"error_ratio": 0.2}"#).await;
        let injected = Instant::now();
        let switched = wait_live(&haproxy, "blue").await;
        let seconds = switched.duration_since(injected).as_secs_f64();
        took.push(seconds);
        println!("run {run}: fault injected -> HAProxy back on blue in {seconds:.2} s");
        let served = eventually("requests served by blue", SETTLE, || async {
            color_of(&haproxy.url())
                .await
                .ok()
                .filter(|color| color == "blue")
        })
        .await;
        assert_eq!(served, "blue");
        bed.verdict_where("RolledBack", SETTLE, |v| v.phase() == Phase::RolledBack)
            .await;
        // HAProxy flips before the script logs and exits: wait for the
        // aggregator to record the rollback hook's end before counting.
        eventually("the rollback hook recorded as finished", SETTLE, || async {
            let outcomes = history_field(&redis.url(), "hook", "outcome").await;
            (outcomes.len() == 2 * run).then_some(())
        })
        .await;

        // Redeploy green for the next run: healthy again, a new agent run.
        set_switches(&green, r#"{"error_ratio": 0.0}"#).await;
        green_agent.kill().await;
        green_agent = bed.agent("green", "green-1", &green, none(), "1s");
    }

    let actions = history_field(&redis.url(), "action", "action").await;
    assert_eq!(
        actions.len(),
        2 * runs,
        "one cutover and one rollback per run: {actions:?}"
    );
    let outcomes = history_field(&redis.url(), "hook", "outcome").await;
    assert!(
        outcomes.iter().all(|o| o == "ok"),
        "every hook ran: {outcomes:?}"
    );
    let log = script.log_lines();
    assert_eq!(log.len(), 2 * runs, "{log:?}");
    took.sort_by(f64::total_cmp);
    let median = took[took.len() / 2];
    println!(
        "fault -> switch over {runs} run(s): median {median:.2} s, min {:.2} s, max {:.2} s (probe interval 1 s)",
        took[0],
        took[took.len() - 1]
    );
}
