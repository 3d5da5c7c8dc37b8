//! Acceptance: a cutover run by a person is asked of a real aggregator
//! (`greenlight cutover`), so its readiness gate applies. Not READY: refused,
//! exit 1, the aggregator's reasons printed, nothing switched. READY:
//! accepted, and it switches. The aggregator down: the cutover exits 3 and
//! switches nothing, while a rollback and a forced cutover still switch.

use greenlight_proto::v1::{Decision, Phase};

use crate::bed::{Bed, Dependencies, SETTLE};

use super::haproxy::{Haproxy, Server};
use super::script::Script;

/// What the switch may change: each server's admin state and weight.
fn switchable(servers: &[Server]) -> Vec<(String, u32, u32)> {
    servers
        .iter()
        .map(|server| (server.name.clone(), server.admin_state, server.weight))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cutover_waits_for_ready_and_a_rollback_waits_for_nobody() {
    let bed = Bed::new();
    // escashop is configured, so it exists before any agent connects.
    let aggregator = bed
        .aggregator_with(
            None,
            "ready_after = \"1s\"\n\n[deployments.escashop]\nlive = \"blue\"",
        )
        .await;
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let haproxy = Haproxy::start(&blue, &green).await;
    let script = haproxy
        .script(Script::new(bed.dir.path()))
        .with("GREENLIGHT_AGGREGATOR", &bed.aggregator_url());

    // No green agent: not READY. Refused with the aggregator's reasons.
    let before = switchable(&haproxy.servers().await.unwrap());
    let refused = script.run(&["blue-to-green"]).await;
    refused
        .expect_code(1, "a cutover while escashop is not READY")
        .expect_said("escashop is not READY, so cutover is refused (")
        .expect_said("cutover refused by the aggregator (greenlight cutover exited 1");
    assert!(!refused.output().contains("Switching traffic"));
    assert_eq!(
        switchable(&haproxy.servers().await.unwrap()),
        before,
        "a refused cutover changes nothing in HAProxy"
    );
    assert!(
        script.log_lines().is_empty(),
        "nothing switched, nothing logged"
    );

    // Green's agent reports; green becomes READY; the cutover goes through.
    let no_dependencies = Dependencies {
        postgres: None,
        redis: None,
    };
    let _green_agent = bed.agent("green", "green-1", &green, no_dependencies, "500ms");
    bed.verdict_where("green READY", SETTLE, |verdict| {
        verdict.decision() == Decision::Ready
    })
    .await;
    script
        .run(&["blue-to-green"])
        .await
        .expect_code(0, "a cutover when READY")
        .expect_said("cutover: traffic goes to the candidate")
        .expect_said("Traffic switched to Green")
        .expect_said("The aggregator confirmed the cutover: escashop is baking");
    assert_eq!(haproxy.live().await, "green");
    // Accepted means the aggregator starts the bake, not only the script.
    bed.verdict_where("the bake started", SETTLE, |verdict| {
        verdict.phase() == Phase::Baking
    })
    .await;
    script
        .run(&["green-to-blue"])
        .await
        .expect_code(0, "a rollback");
    assert_eq!(haproxy.live().await, "blue");

    // The aggregator goes away.
    aggregator.terminate().await;
    let before = switchable(&haproxy.servers().await.unwrap());
    script
        .run(&["blue-to-green"])
        .await
        .expect_code(3, "a cutover with the aggregator down")
        .expect_said("cannot reach the aggregator to ask for escashop's cutover");
    assert_eq!(switchable(&haproxy.servers().await.unwrap()), before);
    assert_eq!(haproxy.live().await, "blue");

    // --force cuts over anyway, and a rollback needs no aggregator at all.
    script
        .run(&["blue-to-green", "--force"])
        .await
        .expect_code(0, "a forced cutover with the aggregator down");
    assert_eq!(haproxy.live().await, "green");
    script
        .run(&["green-to-blue"])
        .await
        .expect_code(0, "a rollback with the aggregator down");
    assert_eq!(haproxy.live().await, "blue");

    let log = script.log_lines();
    let switched: Vec<&str> = log
        .iter()
        .map(|line| line.split_once(": ").expect("TIMESTAMP: ...").1)
        .collect();
    assert_eq!(
        switched,
        [
            "Traffic switched blue-to-green (backend haproxy, not forced)",
            "Traffic switched green-to-blue (backend haproxy, not forced)",
            "Traffic switched blue-to-green (backend haproxy, forced)",
            "Traffic switched green-to-blue (backend haproxy, not forced)",
        ],
        "{log:#?}"
    );
}
