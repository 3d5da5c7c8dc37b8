//! Acceptance: green's PostgreSQL stopped gives NOT_READY within 3 report
//! intervals, and the reason names the color, the agent, the `postgres`
//! check and the error.

use std::time::{Duration, SystemTime};

use greenlight_proto::time::from_timestamp;
use greenlight_proto::v1::{Color, Decision};
use greenlight_testbed::{Postgres, RedisServer};

use crate::bed::{Bed, DEPLOYMENT, Dependencies, SETTLE};

const INTERVAL: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn green_postgres_stopped_is_not_ready_within_three_intervals() {
    let blue_postgres = Postgres::start().await.expect("blue's PostgreSQL");
    let mut green_postgres = Postgres::start().await.expect("green's PostgreSQL");
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let _aggregator = bed.aggregator(None, "2s").await;
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let (blue_pg, green_pg, redis_url) = (blue_postgres.url(), green_postgres.url(), redis.url());
    let _blue_agent = bed.agent(
        "blue",
        "blue-1",
        &blue,
        Dependencies {
            postgres: Some(&blue_pg),
            redis: Some(&redis_url),
        },
        "1s",
    );
    let _green_agent = bed.agent(
        "green",
        "green-1",
        &green,
        Dependencies {
            postgres: Some(&green_pg),
            redis: Some(&redis_url),
        },
        "1s",
    );
    bed.verdict_where("green READY", SETTLE, |v| v.decision() == Decision::Ready)
        .await;

    green_postgres.stop().await;
    let stopped_at = SystemTime::now();

    let verdict = bed
        .verdict_where("NOT_READY after green's PostgreSQL stopped", SETTLE, |v| {
            v.decision() == Decision::NotReady
        })
        .await;
    let decided_at = verdict
        .decided_at
        .as_ref()
        .and_then(from_timestamp)
        .expect("decided_at");
    let took = decided_at.duration_since(stopped_at).unwrap_or_default();
    println!("NOT_READY decided {took:?} after PostgreSQL stopped (interval {INTERVAL:?})");
    assert!(
        took <= 3 * INTERVAL,
        "NOT_READY took {took:?}, more than 3 intervals"
    );

    let reason = verdict
        .reasons
        .iter()
        .find(|reason| reason.check == "postgres")
        .unwrap_or_else(|| panic!("a postgres reason in {:?}", verdict.reasons));
    assert_eq!(reason.rule, "check_failed");
    assert_eq!(reason.color(), Color::Green);
    assert_eq!(reason.agent, "green-1");
    assert!(!reason.error.is_empty(), "the error is given: {reason:?}");
    assert!(reason.message.contains("green"), "{}", reason.message);
    assert!(reason.message.contains("postgres"), "{}", reason.message);
    assert!(reason.message.contains(&reason.error), "{}", reason.message);
    assert!(
        verdict
            .reasons
            .iter()
            .all(|reason| reason.color() == Color::Green),
        "blue's own PostgreSQL is fine: {:?}",
        verdict.reasons
    );

    // The CLI tells the same story, and `wait` gives up with exit 1.
    let (code, stdout, _) = bed.cli(&["verdict", DEPLOYMENT]).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("NOT_READY") && stdout.contains("postgres"),
        "{stdout}"
    );
    let (code, stdout, stderr) = bed
        .cli(&["wait", DEPLOYMENT, "--until", "ready", "--timeout", "2s"])
        .await;
    assert_eq!(code, 1, "wait times out with exit 1: {stdout}\n{stderr}");
    assert!(stderr.contains("timed out"), "{stderr}");

    // PostgreSQL back: green recovers by itself.
    green_postgres
        .start_again()
        .await
        .expect("PostgreSQL restarts");
    bed.verdict_where("green READY again", SETTLE, |v| {
        v.decision() == Decision::Ready
    })
    .await;
}
