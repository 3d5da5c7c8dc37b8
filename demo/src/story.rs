//! The scripted story. Each step says what it does to the system and then
//! waits for greenlight's verdict to answer, with a bound on every wait.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use greenlight_aggregator::config::RedisSettings;
use greenlight_aggregator::engine::validate_deployment_name;
use greenlight_proto::names::color_name;
use greenlight_proto::v1::verdict_service_client::VerdictServiceClient;
use greenlight_proto::v1::{CutoverRequest, Decision, Phase, Verdict, WatchVerdictsRequest};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Args;
use crate::cast;
use crate::timeline::Timeline;

/// No step of the story should take longer than this.
const STEP_LIMIT: Duration = Duration::from_secs(60);

/// The demo cannot run as asked (a bad name or Redis URL): exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unusable(String);

pub async fn run(args: Args) -> anyhow::Result<()> {
    let deployment = args.deployment.as_str();
    validate_deployment_name(deployment)
        .map_err(|reason| Unusable(format!("--deployment {deployment:?}: {reason}")))?;
    let redis = args
        .redis_url
        .clone()
        .map(|url| RedisSettings::new(url, Duration::from_secs(15), 10_000))
        .transpose()
        .map_err(|error| Unusable(format!("--redis-url: {}", error.reason)))?;
    if let Some(redis) = &redis {
        crate::claim::claim(redis, deployment).await?;
    }

    let timeline = Timeline::start();
    let shutdown = CancellationToken::new();
    let _stop_all = shutdown.clone().drop_guard();

    println!(
        "greenlight demo: a blue/green deployment of \"{deployment}\", simulated on this machine."
    );
    match &redis {
        Some(redis) => println!(
            "Redis: publishing every verdict to {} (greenlight:{{{deployment}}}:verdict, :verdicts, :history); no other deployment's keys are read or written.",
            redis.shown_url()
        ),
        None => println!(
            "Redis: none given, so verdicts are served over gRPC only. Add --redis-url redis://127.0.0.1:6379 to publish them."
        ),
    }
    println!();

    let scratch = std::env::temp_dir().join(format!("greenlight-demo-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let record = scratch.join("traffic");
    let hooks = crate::switch::hooks(&record)?;
    let aggregator = cast::aggregator(
        args.ready_after,
        redis.clone(),
        deployment,
        hooks,
        shutdown.clone(),
    )
    .await?;
    timeline.say(format!(
        "aggregator up on {aggregator} (gRPC); readiness window {}",
        humantime::format_duration(args.ready_after)
    ));
    let mut verdicts = watch_verdicts(aggregator, deployment, &shutdown).await?;

    let blue = cast::backend("blue", "v3.0.0", 40, shutdown.clone()).await?;
    cast::agent(
        aggregator,
        deployment,
        "blue",
        "v3.0.0",
        blue,
        args.interval,
        shutdown.clone(),
    )?;
    timeline.say(format!(
        "blue backend v3.0.0 serving on {blue} with its agent (checks: http, traffic)"
    ));
    timeline.say("traffic: 100% -> blue (live)");
    settle(&timeline, &mut verdicts, Duration::from_secs(2)).await;

    timeline.step(1, "deploy green v3.1.0 beside blue, with its agent");
    let green = cast::backend("green", "v3.1.0", 40, shutdown.clone()).await?;
    cast::agent(
        aggregator,
        deployment,
        "green",
        "v3.1.0",
        green,
        args.interval,
        shutdown.clone(),
    )?;
    timeline.say(format!("green backend v3.1.0 serving on {green}"));
    let ready = wait_for(&timeline, &mut verdicts, "green READY", |v| {
        v.decision() == Decision::Ready
    })
    .await?;
    timeline.say(format!(
        "green stayed healthy for the whole {} window: cutover is allowed (epoch {})",
        humantime::format_duration(args.ready_after),
        ready.epoch
    ));

    timeline.step(
        2,
        format!("cut over: `greenlight cutover {deployment}` (the Cutover call)"),
    );
    let mut client = VerdictServiceClient::connect(format!("http://{aggregator}")).await?;
    let answer = client
        .cutover(CutoverRequest {
            deployment: deployment.into(),
            force: false,
            requested_by: "greenlight-demo".into(),
        })
        .await
        .context("the cutover call")?
        .into_inner();
    timeline.say(format!("aggregator: {}", answer.message));
    let baking = wait_for(&timeline, &mut verdicts, "the bake to start", |v| {
        v.phase() == Phase::Baking
    })
    .await?;
    match crate::switch::wait_for_switch(&record, "cutover").await {
        Some((to, epoch, _)) => timeline.say(format!(
            "traffic: 100% -> {to} (live), switched by the aggregator's cutover hook for epoch {epoch}. Rollback triggers are armed for the bake."
        )),
        None => timeline.say(format!(
            "traffic: the cutover hook did not report; the verdict says live is {}",
            color_name(baking.live())
        )),
    }
    settle(&timeline, &mut verdicts, Duration::from_secs(3)).await;

    timeline.step(
        3,
        format!(
            "inject a fault into green: {:.0}% of its requests now fail",
            args.fault_error_ratio * 100.0
        ),
    );
    cast::set_switches(
        green,
        &format!("{{\"error_ratio\": {}}}", args.fault_error_ratio),
    )
    .await?;
    let injected_at = timeline.elapsed();
    let rolled_back = wait_for(&timeline, &mut verdicts, "the rollback", |v| {
        v.decision() == Decision::Rollback
    })
    .await?;
    let decided_in = rolled_back
        .transitions
        .iter()
        .rev()
        .find(|t| t.to() == Phase::RolledBack)
        .map_or(rolled_back.epoch, |t| t.epoch);
    timeline.say(format!(
        "ROLLBACK decided {:.1} s after the fault (epoch {decided_in}), nobody acted. greenlight says why:",
        timeline.elapsed() - injected_at,
    ));
    for reason in &rolled_back.reasons {
        println!("           - {}", reason.message);
    }
    match crate::switch::wait_for_switch(&record, "rollback").await {
        Some((to, epoch, _)) => timeline.say(format!(
            "traffic: 100% -> {to} (live) again, switched by the rollback hook for epoch {epoch}, without anyone acting. (In production the hook is deploy/switch-traffic.)"
        )),
        None => timeline.say(format!(
            "traffic: the rollback hook did not report; the verdict says live is {}",
            color_name(rolled_back.live())
        )),
    }
    println!();
    if args.keep_running {
        timeline.say(
            "story complete. Everything keeps running until Ctrl-C; in another terminal, ask greenlight yourself (the first `cargo run` builds the CLI):",
        );
        let cli = format!("cargo run -q -p greenlight-cli -- --aggregator {aggregator}");
        println!("           {cli} verdict {deployment}");
        println!("           {cli} history {deployment}");
        println!("           {cli} watch {deployment}");
        tokio::signal::ctrl_c().await?;
        println!();
        timeline.say("Ctrl-C: stopping the aggregator, backends and agents");
    } else {
        timeline.say(
            "story complete; its aggregator stops with it. To ask it questions with the `greenlight` CLI, run the demo again with --keep-running.",
        );
        if let Some(redis) = &redis {
            println!(
                "           The history stays in Redis: redis-cli -u {} XRANGE greenlight:{{{deployment}}}:history - +",
                redis.shown_url()
            );
        }
    }
    shutdown.cancel();
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// Follows the aggregator's verdict stream (as `greenlight watch` does),
/// printing each verdict and handing it to the story.
async fn watch_verdicts(
    aggregator: SocketAddr,
    deployment: &str,
    shutdown: &CancellationToken,
) -> anyhow::Result<mpsc::Receiver<Verdict>> {
    let mut client = VerdictServiceClient::connect(format!("http://{aggregator}"))
        .await
        .context("connecting to the demo's aggregator")?;
    let mut stream = client
        .watch_verdicts(WatchVerdictsRequest {
            deployment: deployment.into(),
        })
        .await?
        .into_inner();
    let (sender, receiver) = mpsc::channel(64);
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                next = stream.message() => match next {
                    Ok(Some(verdict)) => if sender.send(verdict).await.is_err() { return },
                    _ => return,
                },
            }
        }
    });
    Ok(receiver)
}

/// Prints the verdicts that arrive for `duration`.
async fn settle(timeline: &Timeline, verdicts: &mut mpsc::Receiver<Verdict>, duration: Duration) {
    let until = tokio::time::Instant::now() + duration;
    while let Ok(Some(verdict)) = tokio::time::timeout_at(until, verdicts.recv()).await {
        timeline.verdict(&verdict);
    }
}

async fn wait_for(
    timeline: &Timeline,
    verdicts: &mut mpsc::Receiver<Verdict>,
    what: &str,
    condition: impl Fn(&Verdict) -> bool,
) -> anyhow::Result<Verdict> {
    let until = tokio::time::Instant::now() + STEP_LIMIT;
    loop {
        match tokio::time::timeout_at(until, verdicts.recv()).await {
            Ok(Some(verdict)) => {
                timeline.verdict(&verdict);
                if condition(&verdict) {
                    return Ok(verdict);
                }
            }
            Ok(None) => bail!("the verdict stream ended while waiting for {what}"),
            Err(_) => bail!("waited {STEP_LIMIT:?} for {what}; the story is stuck"),
        }
    }
}
