//! Fault-to-rollback trials, one after the other, each on a deployment of
//! its own so none inherits another's state: one blue (live) and one green
//! (candidate) agent report every interval; once the verdict is READY the
//! tool asks for the cutover (the VerdictService's Cutover, as `greenlight
//! cutover` does); a few reports into Baking the green agent turns faulty,
//! and the trial times its first faulty report to the ROLLBACK verdict on
//! the deployment's Redis channel (`greenlight:{<deployment>}:verdicts`),
//! and with `--hook-log` to the rollback hook's start. One green agent, so
//! each sample of the rule is one of its reports.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use futures::StreamExt;
use greenlight_proto::json::VerdictJson;
use greenlight_proto::v1::verdict_service_client::VerdictServiceClient;
use greenlight_proto::v1::{Color, CutoverRequest};
use redis::aio::PubSubStream;
use tokio::time::Instant;
use tonic::transport::Channel;

use crate::args::Args;
use crate::fleet;
use crate::rollback_figures::{RollbackFigures, Spread, Trial};
use crate::simulated::SimulatedAgent;
use crate::trial_agent::TrialAgent;

/// Longest wait for each step of a trial (Ready, Baking, ROLLBACK).
const STEP_WITHIN: Duration = Duration::from_secs(30);
/// Reports the candidate sends while baking before it turns faulty, so
/// the fault lands in a bake under way, not at its first instant.
const HEALTHY_BAKE_REPORTS: u32 = 2;
/// How long after the decision the hook's line may take to appear.
const HOOK_WITHIN: Duration = Duration::from_secs(10);

pub async fn run(args: &Args, trials: u32) -> anyhow::Result<RollbackFigures> {
    let url = args
        .redis
        .as_deref()
        .context("--rollback-trials needs --redis: the decision is timed on its verdict channel")?;
    let run_id = format!(
        "{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    );
    let (mut sink, mut verdicts) = redis::Client::open(url)
        .context("the --redis URL")?
        .get_async_pubsub()
        .await
        .context("connecting to Redis for the verdict channels")?
        .split();
    let mut control = VerdictServiceClient::connect(args.aggregator.clone())
        .await
        .with_context(|| format!("connecting to the aggregator at {}", args.aggregator))?;
    let period = Duration::from_secs_f64(1.0 / args.rate);

    let mut done = Vec::new();
    for index in 0..trials {
        let deployment = format!("rollback-{run_id}-{index}");
        let channel = format!("greenlight:{{{deployment}}}:verdicts");
        sink.subscribe(&channel)
            .await
            .with_context(|| format!("SUBSCRIBE {channel}"))?;
        let trial = Attempt {
            args,
            deployment: &deployment,
            channel: &channel,
            period,
        };
        let outcome = trial.run(&mut control, &mut verdicts).await;
        sink.unsubscribe(&channel)
            .await
            .with_context(|| format!("UNSUBSCRIBE {channel}"))?;
        done.push(outcome.unwrap_or_else(|error| Trial {
            deployment: deployment.clone(),
            decision_ms: None,
            hook_start_ms: None,
            rules: Vec::new(),
            epoch: None,
            error: Some(format!("{error:#}")),
        }));
    }

    let samples = args.consecutive_samples;
    let interval_ms = period.as_secs_f64() * 1000.0;
    let mut notes = Vec::new();
    if args.hook_log.is_none() {
        notes.push("no --hook-log: fault to the rollback hook's start was not measured".into());
    }
    Ok(RollbackFigures {
        trials_requested: trials,
        fault: args.fault,
        interval_seconds: period.as_secs_f64(),
        consecutive_samples: samples,
        expected_decision_ms: f64::from(samples.saturating_sub(1)) * interval_ms,
        expected_from_onset_ms: f64::from(samples) * interval_ms,
        decision: Spread::of(done.iter().filter_map(|t| t.decision_ms)),
        hook_start: args
            .hook_log
            .as_ref()
            .map(|_| Spread::of(done.iter().filter_map(|t| t.hook_start_ms))),
        trials: done,
        notes,
    })
}

/// One trial's fixed parts.
struct Attempt<'a> {
    args: &'a Args,
    deployment: &'a str,
    channel: &'a str,
    period: Duration,
}

impl Attempt<'_> {
    async fn run(
        &self,
        control: &mut VerdictServiceClient<Channel>,
        verdicts: &mut PubSubStream,
    ) -> anyhow::Result<Trial> {
        // The blue agent stays healthy: a rollback needs a healthy target
        // (docs/verdicts.md, trust rule 3), or the engine holds.
        let _blue = TrialAgent::start(self.agent(Color::Blue).await?, self.period);
        let mut green = TrialAgent::start(self.agent(Color::Green).await?, self.period);

        self.wait_for(verdicts, "READY in phase Ready", |v| {
            v.phase == "Ready" && v.decision == "READY"
        })
        .await?;
        let answer = control
            .cutover(CutoverRequest {
                deployment: self.deployment.to_string(),
                force: false,
                requested_by: "greenlight-bench".into(),
            })
            .await
            .context("the Cutover call")?
            .into_inner();
        if !answer.accepted {
            bail!("the cutover was refused: {}", answer.message);
        }
        self.wait_for(verdicts, "phase Baking", |v| v.phase == "Baking")
            .await?;
        tokio::time::sleep(self.period * HEALTHY_BAKE_REPORTS).await;

        green.fail(self.args.fault);
        let first = green
            .first_faulty()
            .await
            .context("the green agent's stream ended before its first faulty report")?;
        let rollback = self
            .wait_for(verdicts, "ROLLBACK", |v| v.decision == "ROLLBACK")
            .await?;
        let decided = rollback.read.saturating_duration_since(first.at);
        let hook_start_ms = match &self.args.hook_log {
            Some(path) => {
                let started = hook_started(path, self.deployment).await?;
                Some(
                    started
                        .duration_since(first.wall)
                        .map_or(0.0, |d| d.as_secs_f64() * 1000.0),
                )
            }
            None => None,
        };
        let mut rules: Vec<String> = rollback
            .verdict
            .reasons
            .iter()
            .map(|reason| reason.rule.clone())
            .collect();
        rules.dedup();
        Ok(Trial {
            deployment: self.deployment.to_string(),
            decision_ms: Some(decided.as_secs_f64() * 1000.0),
            hook_start_ms,
            rules,
            epoch: Some(rollback.verdict.epoch),
            error: None,
        })
    }

    async fn agent(&self, color: Color) -> anyhow::Result<fleet::ConnectedAgent> {
        let name = format!(
            "{}-{}",
            self.deployment,
            if color == Color::Blue {
                "blue"
            } else {
                "green"
            }
        );
        let interval_ms = self.period.as_millis().max(1) as u32;
        let agent = SimulatedAgent::new(
            self.deployment.to_string(),
            color,
            name.clone(),
            format!("{name}-run"),
            interval_ms,
        );
        fleet::open(self.args.aggregator.clone(), agent, false)
            .await
            .with_context(|| format!("connecting {name}"))
    }

    /// Reads the trial's channel until a verdict `wanted` accepts.
    async fn wait_for(
        &self,
        verdicts: &mut PubSubStream,
        what: &str,
        wanted: impl Fn(&VerdictJson) -> bool,
    ) -> anyhow::Result<Published> {
        let reading = async {
            while let Some(message) = verdicts.next().await {
                let read = Instant::now();
                if message.get_channel_name() != self.channel {
                    continue; // a late one of an earlier trial
                }
                let Ok(text) = message.get_payload::<String>() else {
                    continue;
                };
                let Ok(verdict) = serde_json::from_str::<VerdictJson>(&text) else {
                    continue;
                };
                if wanted(&verdict) {
                    return Ok(Published { verdict, read });
                }
            }
            bail!("the Redis subscription ended")
        };
        tokio::time::timeout(STEP_WITHIN, reading)
            .await
            .with_context(|| format!("no {what} verdict within {STEP_WITHIN:?}"))?
    }
}

/// A verdict read on the channel, and when.
struct Published {
    verdict: VerdictJson,
    read: Instant,
}

/// The wall-clock time the rollback hook wrote for `deployment`: a line
/// `<deployment> <unix-nanoseconds>`, waited for up to `HOOK_WITHIN`.
async fn hook_started(path: &Path, deployment: &str) -> anyhow::Result<SystemTime> {
    let deadline = Instant::now() + HOOK_WITHIN;
    loop {
        let text = tokio::fs::read_to_string(path).await.unwrap_or_default();
        let line = text.lines().find_map(|line| {
            let (name, nanos) = line.split_once(' ')?;
            (name == deployment).then(|| nanos.trim().parse::<u64>().ok())?
        });
        if let Some(nanos) = line {
            return Ok(UNIX_EPOCH + Duration::from_nanos(nanos));
        }
        if Instant::now() >= deadline {
            bail!(
                "no line for {deployment} in {} within {HOOK_WITHIN:?}: is the rollback hook writing it?",
                path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
