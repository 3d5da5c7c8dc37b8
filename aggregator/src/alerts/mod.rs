//! Alerts: the engine's steps become events (phase changes, READY,
//! cutover, ROLLBACK, HOLD, stale agents, clock skew, failed hooks, traffic
//! drift), routed to any number of sinks (a JSON webhook, Slack,
//! Alertmanager, email). The dispatcher hands events over and never waits:
//! each sink has its own task and bounded queue, so a slow or dead sink
//! delays no verdict, no hook and no other sink.
//!
//! # Layout
//! - `event`: [`AlertEvent`] and its kinds, states, severities.
//! - `derive`: the pure core, outputs to events ([`EventTracker`]).
//! - `route`: which events a sink wants.
//! - `dedup`: repeats not sent again.
//! - `payload`: webhook, Slack and Alertmanager bodies; `email`: the mail.
//! - `settings`: the validated `[alerts]` ([`AlertSettings`]).
//! - `deliver`: one attempt over HTTP or SMTP; `sink`: a sink's task.

mod dedup;
mod deliver;
mod derive;
mod email;
mod event;
mod payload;
mod route;
mod settings;
mod sink;

use std::sync::Mutex;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use self::derive::EventTracker;
pub use self::email::EmailContext;
pub use self::event::{AlertEvent, AlertSeverity, AlertState, EventKind};
pub use self::route::Route;
pub use self::settings::{AlertSettings, SinkSettings, SinkTarget, SmtpSettings};
use self::sink::{Sink, SinkHandle};
use crate::clock::Clock;
use crate::engine::Outputs;

/// What the dispatcher holds: the core's memory and every sink's queue.
#[derive(Debug, Default)]
pub struct Alerting {
    tracker: Mutex<EventTracker>,
    sinks: Vec<SinkHandle>,
}

impl Alerting {
    /// Starts one task per sink in `tasks`; they stop when the dispatcher
    /// drops this (their queues close and empty) or at `stop`.
    pub fn spawn(
        settings: &AlertSettings,
        clock: Clock,
        tasks: &TaskTracker,
        stop: CancellationToken,
    ) -> anyhow::Result<Alerting> {
        let context = settings.email.clone().unwrap_or_else(|| EmailContext {
            contact: String::new(),
            rollback_eta: String::new(),
        });
        let mut sinks = Vec::new();
        for sink in &settings.sinks {
            let deliverer = deliver::Deliverer::new(&sink.target, sink.timeout, &context)
                .map_err(|error| anyhow::anyhow!("alert sink {:?}: {error}", sink.name))?;
            let (task, handle, queue) = Sink::new(sink.clone(), deliverer, clock);
            tasks.spawn(task.run(queue, stop.clone()));
            tracing::info!(sink = %sink.name, kind = sink.target.kind(), "alert sink started");
            sinks.push(handle);
        }
        Ok(Alerting {
            tracker: Mutex::new(EventTracker::default()),
            sinks,
        })
    }

    /// The events of one engine step, offered to every sink that wants them.
    pub fn hand_over(&self, outputs: &Outputs, now: std::time::SystemTime) {
        if self.sinks.is_empty() {
            return;
        }
        let events = self
            .tracker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .step(outputs, now);
        for event in &events {
            for sink in &self.sinks {
                sink.offer(event);
            }
        }
    }
}
