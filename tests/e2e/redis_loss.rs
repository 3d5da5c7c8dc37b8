//! Issue 9 acceptance (c), with real processes: during a bake, Redis is
//! restarted without persistence (everything in it lost), and the
//! aggregator is SIGKILLed once it has written its state back. The
//! restarted aggregator resumes the bake with its deadline, its epochs are
//! above every epoch issued before, and the history says what was lost.
//! Also: a gap the dispatcher reports (`Publication::Gap`) is in the
//! history.

use std::time::{Duration, SystemTime};

use greenlight_aggregator::config::RedisSettings;
use greenlight_aggregator::redis::{Publication, RedisPublisher};
use greenlight_proto::time::{parse_rfc3339, rfc3339};
use greenlight_proto::v1::Phase;
use greenlight_testbed::{RedisServer, eventually};
use redis::AsyncCommands;
use redis::streams::{StreamId, StreamRangeReply};

use crate::bed::{Bed, DEPLOYMENT, SETTLE, history, json_key_where};

/// The guide's rules on a test's time scale; a bake far longer than the
/// test, so that it is still running when the aggregator comes back.
const RULES: &str =
    "ready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\nbake_for = \"10m\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bake_survives_redis_losing_everything_then_an_aggregator_kill() {
    let mut redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let aggregator = bed.aggregator_with(Some(&redis.url()), RULES).await;
    // The agents do not check this Redis: its restart must not be a
    // dependency failure that holds the bake.
    let _pair = bed.pair(None).await;
    let baking = bed.cut_over_when_ready().await;
    let client = redis::Client::open(redis.url()).unwrap();
    let state_key = format!("greenlight:{{{DEPLOYMENT}}}:state");
    json_key_where(&client, &state_key, "the Baking state saved", |state| {
        state["phase"] == "Baking"
    })
    .await;

    redis.process().kill().await;
    let lost_at = SystemTime::now();
    redis.start_again().await.expect("Redis restarts, empty");
    // The publisher writes the state back within a refresh (a third of the
    // bed's 10 s verdict TTL), unprompted: no phase changes meanwhile.
    let rewritten = json_key_where(&client, &state_key, "the state written back", |state| {
        state["phase"] == "Baking"
    })
    .await;

    // Everything issued before the kill: the epochs of the verdicts seen
    // over gRPC, of the state written back, and of the history since Redis
    // came back.
    let last_before = bed
        .verdict_where("the verdict before the kill", SETTLE, |_| true)
        .await;
    aggregator.kill().await;
    let history_before = entries(&client).await;
    let mut before = vec![
        baking.epoch,
        last_before.epoch,
        rewritten["epoch"].as_u64().unwrap(),
    ];
    before.extend(history_before.iter().filter_map(epoch));
    let newest_before = *before.iter().max().unwrap();

    let _aggregator = bed.aggregator_with(Some(&redis.url()), RULES).await;
    let after = bed
        .verdict_where("a verdict after the restart", SETTLE, |_| true)
        .await;
    assert_eq!(after.phase(), Phase::Baking, "{:?}", after.reasons);
    assert_eq!(
        after.bake_deadline, baking.bake_deadline,
        "the bake's deadline is restored"
    );
    assert!(
        after.epoch > newest_before,
        "epochs only grow: {} after the restart, up to {newest_before} before ({before:?})",
        after.epoch
    );
    // Every epoch the new aggregator wrote to the history, too.
    let last_id_before = history_before.last().map(|entry| stream_id(&entry.id));
    let written_after: Vec<u64> = entries(&client)
        .await
        .iter()
        .filter(|entry| last_id_before.is_none_or(|last| stream_id(&entry.id) > last))
        .filter_map(epoch)
        .collect();
    assert!(
        written_after.iter().all(|epoch| *epoch > newest_before),
        "epochs in the history after the restart {written_after:?}, up to {newest_before} before"
    );

    // The history notes the gap: from before the loss, to after it.
    let gaps = history(&redis.url(), "gap").await;
    assert!(!gaps.is_empty(), "a gap entry in {history_before:?}");
    let gap = &gaps[0];
    let time = |field: &str| {
        let text: String = gap
            .get(field)
            .unwrap_or_else(|| panic!("gap without {field}: {gap:?}"));
        parse_rfc3339(&text).unwrap_or_else(|| panic!("gap {field} {text:?} is not RFC 3339"))
    };
    assert!(
        time("from") <= lost_at,
        "{gap:?} starts before Redis was lost"
    );
    assert!(time("to") >= lost_at, "{gap:?} ends after Redis was lost");
    let what: String = gap.get("what").expect("gap with what");
    assert!(
        what.contains("saved state") && what.contains("lost"),
        "{what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reported_gap_is_written_to_the_history() {
    let redis = RedisServer::start().await.expect("Redis");
    let settings =
        RedisSettings::new(redis.url(), Duration::from_secs(10), 100).expect("a valid Redis URL");
    let publisher = RedisPublisher::new(settings, None).expect("a publisher");
    let (sender, queue) = tokio::sync::mpsc::channel(4);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(publisher.run(queue, shutdown.clone()));

    let to = SystemTime::now();
    let from = to - Duration::from_secs(30);
    let what = "3 publications were dropped: the publish queue was full";
    sender
        .send(Publication::Gap {
            deployment: DEPLOYMENT.into(),
            from,
            to,
            what: what.into(),
        })
        .await
        .expect("the publisher takes it");
    let url = redis.url();
    let gaps = eventually("the gap entry in the history", SETTLE, || {
        let url = url.clone();
        async move {
            let gaps = history(&url, "gap").await;
            (!gaps.is_empty()).then_some(gaps)
        }
    })
    .await;
    let field = |name: &str| gaps[0].get::<String>(name);
    assert_eq!(field("from"), Some(rfc3339(from)));
    assert_eq!(field("to"), Some(rfc3339(to)));
    assert_eq!(field("what").as_deref(), Some(what));
    assert_eq!(gaps.len(), 1);

    shutdown.cancel();
    task.await.expect("the publisher ends at shutdown");
}

/// The whole history stream, oldest first.
async fn entries(client: &redis::Client) -> Vec<StreamId> {
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let reply: StreamRangeReply = connection
        .xrange_all(format!("greenlight:{{{DEPLOYMENT}}}:history"))
        .await
        .unwrap();
    reply.ids
}

fn epoch(entry: &StreamId) -> Option<u64> {
    entry.get::<String>("epoch")?.parse().ok()
}

/// A stream entry id `<ms>-<seq>` as numbers, which order as the stream does.
fn stream_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').expect("a stream id is <ms>-<seq>");
    (ms.parse().unwrap(), seq.parse().unwrap())
}
