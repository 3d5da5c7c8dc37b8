//! One agent of a rollback trial: it reports every interval on its own
//! stream, healthy until it is told a fault, and says when it queued its
//! first faulty report (the trial's time zero). Dropping it closes the
//! stream, as an agent that stops does.

use std::time::{Duration, SystemTime};

use greenlight_proto::v1::AgentMessage;
use greenlight_proto::v1::agent_message::Body;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::fleet::ConnectedAgent;
use crate::simulated::Fault;

/// When the first faulty report was queued, on both of this process's
/// clocks: the monotonic one for the decision on the Redis channel, the
/// wall clock for a hook's own timestamp (the same machine's clock).
#[derive(Debug, Clone, Copy)]
pub struct FirstFaulty {
    pub at: Instant,
    pub wall: SystemTime,
}

pub struct TrialAgent {
    /// The fault the next reports show; `None` is healthy.
    fault: watch::Sender<Option<Fault>>,
    first_faulty: Option<oneshot::Receiver<FirstFaulty>>,
    task: JoinHandle<()>,
}

impl TrialAgent {
    /// Starts reporting at once, then every `period`.
    pub fn start(agent: ConnectedAgent, period: Duration) -> TrialAgent {
        let (fault, told) = watch::channel(None);
        let (first_faulty, first_faulty_seen) = oneshot::channel();
        TrialAgent {
            fault,
            first_faulty: Some(first_faulty_seen),
            task: tokio::spawn(report(agent, period, told, first_faulty)),
        }
    }

    /// From its next report on, the agent shows `fault`.
    pub fn fail(&self, fault: Fault) {
        self.fault.send_replace(Some(fault));
    }

    /// When its first faulty report was queued; `None` if its stream
    /// ended first (or this was asked before).
    pub async fn first_faulty(&mut self) -> Option<FirstFaulty> {
        self.first_faulty.take()?.await.ok()
    }
}

impl Drop for TrialAgent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn report(
    mut agent: ConnectedAgent,
    period: Duration,
    mut told: watch::Receiver<Option<Fault>>,
    first_faulty: oneshot::Sender<FirstFaulty>,
) {
    let mut first_faulty = Some(first_faulty);
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                let fault = *told.borrow_and_update();
                // Only a report that can be queued is built, so sequences
                // stay consecutive.
                let Ok(permit) = agent.outbound.try_reserve() else {
                    continue;
                };
                agent.agent.set_fault(fault);
                let report = agent.agent.next_report(SystemTime::now(), false);
                if let Some(first) = fault.and_then(|_| first_faulty.take()) {
                    let _ = first.send(FirstFaulty {
                        at: Instant::now(),
                        wall: SystemTime::now(),
                    });
                }
                permit.send(AgentMessage { body: Some(Body::Report(report)) });
            }
            // Acks and Rejects are read so the stream keeps flowing; an
            // ended stream ends the agent.
            answer = agent.inbound.message() => match answer {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
}
