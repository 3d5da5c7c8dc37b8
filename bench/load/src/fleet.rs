//! The fleet: N simulated agents, each on its own connection and stream
//! (as real agents are), reporting R times a second for D, their starts
//! spread evenly over one interval. Acks and Rejects are counted as they
//! come back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use futures::StreamExt;
use greenlight_proto::v1::agent_message::Body;
use greenlight_proto::v1::agent_service_client::AgentServiceClient;
use greenlight_proto::v1::aggregator_message::Body as Answer;
use greenlight_proto::v1::{AgentMessage, AggregatorMessage, Color};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

use crate::args::Args;
use crate::publication::Markers;
use crate::simulated::SimulatedAgent;

/// How long one agent may take to connect and be welcomed.
const WELCOME_WITHIN: Duration = Duration::from_secs(30);
/// Deployments with a marker agent whose reports flip the verdict (see
/// `publication`): enough samples, without making every deployment's
/// verdict change every second.
const MARKERS: u32 = 10;
/// Reports one agent may have queued; a full queue skips a tick.
const OUTBOUND: usize = 8;

/// One agent with its stream open and welcomed.
pub struct ConnectedAgent {
    pub(crate) agent: SimulatedAgent,
    /// The deployment's marker: its verdict-changing reports are timed
    /// to publication (see `publication`).
    marker: bool,
    pub(crate) outbound: mpsc::Sender<AgentMessage>,
    pub(crate) inbound: Streaming<AggregatorMessage>,
}

/// What the fleet's agents saw, shared by their tasks.
#[derive(Debug, Default)]
pub struct Tally {
    pub sent: AtomicU64,
    pub accepted: AtomicU64,
    pub rejected: AtomicU64,
    /// Ticks skipped because the agent's queue was full (backpressure).
    pub skipped: AtomicU64,
    /// Streams that ended or failed while reporting.
    pub streams_lost: AtomicU64,
}

/// Connects every agent, `--connect-concurrency` at a time. Agents that
/// could not connect are counted, with the first error, not fatal.
pub async fn connect(args: &Args, run_id: &str) -> (Vec<ConnectedAgent>, u32, Option<String>) {
    let interval_ms = (1000.0 / args.rate).round().max(1.0) as u32;
    let attempts = futures::stream::iter(0..args.agents)
        .map(|index| {
            let deployment = args.deployment_of(index);
            // Within a deployment, agents alternate blue and green.
            let color = if (index / args.deployments) % 2 == 0 {
                Color::Blue
            } else {
                Color::Green
            };
            let agent = SimulatedAgent::new(
                deployment,
                color,
                format!("load-{index}"),
                format!("{run_id}-{index}"),
                interval_ms,
            );
            // The first agent of each of the first MARKERS deployments.
            open(
                args.aggregator.clone(),
                agent,
                index < args.deployments.min(MARKERS),
            )
        })
        .buffer_unordered(args.connect_concurrency as usize);
    let results: Vec<anyhow::Result<ConnectedAgent>> = attempts.collect().await;
    let mut connected = Vec::with_capacity(results.len());
    let mut failed = 0;
    let mut first_error = None;
    for result in results {
        match result {
            Ok(agent) => connected.push(agent),
            Err(error) => {
                failed += 1;
                first_error.get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
    (connected, failed, first_error)
}

pub(crate) async fn open(
    url: String,
    agent: SimulatedAgent,
    marker: bool,
) -> anyhow::Result<ConnectedAgent> {
    let channel = tonic::transport::Endpoint::from_shared(url)
        .context("the aggregator's URL")?
        .connect_timeout(WELCOME_WITHIN)
        .connect()
        .await
        .context("connecting to the aggregator")?;
    let (outbound, receiver) = mpsc::channel(OUTBOUND);
    outbound
        .send(AgentMessage {
            body: Some(Body::Hello(agent.hello())),
        })
        .await
        .context("queueing the Hello")?;
    let mut client = AgentServiceClient::new(channel);
    let welcomed = async {
        let mut inbound = client
            .stream(ReceiverStream::new(receiver))
            .await?
            .into_inner();
        match inbound.message().await? {
            Some(AggregatorMessage {
                body: Some(Answer::Welcome(_)),
            }) => Ok(inbound),
            other => Err(tonic::Status::internal(format!(
                "expected a Welcome, got {other:?}"
            ))),
        }
    };
    let inbound = tokio::time::timeout(WELCOME_WITHIN, welcomed)
        .await
        .context("no Welcome within 30 s")?
        .context("opening the report stream")?;
    Ok(ConnectedAgent {
        agent,
        marker,
        outbound,
        inbound,
    })
}

/// Runs every agent from `start` to `end`, each reporting every `period`,
/// their first reports spread evenly over the first period. The agents
/// come back still connected, so the aggregator's memory can be read
/// with every stream open.
pub async fn report(
    agents: Vec<ConnectedAgent>,
    start: Instant,
    end: Instant,
    period: Duration,
    tally: Arc<Tally>,
    markers: Option<Arc<Markers>>,
) -> Vec<ConnectedAgent> {
    let count = agents.len().max(1) as u32;
    let tasks: Vec<_> = agents
        .into_iter()
        .enumerate()
        .map(|(index, agent)| {
            let first = start + period * index as u32 / count;
            let markers = markers.clone().filter(|_| agent.marker);
            tokio::spawn(report_until(
                agent,
                first,
                end,
                period,
                tally.clone(),
                markers,
            ))
        })
        .collect();
    let mut back = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(agent) = task.await {
            back.push(agent);
        }
    }
    back
}

async fn report_until(
    mut agent: ConnectedAgent,
    first: Instant,
    end: Instant,
    period: Duration,
    tally: Arc<Tally>,
    markers: Option<Arc<Markers>>,
) -> ConnectedAgent {
    let mut ticks = tokio::time::interval_at(first, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let stop = tokio::time::sleep_until(end);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = ticks.tick() => {
                // Only a report that can be queued is built, so sequences
                // stay consecutive.
                let Ok(permit) = agent.outbound.try_reserve() else {
                    tally.skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let sequence = agent.agent.next_sequence();
                // A marker's http check flips on every report, so each
                // of its reports changes the verdict.
                let failing = markers.is_some() && sequence % 2 == 0;
                if let Some(markers) = &markers {
                    markers.sent(agent.agent.instance_id(), sequence, Instant::now());
                }
                let report = agent.agent.next_report(SystemTime::now(), failing);
                permit.send(AgentMessage { body: Some(Body::Report(report)) });
                tally.sent.fetch_add(1, Ordering::Relaxed);
            }
            answer = agent.inbound.message() => match answer {
                Ok(Some(AggregatorMessage { body: Some(Answer::Ack(_)) })) => {
                    tally.accepted.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Some(AggregatorMessage { body: Some(Answer::Reject(_)) })) => {
                    tally.rejected.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    tally.streams_lost.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
    }
    agent
}
