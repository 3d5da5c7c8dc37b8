//! `greenlight history` reads the whole history stream through the
//! aggregator, a page at a time: more entries than three pages, `--limit`
//! (the newest N), `--since`, `--json`; and what it says when Redis is
//! gone, or was never configured.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use greenlight_testbed::RedisServer;

use crate::bed::{Bed, DEPLOYMENT, history_all};

/// More than the CLI's page (500) twice over, so paging is exercised.
const FILLER: usize = 1_234;

async fn stream_ids(redis_url: &str) -> Vec<String> {
    history_all(redis_url)
        .await
        .into_iter()
        .map(|entry| entry.id)
        .collect()
}

fn ids_of(json: &str) -> Vec<String> {
    let docs: Vec<serde_json::Value> = serde_json::from_str(json).expect(json);
    docs.iter()
        .map(|doc| {
            doc["id"]
                .as_str()
                .expect("every entry has an id")
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_through_the_whole_stream() {
    let mut redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let _aggregator = bed
        .aggregator_with(Some(&redis.url()), "ready_after = \"1s\"")
        .await;
    let _pair = bed.pair(None).await;
    bed.cut_over_when_ready().await;

    // Entries of a kind this CLI does not know yet, written straight to
    // the stream: a later aggregator may write new kinds.
    crate::bed::fill_history(&redis.url(), FILLER).await;

    // Everything, oldest first, exactly as the stream holds it (the
    // aggregator keeps writing, so compare with what was there before).
    let before = stream_ids(&redis.url()).await;
    let (code, stdout, stderr) = bed.cli(&["history", DEPLOYMENT, "--json"]).await;
    assert_eq!(code, 0, "{stderr}");
    let after = stream_ids(&redis.url()).await;
    let listed = ids_of(&stdout);
    assert!(
        listed.len() >= before.len(),
        "{} < {}",
        listed.len(),
        before.len()
    );
    assert_eq!(
        &listed[..before.len()],
        &before[..],
        "the whole stream, oldest first"
    );
    assert_eq!(&listed[..], &after[..listed.len()]);
    let docs: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let action = docs
        .iter()
        .find(|doc| doc["kind"] == "action")
        .expect("the cutover action is in the history");
    assert_eq!(action["fields"]["action"], "cutover", "{action}");
    let verdict = docs
        .iter()
        .find(|doc| doc["kind"] == "verdict")
        .expect("verdicts are in the history");
    assert_eq!(
        verdict["fields"]["verdict"]["deployment"], DEPLOYMENT,
        "a verdict's JSON is nested, not a string: {verdict}"
    );

    // The text a person reads: the cutover decided, the transitions.
    let (code, text, stderr) = bed.cli(&["history", DEPLOYMENT]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        text.contains("decided cutover from blue to green"),
        "{text}"
    );
    assert!(text.contains("-> Baking"), "{text}");
    assert!(text.contains("note     n=1233"), "{text}");

    // --limit: the newest N, oldest first.
    let (code, stdout, stderr) = bed
        .cli(&["history", DEPLOYMENT, "--limit", "7", "--json"])
        .await;
    assert_eq!(code, 0, "{stderr}");
    let newest = ids_of(&stdout);
    let now = stream_ids(&redis.url()).await;
    assert_eq!(newest.len(), 7);
    let at = now
        .iter()
        .position(|id| *id == newest[0])
        .expect("the first listed is in the stream");
    assert_eq!(&now[at..at + 7], &newest[..], "seven consecutive entries");
    assert!(
        now.len() - at - 7 <= 20,
        "and they are the newest (a few may have come since)"
    );

    // --since: nothing older than it. The filler's middle entry's time.
    let middle = &before[before.len() - FILLER / 2];
    let ms: u64 = middle.split_once('-').unwrap().0.parse().unwrap();
    let since = humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms));
    let (code, stdout, stderr) = bed
        .cli(&[
            "history",
            DEPLOYMENT,
            "--since",
            &since.to_string(),
            "--json",
        ])
        .await;
    assert_eq!(code, 0, "{stderr}");
    let recent = ids_of(&stdout);
    assert!(
        !recent.is_empty() && recent.len() < listed.len(),
        "{}",
        recent.len()
    );
    assert!(
        recent
            .iter()
            .all(|id| { id.split_once('-').unwrap().0.parse::<u64>().unwrap() >= ms })
    );
    assert!(
        recent.contains(middle),
        "the entry at exactly --since is included"
    );

    // Bad input is a usage error that says what is wanted.
    let (code, _, stderr) = bed
        .cli(&["history", DEPLOYMENT, "--since", "yesterday"])
        .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("neither a duration"), "{stderr}");

    // Redis gone: the aggregator says so, and the CLI exits 3 (cannot get
    // an answer), not 0 with an empty list.
    redis.stop().await;
    let started = SystemTime::now();
    let (code, stdout, stderr) = bed.cli(&["history", DEPLOYMENT]).await;
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(
        stderr.contains("answered, but") && stderr.contains("Redis"),
        "{stderr}"
    );
    println!(
        "history with Redis stopped answered in {:?}: {}",
        started.elapsed().unwrap_or_default(),
        stderr.trim()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_history_shows_the_transitions_and_says_so() {
    let bed = Bed::new();
    let _aggregator = bed.aggregator(None, "1s").await;
    let _pair = bed.pair(None).await;
    bed.cut_over_when_ready().await;
    let (code, stdout, stderr) = bed.cli(&["history", DEPLOYMENT]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("runs without [redis]"), "{stderr}");
    assert!(
        stdout.contains("transition") && stdout.contains("-> Baking"),
        "{stdout}"
    );
    let (code, stdout, stderr) = bed.cli(&["history", DEPLOYMENT, "--json"]).await;
    assert_eq!(code, 0, "{stderr}");
    let docs: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect(&stdout);
    assert!(
        docs.iter()
            .any(|doc| doc["kind"] == "transition" && doc["to"] == "Baking"),
        "{stdout}"
    );
}
