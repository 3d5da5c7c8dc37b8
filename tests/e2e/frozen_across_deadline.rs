//! Issue 9 (d), Verified only on evidence, end to end: the aggregator is
//! SIGSTOPped during a short bake while green starts returning 50% errors,
//! and continued after the bake deadline has passed. The agents buffer what
//! they saw meanwhile; the aggregator waits for those reports, evaluates
//! them in order, and rolls back: ROLLBACK / RolledBack, never Verified, in
//! the verdict, its transitions and the history.

use std::time::{Duration, SystemTime};

use greenlight_proto::time::from_timestamp;
use greenlight_proto::v1::{Decision, Phase};
use greenlight_testbed::{RedisServer, eventually};

use crate::bed::{Bed, SETTLE, history, history_field, set_switches};

const RULES: &str = "ready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\n\
                     bake_for = \"20s\"\n";
/// How long past the deadline the aggregator stays stopped.
const PAST_THE_DEADLINE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bake_deadline_passed_while_stopped_rolls_back_on_the_buffered_errors() {
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let aggregator = bed.aggregator_with(Some(&redis.url()), RULES).await;
    let pair = bed.pair(None).await;
    let baking = bed.cut_over_when_ready().await;
    let deadline = baking
        .bake_deadline
        .as_ref()
        .and_then(from_timestamp)
        .expect("a Baking verdict has a bake deadline");

    aggregator.freeze();
    assert!(
        SystemTime::now() < deadline,
        "the machine is too slow: the 20 s bake was over before the aggregator was stopped"
    );
    set_switches(&pair.green, r#"{"error_ratio": 0.5}"#).await;
    let resume_at = deadline + PAST_THE_DEADLINE;
    let until_resume = resume_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    println!("aggregator stopped; continuing it in {until_resume:?}, 10 s past the bake deadline");
    tokio::time::sleep(until_resume).await;
    aggregator.thaw();

    let ended = bed
        .verdict_where("the bake to end after the thaw", SETTLE * 2, |v| {
            matches!(v.phase(), Phase::Verified | Phase::RolledBack)
        })
        .await;
    assert_eq!(
        (ended.decision(), ended.phase()),
        (Decision::Rollback, Phase::RolledBack),
        "50% errors buffered across the deadline must roll back: {:?}",
        ended.reasons
    );
    if let Some(rollback) = ended
        .transitions
        .iter()
        .find(|t| t.to() == Phase::RolledBack)
    {
        println!("rolled back: {}", rollback.cause);
    }
    assert!(
        ended.transitions.iter().all(|t| t.to() != Phase::Verified),
        "never Verified: {:?}",
        ended.transitions
    );
    assert_eq!(
        greenlight_proto::names::color_name(ended.live()),
        "blue",
        "traffic is back on blue"
    );

    // The history agrees: one cutover, one rollback, and no verdict that
    // was ever published said Verified.
    let actions = eventually("the rollback in the history", SETTLE, || async {
        let actions = history_field(&redis.url(), "action", "action").await;
        (actions.len() >= 2).then_some(actions)
    })
    .await;
    assert_eq!(actions, ["cutover", "rollback"]);
    let published = history(&redis.url(), "verdict").await;
    let verified: Vec<String> = published
        .iter()
        .filter_map(|entry| entry.get::<String>("verdict"))
        .filter(|json| {
            serde_json::from_str::<serde_json::Value>(json)
                .map_or(true, |verdict| verdict["phase"] == "Verified")
        })
        .collect();
    assert!(
        verified.is_empty(),
        "published as Verified (or unreadable): {verified:?}"
    );
    assert!(
        published.len() > 2,
        "the history holds the bake's verdicts: {}",
        published.len()
    );
}
