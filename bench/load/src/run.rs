//! A run: the rollback trials when asked (`rollback`), else the fleet, in
//! order: subscribe to the verdict channels, read the aggregator's usage,
//! connect the fleet, let it report for D while GetVerdict is polled and
//! redis-benchmark runs, read the usage again with every stream still
//! open, then put the figures together.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::args::Args;
use serde::Serialize;

use crate::figures::{self, AggregatorUsage, Figures, Latency, RedisGetFigures};
use crate::fleet::{self, Tally};
use crate::process_usage::{self, Usage};
use crate::publication::{Markers, PublicationWatch};
use crate::rollback_figures::RollbackFigures;
use crate::{redis_reference, rollback, verdict_probe};

/// Publications that arrive this long after the run still count.
const PUBLICATION_GRACE: Duration = Duration::from_millis(500);
/// redis-benchmark starts this far into the run, with ingest under way.
const REFERENCE_AFTER: Duration = Duration::from_secs(1);

/// What a run measured: the fleet's figures or the rollback trials'.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Measured {
    Load(Figures),
    Rollback(RollbackFigures),
}

impl Measured {
    /// The table people read.
    pub fn table(&self) -> String {
        match self {
            Measured::Load(figures) => figures.table(),
            Measured::Rollback(figures) => figures.table(),
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<Measured> {
    match args.rollback_trials {
        Some(trials) => Ok(Measured::Rollback(rollback::run(&args, trials).await?)),
        None => Ok(Measured::Load(load(args).await?)),
    }
}

async fn load(args: Args) -> anyhow::Result<Figures> {
    let mut notes = Vec::new();
    let run_id = format!(
        "bench-{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    );

    let (stop_watch, watch_stopped) = oneshot::channel::<()>();
    let markers = args.redis.as_ref().map(|_| Arc::new(Markers::default()));
    let publications = match (&args.redis, &markers) {
        (Some(url), Some(markers)) => {
            let watch = PublicationWatch::subscribe(url).await?;
            Some(tokio::spawn(watch.delays_until(markers.clone(), async {
                let _ = watch_stopped.await;
            })))
        }
        _ => {
            notes.push(
                "no --redis: arrival-to-publication and the Redis GET reference were not measured"
                    .into(),
            );
            None
        }
    };

    let usage = |pid: Option<u32>| -> anyhow::Result<Option<Usage>> {
        pid.map(process_usage::read).transpose()
    };
    if args.aggregator_pid.is_none() {
        notes.push("no --aggregator-pid: the aggregator's CPU and memory were not measured".into());
    }
    let before = usage(args.aggregator_pid)?;

    let connecting = Instant::now();
    let (agents, connect_failures, first_connect_error) = fleet::connect(&args, &run_id).await;
    let connect_seconds = connecting.elapsed().as_secs_f64();
    let agents_connected = agents.len() as u32;
    if agents.is_empty() {
        anyhow::bail!(
            "no agent could connect to {}: {}",
            args.aggregator,
            first_connect_error.unwrap_or_default()
        );
    }

    let start = Instant::now() + Duration::from_millis(100);
    let end = start + args.duration;
    let at_start = usage(args.aggregator_pid)?;
    let probe = tokio::spawn(verdict_probe::poll_until(
        args.aggregator.clone(),
        args.deployment_names(),
        end,
    ));
    let reference = args.redis.clone().map(|url| {
        tokio::spawn(async move {
            tokio::time::sleep_until(start + REFERENCE_AFTER).await;
            redis_reference::measure(&url).await
        })
    });
    let tally = Arc::new(Tally::default());
    let period = Duration::from_secs_f64(1.0 / args.rate);
    let agents = fleet::report(agents, start, end, period, tally.clone(), markers.clone()).await;
    let at_end = usage(args.aggregator_pid)?;
    let reported_for = start.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);

    let latencies = probe.await?;
    let redis_get = match reference {
        Some(task) => match task.await? {
            Ok(get) => Some(get),
            Err(error) => {
                notes.push(format!("the Redis GET reference failed: {error:#}"));
                None
            }
        },
        None => None,
    };
    tokio::time::sleep(PUBLICATION_GRACE).await;
    let _ = stop_watch.send(());
    let delays = match publications {
        Some(task) => Some(task.await?),
        None => None,
    };
    // Every stream stays open until the usage was read.
    drop(agents);

    let aggregator = match (before, at_start, at_end) {
        (Some(before), Some(at_start), Some(at_end)) => Some(AggregatorUsage {
            cpu_cores: (at_end.cpu_seconds - at_start.cpu_seconds) / reported_for,
            rss_before_bytes: before.rss_bytes,
            rss_connected_bytes: at_end.rss_bytes,
            rss_per_agent_bytes: at_end.rss_bytes.saturating_sub(before.rss_bytes) as f64
                / agents_connected as f64,
        }),
        _ => None,
    };
    let accepted = tally.accepted.load(Ordering::Relaxed);
    let get_verdict = Latency::of(latencies.micros);
    let ratio = match (&redis_get, get_verdict.p99_ms) {
        (Some(redis), Some(p99)) if redis.p99_ms > 0.0 => Some(p99 / redis.p99_ms),
        _ => None,
    };
    Ok(Figures {
        agents_requested: args.agents,
        agents_connected,
        connect_failures,
        first_connect_error,
        rate_per_agent: args.rate,
        duration_seconds: args.duration.as_secs_f64(),
        deployments: args.deployments,
        connect_seconds,
        reports_sent: tally.sent.load(Ordering::Relaxed),
        reports_accepted: accepted,
        reports_rejected: tally.rejected.load(Ordering::Relaxed),
        ticks_skipped: tally.skipped.load(Ordering::Relaxed),
        streams_lost: tally.streams_lost.load(Ordering::Relaxed),
        accepted_per_second: accepted as f64 / reported_for,
        target_accepted_per_second: figures::TARGET_ACCEPTED_PER_SECOND,
        aggregator,
        target_rss_per_agent_bytes: figures::TARGET_RSS_PER_AGENT_BYTES,
        get_verdict,
        get_verdict_failed: latencies.failed,
        get_verdict_first_error: latencies.first_error,
        redis_get: redis_get.map(|get| RedisGetFigures {
            command: get.command,
            p50_ms: get.p50_ms,
            p99_ms: get.p99_ms,
        }),
        get_verdict_p99_over_redis_get_p99: ratio,
        target_get_verdict_p99_over_redis_get_p99: figures::TARGET_GET_VERDICT_TO_REDIS_P99,
        publication_unreadable: delays.as_ref().map_or(0, |d| d.unreadable),
        publications: delays.as_ref().map_or(0, |d| d.publications),
        marker_reports_unpublished: markers.as_ref().map_or(0, |m| m.unseen()) as u64,
        publication: delays.map(|d| Latency::of(d.micros)),
        target_publication_p99_ms: figures::TARGET_PUBLICATION_P99_MS,
        notes,
    })
}
