//! Issue 5, the aggregator's side: cutover refused while NOT_READY (nothing
//! run, reasons printed, exit 1); a hook that hangs is killed at its
//! timeout, recorded as failed; the engine learns it (issue 9): the
//! deployment is back to Ready with `cutover_failed` and a critical alert,
//! no bake; the next decision still runs its hook, with the decision in its
//! environment.

use std::time::Duration;

use greenlight_proto::v1::{Decision, Phase};
use greenlight_testbed::{RedisServer, eventually};

use crate::bed::{Bed, DEPLOYMENT, SETTLE, history, set_switches};

const RULES: &str = "ready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\n";

fn hooks(cutover: &str, rollback: &str) -> String {
    format!(
        "[deployments.{DEPLOYMENT}]\nlive = \"blue\"\n[hooks.cutover]\ncommand = {cutover}\ntimeout = \"1s\"\nretries = 0\n[hooks.rollback]\ncommand = {rollback}\ntimeout = \"10s\"\nretries = 1\nbackoff = \"100ms\"\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutover_while_not_ready_is_refused_with_the_reasons_and_runs_nothing() {
    let bed = Bed::new();
    let marker = bed.dir.path().join("cutover-ran");
    let cutover = format!("[\"touch\", \"{}\"]", marker.display());
    let config = format!("{RULES}{}", hooks(&cutover, "[\"true\"]"));
    let _aggregator = bed.aggregator_with(None, &config).await;

    let (code, stdout, stderr) = bed.cli(&["cutover", DEPLOYMENT]).await;
    assert_eq!(code, 1, "refused: {stdout}\n{stderr}");
    assert!(stderr.contains("not READY"), "{stderr}");
    assert!(
        stderr.contains("no green agent is connected"),
        "the reasons: {stderr}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!marker.exists(), "no hook ran");
    let (code, stdout, _) = bed.cli(&["verdict", DEPLOYMENT]).await;
    assert_eq!(code, 1);
    assert!(
        stdout.contains("phase Normal"),
        "nothing switched: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_hook_is_killed_recorded_and_alerted_and_the_next_decision_works() {
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let record = bed.dir.path().join("rollback-env");
    let rollback = format!(
        "[\"sh\", \"-c\", \"echo $GREENLIGHT_ACTION $GREENLIGHT_DIRECTION $GREENLIGHT_EPOCH $GREENLIGHT_DEPLOYMENT > {}; echo \\\"$GREENLIGHT_VERDICT\\\" >> {}\"]",
        record.display(),
        record.display()
    );
    // Hangs the first time (killed at its 1 s timeout), succeeds after.
    let once = bed.dir.path().join("cutover-hung-once");
    let cutover = format!(
        "[\"sh\", \"-c\", \"if [ -e {0} ]; then exit 0; fi; touch {0}; sleep 600\"]",
        once.display()
    );
    let config = format!("{RULES}{}", hooks(&cutover, &rollback));
    let _aggregator = bed.aggregator_with(Some(&redis.url()), &config).await;
    let pair = bed.pair(None).await;
    bed.verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
        .await;

    let (code, stdout, stderr) = bed.cli(&["cutover", DEPLOYMENT]).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("the bake starts when it confirms"),
        "{stdout}"
    );

    // The cutover hook hangs: killed at its 1 s timeout, recorded.
    let failed = eventually("the hung hook's record", SETTLE, || async {
        history(&redis.url(), "hook")
            .await
            .into_iter()
            .find(|entry| entry.get::<String>("action").as_deref() == Some("cutover"))
    })
    .await;
    assert_eq!(failed.get::<String>("outcome").as_deref(), Some("failed"));
    assert!(failed.get::<String>("exit").unwrap().contains("timed out"));
    let duration: u64 = failed
        .get::<String>("duration_ms")
        .unwrap()
        .parse()
        .unwrap();
    println!("hung hook killed after {duration} ms (timeout 1000 ms)");
    assert!(duration >= 1000, "{duration}");
    // The engine learnt it: back to Ready, no bake, and it says why.
    let back = bed
        .verdict_where("Ready with cutover_failed", SETTLE, |v| {
            v.reasons.iter().any(|r| r.rule == "cutover_failed")
        })
        .await;
    assert_eq!(back.phase(), Phase::Ready, "{:?}", back.reasons);
    assert!(back.bake_deadline.is_none(), "no bake started");
    let (_, shown, _) = bed.cli(&["verdict", DEPLOYMENT]).await;
    assert!(shown.contains("cutover_failed"), "{shown}");
    let alert = eventually("the critical alert", SETTLE, || async {
        history(&redis.url(), "alert")
            .await
            .into_iter()
            .find(|entry| {
                entry
                    .get::<String>("summary")
                    .is_some_and(|s| s.contains("CUTOVER FAILED"))
            })
    })
    .await;
    assert_eq!(alert.get::<String>("severity").as_deref(), Some("critical"));

    // A second cutover (a person looked) goes through and the bake starts.
    let (code, stdout, stderr) = bed.cli(&["cutover", DEPLOYMENT]).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    bed.verdict_where("Baking", SETTLE, |v| v.phase() == Phase::Baking)
        .await;

    // The next decision still works: an error spike rolls back and the
    // rollback hook runs with the decision in its environment.
    set_switches(&pair.green, r#"{"error_ratio": 0.3}"#).await;
    let rolled_back = bed
        .verdict_where("ROLLBACK", SETTLE, |v| v.phase() == Phase::RolledBack)
        .await;
    let written = eventually("the rollback hook's output", SETTLE, || async {
        std::fs::read_to_string(&record)
            .ok()
            .filter(|text| text.lines().count() >= 2)
    })
    .await;
    let first = written.lines().next().unwrap();
    // The hook carries the epoch of the verdict that decided the rollback
    // (RolledBack itself comes after, when the hook confirmed it).
    assert_eq!(rolled_back.live(), greenlight_proto::v1::Color::Blue);
    let decided = eventually("the rollback decision", SETTLE, || async {
        history(&redis.url(), "action")
            .await
            .into_iter()
            .find(|entry| entry.get::<String>("action").as_deref() == Some("rollback"))
    })
    .await;
    let expected_epoch = decided.get::<String>("epoch").unwrap();
    assert_eq!(
        first,
        format!("rollback green-to-blue {expected_epoch} {DEPLOYMENT}"),
        "{written}"
    );
    let verdict: serde_json::Value = serde_json::from_str(written.lines().nth(1).unwrap()).unwrap();
    assert_eq!(verdict["decision"], "ROLLBACK");
    let ok = eventually("the rollback hook's record", SETTLE, || async {
        history(&redis.url(), "hook")
            .await
            .into_iter()
            .find(|entry| entry.get::<String>("action").as_deref() == Some("rollback"))
    })
    .await;
    assert_eq!(ok.get::<String>("outcome").as_deref(), Some("ok"));
}
