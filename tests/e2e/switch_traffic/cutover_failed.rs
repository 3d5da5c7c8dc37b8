//! Issue 9 (a), switches confirmed, with a real HAProxy: the cutover hook
//! cannot even start (its program does not exist). `greenlight cutover` is
//! accepted, the hook fails, and the deployment goes back to Ready with
//! `cutover_failed` and no bake, while HAProxy still sends every request to
//! blue and the history holds a critical alert. The aggregator learns the
//! hook's outcome because it confirms switches whenever a hook is
//! configured (`confirm_switch`).

use greenlight_testbed::{RedisServer, eventually};

use super::haproxy::Haproxy;
use super::load::color_of;
use super::script::{Script, deploy_dir};
use crate::bed::{Bed, DEPLOYMENT, Dependencies, SETTLE, history};

const RULES: &str = "ready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\n";
const MISSING_PROGRAM: &str = "/nonexistent/greenlight-switch-traffic";

/// A cutover hook whose program is not there (no retries: it fails for
/// good at once); the rollback hook is the shipped script, as in
/// `full_story`.
fn hooks() -> String {
    let script = deploy_dir().join("switch-traffic");
    let script = script.to_str().expect("UTF-8");
    format!(
        "[hooks.cutover]\ncommand = [\"{MISSING_PROGRAM}\", \"{{direction}}\"]\ntimeout = \"10s\"\nretries = 0\n\
         [hooks.rollback]\ncommand = [\"{script}\", \"{{direction}}\", \"--force\"]\ntimeout = \"30s\"\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cutover_hook_that_cannot_start_leaves_ready_with_traffic_on_blue() {
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;
    let haproxy = Haproxy::start(&blue, &green).await;
    let script = haproxy
        .script(Script::new(bed.dir.path()))
        .with("GREENLIGHT_AGGREGATOR", &bed.aggregator_url());
    let env: Vec<(&str, &str)> = script
        .env()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let config = format!("{RULES}{}", hooks());
    let _aggregator = bed
        .aggregator_with_env(Some(&redis.url()), &config, &env)
        .await;
    let none = || Dependencies {
        postgres: None,
        redis: None,
    };
    let _blue_agent = bed.agent("blue", "blue-1", &blue, none(), "500ms");
    let _green_agent = bed.agent("green", "green-1", &green, none(), "500ms");
    bed.verdict_where("green READY", SETTLE, |v| {
        v.decision() == greenlight_proto::v1::Decision::Ready
    })
    .await;

    let (code, stdout, stderr) = bed.cli(&["cutover", DEPLOYMENT]).await;
    assert_eq!(code, 0, "a READY cutover is accepted: {stdout}\n{stderr}");

    // The hook was tried and failed: it could not start.
    let failed = eventually("the cutover hook's record", SETTLE, || async {
        history(&redis.url(), "hook")
            .await
            .into_iter()
            .find(|entry| entry.get::<String>("action").as_deref() == Some("cutover"))
    })
    .await;
    assert_eq!(failed.get::<String>("outcome").as_deref(), Some("failed"));

    // Traffic never moved: HAProxy's runtime API and requests through it.
    assert_eq!(
        haproxy.live().await,
        "blue",
        "{:?}",
        haproxy.servers().await
    );
    for _ in 0..10 {
        assert_eq!(color_of(&haproxy.url()).await.as_deref(), Ok("blue"));
    }

    // A critical alert about the cutover is in the history.
    let alert = eventually(
        "a critical cutover alert in the history (raised when switches are confirmed: confirm_switch)",
        SETTLE,
        || async {
            history(&redis.url(), "alert")
                .await
                .into_iter()
                .find(|entry| {
                    entry.get::<String>("severity").as_deref() == Some("critical")
                        && entry
                            .get::<String>("summary")
                            .is_some_and(|s| s.to_lowercase().contains("cutover"))
                })
        },
    )
    .await;
    println!("alert: {:?}", alert.get::<String>("summary"));

    // The verdict says so: Ready, cutover_failed, no bake.
    let json = eventually("cutover_failed in `greenlight verdict`", SETTLE, || async {
        let (_, stdout, stderr) = bed.cli(&["verdict", DEPLOYMENT, "--json"]).await;
        let verdict: serde_json::Value =
            serde_json::from_str(&stdout).map_err(|error| format!("{error}: {stdout}{stderr}"))?;
        let failed = verdict["reasons"]
            .as_array()
            .is_some_and(|reasons| reasons.iter().any(|r| r["rule"] == "cutover_failed"));
        if failed {
            Ok(verdict)
        } else {
            Err(format!(
                "phase {}, reasons {}",
                verdict["phase"], verdict["reasons"]
            ))
        }
    })
    .await;
    assert_eq!(json["phase"], "Ready", "not Baking: {json:#}");
    assert_eq!(json["live"], "blue", "{json:#}");
    assert!(json["bake_started"].is_null(), "no bake started: {json:#}");
    let (_, text, _) = bed.cli(&["verdict", DEPLOYMENT]).await;
    assert!(
        text.contains("phase Ready") && text.contains("cutover_failed"),
        "{text}"
    );
    assert!(
        text.contains(MISSING_PROGRAM),
        "the reason names the hook's failure: {text}"
    );
    assert_eq!(haproxy.live().await, "blue", "still on blue");
}
