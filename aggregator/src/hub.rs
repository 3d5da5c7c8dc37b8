//! The lock around the pure core. Under it the shell only steps the engine
//! and hands what it produced to one bounded channel, in epoch order; the
//! dispatcher (`dispatch`) carries it out. When the channel is full the
//! outputs wait inside the engine (they accumulate there in order) and go
//! with the next step, or when the dispatcher comes back for them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use greenlight_proto::v1::Verdict;
use tokio::sync::{Notify, mpsc, watch};

use crate::clock::Clock;
use crate::engine::{Engine, Outputs};
use crate::lead::Leadership;

/// The latest epoch's verdict of every deployment, by name.
pub type VerdictMap = Arc<BTreeMap<String, Verdict>>;

/// Engine steps waiting for the dispatcher.
pub const DISPATCH_QUEUE: usize = 256;

/// What one engine step produced, with the span it was made in (e.g. the
/// ingest of the report that decided it), so that carrying it out joins
/// that trace.
pub struct Step {
    pub outputs: Outputs,
    pub span: tracing::Span,
}

pub struct Hub {
    engine: Mutex<Engine>,
    clock: Clock,
    dispatch: mpsc::Sender<Step>,
    /// Every deployment's latest verdict, for watchers and grpc.health.v1;
    /// written by the dispatcher.
    verdicts: watch::Sender<VerdictMap>,
    /// Wakes the scheduler: an event may have moved the next deadline.
    stepped: Notify,
    next_connection: AtomicU64,
    /// Who leads each deployment: every verdict handed out says so.
    leadership: Arc<Leadership>,
}

impl Hub {
    /// The hub and the receiving end of its dispatch channel.
    pub fn new(
        engine: Engine,
        clock: Clock,
        leadership: Arc<Leadership>,
    ) -> (Self, mpsc::Receiver<Step>) {
        let (dispatch, receiver) = mpsc::channel(DISPATCH_QUEUE);
        let (verdicts, _) = watch::channel(VerdictMap::default());
        let hub = Hub {
            engine: Mutex::new(engine),
            clock,
            dispatch,
            verdicts,
            stepped: Notify::new(),
            next_connection: AtomicU64::new(1),
            leadership,
        };
        hub.with_engine(|_, _| ());
        (hub, receiver)
    }

    fn lock(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the engine at the current time, then hands what it
    /// produced to the dispatcher, still under the lock so that it leaves
    /// in epoch order.
    pub fn with_engine<R>(&self, f: impl FnOnce(&mut Engine, SystemTime) -> R) -> R {
        let mut engine = self.lock();
        let result = f(&mut engine, self.clock.now());
        if let Ok(permit) = self.dispatch.try_reserve() {
            let outputs = engine.take_outputs();
            if !outputs.is_empty() {
                permit.send(Step {
                    outputs,
                    span: tracing::Span::current(),
                });
            }
        }
        drop(engine);
        self.stepped.notify_one();
        result
    }

    /// Reads the engine without stepping it (the status page, /metrics).
    pub fn read<R>(&self, f: impl FnOnce(&Engine, SystemTime) -> R) -> R {
        f(&self.lock(), self.clock.now())
    }

    /// What the engine produced while the channel was full (the dispatcher
    /// asks when it has caught up).
    pub fn take_pending(&self) -> Outputs {
        self.lock().take_outputs()
    }

    /// When the engine must next be stepped without an event.
    pub fn next_deadline(&self) -> Option<SystemTime> {
        self.lock().next_deadline()
    }

    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Resolves after the next engine step.
    pub async fn stepped(&self) {
        self.stepped.notified().await
    }

    pub fn subscribe(&self) -> watch::Receiver<VerdictMap> {
        self.verdicts.subscribe()
    }

    /// Publishes new epochs' verdicts to the watchers (the dispatcher's).
    pub fn publish_verdicts(&self, verdicts: &mut [Verdict]) {
        if verdicts.is_empty() {
            return;
        }
        for verdict in verdicts.iter_mut() {
            self.stamp(verdict);
        }
        self.verdicts.send_modify(|map| {
            let map = Arc::make_mut(map);
            for verdict in verdicts.iter() {
                map.insert(verdict.deployment.clone(), verdict.clone());
            }
        });
    }

    pub fn leadership(&self) -> &Leadership {
        &self.leadership
    }

    /// Names the deployment's leader in `verdict` (with `[ha]`).
    fn stamp(&self, verdict: &mut Verdict) {
        verdict.leader = self
            .leadership
            .leader(&verdict.deployment)
            .unwrap_or_default();
    }

    /// The current verdict with the freshest details.
    pub fn verdict(&self, name: &str) -> Option<Verdict> {
        let mut verdict = self.with_engine(|engine, now| engine.verdict(name, now))?;
        self.stamp(&mut verdict);
        Some(verdict)
    }

    pub fn verdicts(&self) -> Vec<Verdict> {
        let mut verdicts = self.with_engine(|engine, now| engine.verdicts(now));
        for verdict in &mut verdicts {
            self.stamp(verdict);
        }
        verdicts
    }

    /// A fresh id for each agent stream.
    pub fn connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }
}
