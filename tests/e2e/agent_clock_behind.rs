//! Issue 9 (e), one timeline end to end: green's agent runs under
//! libfaketime (Debian `faketime`) ten minutes behind. The aggregator maps
//! its clock onto its own, so a 1 s /health blip during the bake is a 1 s
//! failure, not "failing for 600 s": no rollback, and the bake ends
//! Verified. The verdict shows the agent's clock offset (about -600 s) and a
//! `clock_skew` warning naming it.

use std::path::Path;
use std::time::Duration;

use greenlight_proto::v1::{Phase, Verdict};
use greenlight_testbed::{Process, RedisServer, binary, eventually};

use crate::bed::{Bed, Dependencies, SETTLE, history, history_field, path_str, set_switches};

/// A failure longer than 8 s rolls back: the blip is far below it, the
/// 600 s that a compared agent clock would claim is far above it.
const RULES: &str = "ready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\n\
                     health_failure_for = \"8s\"\nbake_for = \"30s\"\n";
/// Green's agent clock minus the aggregator's.
const BEHIND_SECONDS: f64 = -600.0;
/// The estimate is the clocks' difference plus the smallest network delay
/// (milliseconds on loopback); this much slack covers a busy machine.
const OFFSET_SLACK_SECONDS: f64 = 5.0;

/// `greenlight-agent --config CONFIG` under `faketime -f -10m`. Only the
/// wall clock is moved, as a skewed host's would be: the monotonic clock
/// (tokio's timers) stays true.
fn agent_ten_minutes_behind(config: &Path) -> Process {
    let agent = binary("greenlight-agent");
    Process::spawn(
        "faketime",
        &["-f", "-10m", path_str(&agent), "--config", path_str(config)],
        &[("RUST_LOG", "info"), ("DONT_FAKE_MONOTONIC", "1")],
    )
    .expect(
        "starting greenlight-agent under faketime: apt-get install -y faketime (tests/run.sh installs it)",
    )
}

/// The clock offset the verdict shows for agent `instance`.
fn offset_of(verdict: &Verdict, instance: &str) -> Option<f64> {
    verdict
        .agents
        .iter()
        .find(|agent| agent.instance_id == instance)
        .map(|agent| agent.clock_offset_seconds)
}

fn shows_the_skew(verdict: &Verdict) -> Result<(), String> {
    let offset = offset_of(verdict, "green-1").ok_or("no agent green-1 in the verdict")?;
    if (offset - BEHIND_SECONDS).abs() > OFFSET_SLACK_SECONDS {
        return Err(format!(
            "green-1's clock offset is {offset} s, not about {BEHIND_SECONDS} s"
        ));
    }
    let warned = verdict
        .reasons
        .iter()
        .any(|reason| reason.rule == "clock_skew" && reason.agent == "green-1");
    if !warned {
        return Err(format!(
            "no clock_skew reason naming green-1: {:?}",
            verdict
                .reasons
                .iter()
                .map(|r| &r.message)
                .collect::<Vec<_>>()
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_ten_minutes_behind_does_not_turn_a_blip_into_a_rollback() {
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let _aggregator = bed.aggregator_with(Some(&redis.url()), RULES).await;
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let none = || Dependencies {
        postgres: None,
        redis: None,
    };
    let _blue_agent = bed.agent("blue", "blue-1", &blue, none(), "500ms");
    let config = bed.agent_config("green", "green-1", &green, none(), "500ms");
    let green_agent = agent_ten_minutes_behind(&config);

    bed.cut_over_when_ready().await;
    let client = bed.verdict_client().await;
    let skewed = eventually("the offset and clock_skew of green-1", SETTLE, || {
        let mut client = client.clone();
        async move {
            let verdict = current(&mut client).await?;
            shows_the_skew(&verdict).map(|()| verdict)
        }
    })
    .await;
    assert_eq!(skewed.phase(), Phase::Baking, "{:?}", skewed.reasons);
    println!(
        "green-1 clock offset as the verdict shows it: {:.3} s",
        offset_of(&skewed, "green-1").unwrap()
    );

    // The blip: /health fails for about a second.
    set_switches(&green, r#"{"health_failing": true}"#).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    set_switches(&green, r#"{"health_failing": false}"#).await;
    green_agent.wait_for_line("check failing", SETTLE).await;
    eventually(
        "a verdict in the history that saw the blip",
        SETTLE,
        || async {
            history(&redis.url(), "verdict")
                .await
                .iter()
                .filter_map(|entry| entry.get::<String>("verdict"))
                .any(|json| green_was_failing(&json))
                .then_some(())
        },
    )
    .await;

    // The bake runs to its end on the blip: Verified, never rolled back.
    let ended = bed
        .verdict_where("the bake to end", SETTLE * 2, |v| {
            matches!(v.phase(), Phase::Verified | Phase::RolledBack | Phase::Held)
        })
        .await;
    assert_eq!(
        ended.phase(),
        Phase::Verified,
        "a 1 s blip of an agent 10 min behind must not end the bake: {:?}",
        ended.reasons
    );
    assert!(
        ended
            .transitions
            .iter()
            .all(|t| t.to() != Phase::RolledBack),
        "{:?}",
        ended.transitions
    );
    let actions = history_field(&redis.url(), "action", "action").await;
    assert_eq!(actions, ["cutover"], "nothing but the cutover was decided");
    let offset = offset_of(&ended, "green-1").expect("green-1 in the Verified verdict");
    assert!(
        (offset - BEHIND_SECONDS).abs() <= OFFSET_SLACK_SECONDS,
        "the Verified verdict still shows the offset: {offset}"
    );
}

async fn current(
    client: &mut greenlight_proto::v1::verdict_service_client::VerdictServiceClient<
        tonic::transport::Channel,
    >,
) -> Result<Verdict, String> {
    client
        .get_verdict(greenlight_proto::v1::GetVerdictRequest {
            deployment: crate::bed::DEPLOYMENT.into(),
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| format!("{status:?}"))
}

/// A published verdict (JSON) in which green-1 fails its http check (or
/// one of the components its /health reports).
fn green_was_failing(json: &str) -> bool {
    let Ok(verdict) = serde_json::from_str::<serde_json::Value>(json) else {
        return false;
    };
    verdict["agents"].as_array().is_some_and(|agents| {
        agents.iter().any(|agent| {
            agent["instance_id"] == "green-1"
                && agent["failing_checks"].as_array().is_some_and(|checks| {
                    checks
                        .iter()
                        .any(|c| c.as_str().is_some_and(|c| c.starts_with("http")))
                })
        })
    })
}
