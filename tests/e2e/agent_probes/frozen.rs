//! PostgreSQL frozen with SIGSTOP (its port still accepts, nothing
//! answers): the postgres check fails by timeout within timeout plus one
//! interval, while the redis and http checks keep fresh results and the
//! reports keep their pace of one per interval.

use std::time::{Duration, Instant, SystemTime};

use greenlight_testbed::{Postgres, RedisServer, free_port};

use super::support::{agent, backend};
use crate::bed::Bed;

const INTERVAL: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_millis(800);
/// How long PostgreSQL stays frozen while the rest is watched.
const FROZEN_FOR: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_database_times_out_and_nothing_else_waits() {
    let postgres = Postgres::start().await.expect("PostgreSQL");
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let backend_port = free_port();
    let _backend = backend(backend_port, 20).await;
    let checks = format!(
        "[checks.postgres]\nurl = \"{}\"\n[checks.redis]\nurl = \"{}\"\n\
         [checks.http]\nurl = \"http://127.0.0.1:{backend_port}/health\"\n",
        postgres.url(),
        redis.url()
    );
    let agent = agent(
        &bed,
        "green-1",
        "interval = \"1s\"\ntimeout = \"800ms\"",
        &checks,
    );
    let face = &agent.face;
    face.wait_up().await;
    for key in [
        "postgres:responseTime",
        "redis:responseTime",
        "http:statusCode",
    ] {
        face.wait_status(key, "pass", Duration::from_secs(30)).await;
    }

    postgres.freeze();
    let frozen_at = Instant::now();
    // Generous bound: the agent needs at most timeout + interval.
    let failed = face
        .wait_status(
            "postgres:responseTime",
            "fail",
            TIMEOUT + INTERVAL + Duration::from_secs(5),
        )
        .await;
    let took = frozen_at.elapsed();
    println!(
        "frozen PostgreSQL failed after {took:?} (timeout {TIMEOUT:?} + interval {INTERVAL:?} = {:?}): {}",
        TIMEOUT + INTERVAL,
        failed["output"]
    );
    assert_eq!(failed["output"], "timed out after 800ms");

    // While it stays frozen, the others keep their pace.
    let reports_before = face.metric("greenlight_agent_reports_total").await.unwrap();
    let watch_started = Instant::now();
    let mut oldest = Duration::ZERO;
    while watch_started.elapsed() < FROZEN_FOR {
        for key in ["redis:responseTime", "http:statusCode"] {
            let entry = face.entry(key).await.unwrap();
            assert_eq!(entry["status"], "pass", "{key} while PostgreSQL is frozen");
            oldest = oldest.max(age(&entry));
        }
        let postgres = face.entry("postgres:responseTime").await.unwrap();
        assert_eq!(postgres["status"], "fail", "stays failing while frozen");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let reports = face.metric("greenlight_agent_reports_total").await.unwrap() - reports_before;
    let watched = watch_started.elapsed();
    println!(
        "while frozen: {reports} reports in {watched:?} (one per {INTERVAL:?}); \
         the oldest redis/http result seen was {oldest:?} old"
    );
    let expected = watched.as_secs_f64() / INTERVAL.as_secs_f64();
    assert!(
        reports >= expected - 2.0,
        "reports kept their pace: {reports} in {watched:?}"
    );
    assert!(
        oldest < 3 * INTERVAL,
        "redis and http results stay fresh: {oldest:?}"
    );

    postgres.thaw();
    let thawed_at = Instant::now();
    face.wait_status("postgres:responseTime", "pass", Duration::from_secs(30))
        .await;
    println!(
        "PostgreSQL thawed: passing again after {:?}",
        thawed_at.elapsed()
    );
}

/// How old a face entry's `time` is.
fn age(entry: &serde_json::Value) -> Duration {
    let time = entry["time"].as_str().expect("every entry has a time");
    let at = parse_rfc3339(time).unwrap_or_else(|| panic!("{time:?} is not an RFC 3339 time"));
    SystemTime::now().duration_since(at).unwrap_or_default()
}

/// `2026-01-02T03:04:05.678Z` -> a `SystemTime` (UTC, days from the civil
/// calendar; no leap seconds, as RFC 3339 timestamps in logs have none).
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut date = date.split('-').map(|part| part.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let mut clock = time.split(':');
    let hours: u64 = clock.next()?.parse().ok()?;
    let minutes: u64 = clock.next()?.parse().ok()?;
    let seconds: f64 = clock.next()?.parse().ok()?;
    // Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = u64::try_from(era * 146_097 + doe - 719_468).ok()?;
    let whole = days * 86_400 + hours * 3600 + minutes * 60;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(whole) + Duration::from_secs_f64(seconds))
}
