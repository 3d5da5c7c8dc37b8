//! Issue 14, high availability, with real processes: two aggregators on one
//! Redis, agents streaming to both. The leader is SIGKILLed mid-bake and
//! the standby takes the bake over to its original deadline; the leader is
//! cut off from Redis and stops acting before its lease lapses, the standby
//! takes over, and when the cut heals the old leader follows. On Redis
//! Sentinel, both follow a failover and no epoch is published twice. Hooks that
//! log their runs show that none ran twice and that no two aggregators ran
//! one at the same time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use greenlight_proto::time::from_timestamp;
use greenlight_proto::v1::{Phase, Verdict};
use greenlight_testbed::{NetworkCut, Process, RedisSentinel, RedisServer, eventually};
use redis::AsyncCommands;

use crate::bed::{Bed, DEPLOYMENT, SETTLE, entered_at, history_field, path_str, set_switches};

const LEASE: Duration = Duration::from_secs(5);

/// The hooks' shared log: one `start` and one `end` line per run, with the
/// time, the aggregator that ran it, the hook and the epoch.
struct HookLog {
    dir: tempfile::TempDir,
}

#[derive(Debug, Clone, PartialEq)]
struct HookRun {
    aggregator: String,
    hook: String,
    epoch: u64,
    start: f64,
    end: Option<f64>,
}

impl HookLog {
    fn new() -> HookLog {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("hook.sh"),
            format!(
                "echo \"$(date +%s.%N) start $1 $2 $GREENLIGHT_EPOCH\" >> {log}\nsleep 0.5\necho \"$(date +%s.%N) end $1 $2 $GREENLIGHT_EPOCH\" >> {log}\n",
                log = dir.path().join("runs.log").display()
            ),
        )
        .unwrap();
        HookLog { dir }
    }

    fn script(&self) -> PathBuf {
        self.dir.path().join("hook.sh")
    }

    /// Every run so far, in the order they started.
    fn runs(&self) -> Vec<HookRun> {
        let text = std::fs::read_to_string(self.dir.path().join("runs.log")).unwrap_or_default();
        let mut runs: Vec<HookRun> = Vec::new();
        for line in text.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            let [at, what, aggregator, hook, epoch] = words[..] else {
                panic!("a hook log line: {line:?}");
            };
            let at: f64 = at.parse().unwrap();
            let epoch: u64 = epoch.parse().unwrap();
            match what {
                "start" => runs.push(HookRun {
                    aggregator: aggregator.into(),
                    hook: hook.into(),
                    epoch,
                    start: at,
                    end: None,
                }),
                _ => {
                    let run = runs
                        .iter_mut()
                        .find(|run| {
                            run.aggregator == aggregator
                                && run.hook == hook
                                && run.epoch == epoch
                                && run.end.is_none()
                        })
                        .expect("an end after its start");
                    run.end = Some(at);
                }
            }
        }
        runs
    }

    fn of(&self, hook: &str) -> Vec<HookRun> {
        self.runs()
            .into_iter()
            .filter(|run| run.hook == hook)
            .collect()
    }

    /// No two runs of different aggregators overlapped in time (a run
    /// still going counts as running until now).
    fn assert_never_two_leaders_at_once(&self) {
        let runs = self.runs();
        for a in &runs {
            for b in &runs {
                if a.aggregator == b.aggregator {
                    continue;
                }
                let a_end = a.end.unwrap_or(f64::MAX);
                assert!(
                    a_end <= b.start || b.end.unwrap_or(f64::MAX) <= a.start,
                    "two aggregators ran hooks at once: {a:?} and {b:?}"
                );
            }
        }
    }
}

/// One aggregator's config: `[ha]` with `id`, the guide's rules on a
/// test's time scale, and every hook logging to `hooks`.
fn config(redis_url: &str, id: &str, hooks: &HookLog) -> String {
    let script = hooks.script();
    let hook = |point: &str| {
        format!(
            "[hooks.{point}]\ncommand = [\"sh\", \"{}\", \"{id}\", \"{point}\"]\ntimeout = \"20s\"\nretries = 0\n",
            path_str(&script)
        )
    };
    format!(
        "[redis]\nurl = \"{redis_url}\"\nverdict_ttl = \"10s\"\n\
         [ha]\nid = \"{id}\"\nlease = \"{}s\"\n\
         [defaults]\nready_after = \"2s\"\ntraffic_window = \"10s\"\nmin_requests = 20\nbake_for = \"25s\"\n\
         [deployments.{DEPLOYMENT}]\nlive = \"blue\"\n{}{}{}{}",
        LEASE.as_secs(),
        hook("cutover"),
        hook("rollback"),
        hook("baking"),
        hook("verified"),
    )
}

/// Blue and green backends, each with an agent streaming to both
/// aggregators.
struct Pair {
    green: String,
    _processes: Vec<Process>,
}

async fn pair_to_both(a: &Bed, b: &Bed) -> Pair {
    let (blue_backend, blue) = a.backend("blue", "v3.0.0").await;
    let (green_backend, green) = a.backend("green", "v3.1.0").await;
    let both = format!("{},{}", a.aggregator_url(), b.aggregator_url());
    let blue_agent = a.agent_to(&both, "", "blue", "blue-1", &blue);
    let green_agent = a.agent_to(&both, "", "green", "green-1", &green);
    Pair {
        green,
        _processes: vec![blue_backend, green_backend, blue_agent, green_agent],
    }
}

/// Starts aggregator `id` of `bed` and waits until it knows whether it
/// leads: `leads` says which it should be.
async fn start(bed: &Bed, redis_url: &str, id: &str, hooks: &HookLog, leads: bool) -> Process {
    let process = bed
        .aggregator_toml(&config(redis_url, id, hooks), &[])
        .await;
    let expected = if leads { id } else { "agg-a" };
    bed.verdict_where(
        &format!("{id} names {expected} as the leader"),
        SETTLE,
        |v| v.leader == expected,
    )
    .await;
    process
}

fn deadline_of(verdict: &Verdict) -> std::time::SystemTime {
    verdict
        .bake_deadline
        .as_ref()
        .and_then(from_timestamp)
        .expect("a bake deadline")
}

async fn epoch_high_water(redis_url: &str) -> u64 {
    let client = redis::Client::open(redis_url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let text: String = connection
        .get(format!("greenlight:{{{DEPLOYMENT}}}:epoch"))
        .await
        .unwrap();
    text.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_the_bake_over_from_a_killed_leader_and_no_hook_runs_twice() {
    let redis = RedisServer::start().await.expect("Redis");
    let hooks = HookLog::new();
    let (a, b) = (Bed::new(), Bed::new());
    let leader = start(&a, &redis.url(), "agg-a", &hooks, true).await;
    let standby = start(&b, &redis.url(), "agg-b", &hooks, false).await;
    let _pair = pair_to_both(&a, &b).await;

    let before = a.cut_over_when_ready().await;
    assert_eq!(before.leader, "agg-a");
    // The standby follows the leader's state: it sees the bake too.
    b.verdict_where("the standby follows the bake", SETTLE, |v| {
        v.phase() == Phase::Baking && v.leader == "agg-a"
    })
    .await;
    let epoch_before = epoch_high_water(&redis.url()).await;
    assert!(epoch_before >= before.epoch, "the high-water mark follows");
    // Mid-bake, with the hooks of the cutover done (a hook running when
    // its aggregator is killed dies with it, in this test's process group).
    eventually("the baking hook ran", SETTLE, || async {
        hooks
            .of("baking")
            .iter()
            .any(|run| run.end.is_some())
            .then_some(())
    })
    .await;

    let killed = Instant::now();
    leader.kill().await;
    standby
        .wait_for_line("leading: took the lease", SETTLE)
        .await;
    let took_over = killed.elapsed();
    println!("agg-b took the lease {took_over:?} after agg-a was killed (lease {LEASE:?})");
    // Within the lease, counted from the last renewal (up to a fifth of it
    // before the kill), plus the standby's own fifth of it to notice; and
    // generous for this shared machine.
    assert!(
        took_over < LEASE * 3,
        "the standby took over only after {took_over:?}"
    );

    let after = b
        .verdict_where("agg-b leads the bake", SETTLE, |v| {
            v.leader == "agg-b" && v.phase() == Phase::Baking
        })
        .await;
    assert_eq!(
        deadline_of(&after),
        deadline_of(&before),
        "the bake keeps its original deadline"
    );
    assert!(
        after.epoch > epoch_before,
        "the new leader's epochs start above every published one: {epoch_before} then {}",
        after.epoch
    );
    assert!(epoch_high_water(&redis.url()).await > epoch_before);
    let (code, stdout, _) = b.cli(&["status"]).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("(led by agg-b)"), "{stdout}");

    let verified = b
        .verdict_where("Verified at the original deadline", SETTLE, |v| {
            v.phase() == Phase::Verified
        })
        .await;
    let verified_at = entered_at(&verified, Phase::Verified);
    assert!(verified_at >= deadline_of(&before));

    // The verified hook runs (once, by agg-b); then every hook has run
    // exactly once, by the aggregator leading at the time.
    eventually("the verified hook ran", SETTLE, || async {
        hooks
            .of("verified")
            .iter()
            .any(|run| run.end.is_some())
            .then_some(())
    })
    .await;
    let ran: Vec<(String, String)> = hooks
        .runs()
        .into_iter()
        .map(|run| (run.hook, run.aggregator))
        .collect();
    assert_eq!(
        ran,
        [
            ("cutover".to_string(), "agg-a".to_string()),
            ("baking".to_string(), "agg-a".to_string()),
            ("verified".to_string(), "agg-b".to_string()),
        ],
        "each hook once, by the leader of the moment"
    );
    hooks.assert_never_two_leaders_at_once();
    let actions = history_field(&redis.url(), "action", "action").await;
    assert_eq!(actions, ["cutover"], "nothing decided twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_off_from_redis_stops_acting_before_its_lease_lapses() {
    let redis = RedisServer::start().await.expect("Redis");
    let cut = NetworkCut::start(([127, 0, 0, 1], redis.port()).into())
        .await
        .expect("a proxy in front of Redis");
    let through_cut = format!("redis://127.0.0.1:{}", cut.port());
    let hooks = HookLog::new();
    let (a, b) = (Bed::new(), Bed::new());
    let leader = start(&a, &through_cut, "agg-a", &hooks, true).await;
    let standby = start(&b, &redis.url(), "agg-b", &hooks, false).await;
    let pair = pair_to_both(&a, &b).await;
    a.cut_over_when_ready().await;
    b.verdict_where("the standby follows the bake", SETTLE, |v| {
        v.phase() == Phase::Baking && v.leader == "agg-a"
    })
    .await;

    let cut_at = Instant::now();
    cut.cut();
    leader
        .wait_for_line("stopped leading: the lease could not be renewed", SETTLE)
        .await;
    let stopped = cut_at.elapsed();
    standby
        .wait_for_line("leading: took the lease", SETTLE)
        .await;
    let took_over = cut_at.elapsed();
    println!(
        "after the cut: agg-a stopped acting at {stopped:?}, agg-b took over at {took_over:?}"
    );
    assert!(
        stopped < took_over,
        "the old leader stopped before the new one started"
    );
    b.verdict_where("agg-b leads", SETTLE, |v| v.leader == "agg-b")
        .await;

    // A fault now: both aggregators hear it from the agents, only the
    // leader rolls back.
    set_switches(&pair.green, r#"{"error_ratio": 0.3}"#).await;
    b.verdict_where("rolled back by agg-b", SETTLE, |v| {
        v.phase() == Phase::RolledBack
    })
    .await;
    eventually("the rollback hook ran", SETTLE, || async {
        hooks
            .of("rollback")
            .iter()
            .any(|run| run.end.is_some())
            .then_some(())
    })
    .await;

    // The cut heals: the old leader learns it lost the lease and follows.
    cut.heal();
    leader
        .wait_for_line("another aggregator holds the lease", SETTLE)
        .await;
    let rolled_back = b.verdict_where("agg-b", SETTLE, |_| true).await;
    let followed = a
        .verdict_where("agg-a names agg-b as the leader", SETTLE, |v| {
            v.leader == "agg-b"
        })
        .await;
    assert_eq!(
        (followed.phase(), followed.live()),
        (rolled_back.phase(), rolled_back.live()),
        "agg-a follows agg-b's state: {:?}",
        followed.transitions
    );
    let rollbacks = hooks.of("rollback");
    assert_eq!(rollbacks.len(), 1, "one rollback, run once: {rollbacks:?}");
    assert_eq!(rollbacks[0].aggregator, "agg-b");
    assert!(
        hooks
            .runs()
            .iter()
            .all(|run| run.aggregator == "agg-b" || run.hook != "rollback"),
        "agg-a ran no rollback"
    );
    hooks.assert_never_two_leaders_at_once();
    let actions = history_field(&redis.url(), "action", "action").await;
    assert_eq!(actions, ["cutover", "rollback"], "nothing decided twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_aggregators_follow_a_sentinel_failover_and_no_epoch_is_reused() {
    let sentinel = RedisSentinel::start().await.expect("Redis Sentinel");
    let hooks = HookLog::new();
    let (a, b) = (Bed::new(), Bed::new());
    let _leader = start(&a, &sentinel.url(), "agg-a", &hooks, true).await;
    let _standby = start(&b, &sentinel.url(), "agg-b", &hooks, false).await;
    let _pair = pair_to_both(&a, &b).await;
    let ready = a
        .verdict_where("READY", SETTLE, |v| {
            v.decision() == greenlight_proto::v1::Decision::Ready
        })
        .await;

    sentinel.kill_primary().await;
    let promoted = sentinel
        .wait_for_new_master(sentinel.primary_port(), Duration::from_secs(60))
        .await
        .expect("Sentinel promotes the replica");
    assert_eq!(promoted.1, sentinel.replica_port(), "{promoted:?}");

    // After the failover: the leader still decides and publishes (to the
    // new primary), and the standby still follows it there.
    let baking = a.cut_over_when_ready().await;
    assert!(baking.epoch > ready.epoch);
    b.verdict_where(
        "the standby follows the bake on the new primary",
        SETTLE,
        |v| v.phase() == Phase::Baking && !v.leader.is_empty(),
    )
    .await;
    let new_primary = format!("redis://127.0.0.1:{}", sentinel.replica_port());
    let published = eventually(
        "the bake's verdicts in the new primary's history",
        SETTLE,
        || {
            let url = new_primary.clone();
            async move {
                let epochs: Vec<u64> = crate::bed::history_all(&url)
                    .await
                    .iter()
                    .filter(|entry| entry.get::<String>("kind").as_deref() == Some("verdict"))
                    .filter_map(|entry| entry.get::<String>("epoch")?.parse().ok())
                    .collect();
                epochs
                    .last()
                    .is_some_and(|last| *last >= baking.epoch)
                    .then_some(epochs)
            }
        },
    )
    .await;
    assert!(
        published.windows(2).all(|pair| pair[0] < pair[1]),
        "every published epoch is new and above the one before: {published:?}"
    );
    let (leader_a, leader_b) = (
        a.verdict_where("agg-a", SETTLE, |_| true).await.leader,
        b.verdict_where("agg-b", SETTLE, |_| true).await.leader,
    );
    assert_eq!(leader_a, leader_b, "both name one leader");
    hooks.assert_never_two_leaders_at_once();
}
