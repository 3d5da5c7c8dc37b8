//! Acceptance (issue 9, (b)): with HAProxy configured as the deployment's
//! traffic source, the verdict follows where traffic goes, whoever moved it.
//!
//! - A person runs `deploy/switch-traffic blue-to-green`: the script asks
//!   the aggregator for the cutover, the verdict's live color becomes green
//!   and the bake is armed (Baking); the aggregator's own cutover hook finds
//!   traffic already there; a fault in green then rolls back through the
//!   rollback hook.
//! - HAProxy moved to green over its runtime API, behind greenlight's back:
//!   the verdict's live color becomes green, and the transition's cause
//!   names `external_switch`.

use greenlight_proto::v1::{Color, Decision, Phase, Verdict};
use greenlight_testbed::{RedisServer, eventually};

use super::haproxy::Haproxy;
use super::script::{Script, deploy_dir};
use crate::bed::{Bed, Dependencies, SETTLE, history_field, set_switches};

/// Short windows so the story fits a test; a fault is 20% errors, far over
/// the 5% threshold with enough requests to count.
const RULES: &str = "ready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\n";

/// The deployment, with HAProxy's runtime API as where traffic is read.
fn deployment(haproxy: &Haproxy) -> String {
    format!(
        "[deployments.escashop]\nlive = \"blue\"\n\
         [deployments.escashop.traffic_source]\nkind = \"haproxy\"\nsocket = \"{}\"\n\
         backend = \"escashop\"\npoll = \"200ms\"\n",
        haproxy.socket().display()
    )
}

/// The aggregator's own switch: the script, as deploy/aggregator.toml runs it.
fn hooks() -> String {
    let script = deploy_dir().join("switch-traffic");
    let script = script.to_str().expect("UTF-8");
    format!(
        "[hooks.cutover]\ncommand = [\"{script}\", \"{{direction}}\"]\ntimeout = \"90s\"\n\
         [hooks.rollback]\ncommand = [\"{script}\", \"{{direction}}\", \"--force\"]\ntimeout = \"30s\"\n"
    )
}

fn no_dependencies() -> Dependencies<'static> {
    Dependencies {
        postgres: None,
        redis: None,
    }
}

fn causes(verdict: &Verdict) -> Vec<&str> {
    verdict
        .transitions
        .iter()
        .map(|transition| transition.cause.as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cutover_run_by_a_person_arms_the_bake_and_a_fault_rolls_back() {
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let (_blue_backend, blue) = bed.backend_with_load("blue", "v3.0.0", 100).await;
    let (_green_backend, green) = bed.backend_with_load("green", "v3.1.0", 100).await;
    let haproxy = Haproxy::start(&blue, &green).await;
    let script = haproxy
        .script(Script::new(bed.dir.path()))
        .with("GREENLIGHT_AGGREGATOR", &bed.aggregator_url());
    // The hooks run the script with the same settings.
    let env: Vec<(&str, &str)> = script
        .env()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let config = format!("{RULES}{}{}", hooks(), deployment(&haproxy));
    let _aggregator = bed
        .aggregator_with_env(Some(&redis.url()), &config, &env)
        .await;
    let _blue_agent = bed.agent("blue", "blue-1", &blue, no_dependencies(), "1s");
    let _green_agent = bed.agent("green", "green-1", &green, no_dependencies(), "1s");
    bed.verdict_where("green READY", SETTLE, |verdict| {
        verdict.decision() == Decision::Ready && verdict.phase() == Phase::Ready
    })
    .await;

    // The guide's usage, by hand: no epoch, no --force.
    script
        .run(&["blue-to-green"])
        .await
        .expect_code(0, "a cutover by a person while green is READY")
        .expect_said("Traffic switched to Green");
    assert_eq!(haproxy.live().await, "green");
    let baking = bed
        .verdict_where("live green, baking", SETTLE, |verdict| {
            verdict.live() == Color::Green && verdict.phase() == Phase::Baking
        })
        .await;
    assert!(baking.bake_deadline.is_some(), "{baking:?}");

    // The aggregator's cutover hook waited for the person's switch (the
    // lock) and found traffic there: it succeeded and switched nothing.
    let outcomes = eventually("the cutover hook recorded as finished", SETTLE, || async {
        let outcomes = history_field(&redis.url(), "hook", "outcome").await;
        (!outcomes.is_empty()).then_some(outcomes)
    })
    .await;
    assert_eq!(outcomes, ["ok"]);
    assert_eq!(script.log_lines().len(), 1, "{:?}", script.log_lines());

    // Armed: a fault in green rolls back, and HAProxy follows.
    set_switches(&green, r#"{"error_ratio": 0.2}"#).await;
    bed.verdict_where("rolled back to blue", SETTLE, |verdict| {
        verdict.phase() == Phase::RolledBack && verdict.live() == Color::Blue
    })
    .await;
    eventually("HAProxy back on blue", SETTLE, || async {
        let live = haproxy.live().await;
        (live == "blue").then_some(()).ok_or(live)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_behind_greenlights_back_is_followed_as_an_external_switch() {
    let bed = Bed::new();
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let haproxy = Haproxy::start(&blue, &green).await;
    let config = format!("{RULES}{}", deployment(&haproxy));
    let _aggregator = bed.aggregator_with(None, &config).await;
    let _blue_agent = bed.agent("blue", "blue-1", &blue, no_dependencies(), "500ms");
    let _green_agent = bed.agent("green", "green-1", &green, no_dependencies(), "500ms");
    bed.verdict_where("green READY", SETTLE, |verdict| {
        verdict.decision() == Decision::Ready && verdict.live() == Color::Blue
    })
    .await;

    // Someone moves HAProxy by hand, the way switch-traffic would, without
    // the script or the aggregator.
    let answer = haproxy
        .command(
            "set server escashop/green state ready; set weight escashop/green 100; \
             set server escashop/blue state drain",
        )
        .await
        .expect("HAProxy's runtime API");
    assert!(answer.trim().is_empty(), "HAProxy refused: {answer}");
    assert_eq!(haproxy.live().await, "green");

    let followed = bed
        .verdict_where("live green after an external switch", SETTLE, |verdict| {
            verdict.live() == Color::Green
                && causes(verdict)
                    .iter()
                    .any(|cause| cause.contains("external_switch"))
        })
        .await;
    // Traffic went to the ready candidate: the bake is armed for it.
    assert_eq!(followed.phase(), Phase::Baking, "{:?}", causes(&followed));
}
