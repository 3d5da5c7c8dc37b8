//! The shell around the engine: one lock over the pure core, and the ways
//! its outputs leave it (a `watch` of every deployment's latest verdict for
//! gRPC watchers and health, a bounded queue to Redis, the log).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use greenlight_proto::names::{action_name, color_name};
use greenlight_proto::v1::Verdict;
use tokio::sync::{mpsc, watch};

use greenlight_proto::json::VerdictJson;

use crate::clock::Clock;
use crate::engine::{Engine, Severity};
use crate::hooks::{HookOrder, HookRunner};
use crate::redis::Publication;

/// The latest epoch's verdict of every deployment, by name.
pub type VerdictMap = Arc<BTreeMap<String, Verdict>>;

pub struct Hub {
    engine: Mutex<Engine>,
    clock: Clock,
    verdicts: watch::Sender<VerdictMap>,
    /// To the Redis publisher; `None` when running without Redis.
    publish: Option<mpsc::Sender<Publication>>,
    /// Carries decided actions out (the switch script).
    hooks: Option<Arc<HookRunner>>,
    /// Batches the publisher could not take because its queue was full.
    publish_dropped: AtomicU64,
    next_connection: AtomicU64,
}

impl Hub {
    pub fn new(
        engine: Engine,
        clock: Clock,
        publish: Option<mpsc::Sender<Publication>>,
        hooks: Option<Arc<HookRunner>>,
    ) -> Self {
        let (verdicts, _) = watch::channel(VerdictMap::default());
        let hub = Hub {
            engine: Mutex::new(engine),
            clock,
            verdicts,
            publish,
            hooks,
            publish_dropped: AtomicU64::new(0),
            next_connection: AtomicU64::new(1),
        };
        hub.with_engine(|_, _| ());
        hub
    }

    /// Runs `f` on the engine at the current time, then carries what it
    /// produced out, still under the lock so that it leaves in epoch order.
    pub fn with_engine<R>(&self, f: impl FnOnce(&mut Engine, SystemTime) -> R) -> R {
        let mut engine = self.engine.lock().unwrap_or_else(|e| e.into_inner());
        let result = f(&mut engine, self.clock.now());
        let outputs = engine.take_outputs();
        if outputs.is_empty() {
            return result;
        }
        for alert in &outputs.alerts {
            let details = alert.details.join("; ");
            match alert.severity {
                Severity::Critical => {
                    tracing::error!(epoch = alert.epoch, %details, "ALERT {}", alert.summary)
                }
                Severity::Warning => {
                    tracing::warn!(epoch = alert.epoch, %details, "ALERT {}", alert.summary)
                }
            }
        }
        for action in &outputs.actions {
            tracing::warn!(
                deployment = %action.deployment,
                epoch = action.epoch,
                from = color_name(action.from),
                to = color_name(action.to),
                cause = %action.cause,
                "decided: {}",
                action_name(action.action)
            );
        }
        if !outputs.verdicts.is_empty() {
            self.verdicts.send_modify(|map| {
                let map = Arc::make_mut(map);
                for verdict in &outputs.verdicts {
                    map.insert(verdict.deployment.clone(), verdict.clone());
                }
            });
        }
        if let Some(hooks) = &self.hooks {
            for order in &outputs.actions {
                let verdict_json = outputs
                    .verdicts
                    .iter()
                    .find(|v| v.deployment == order.deployment && v.epoch == order.epoch)
                    .map(|v| serde_json::to_string(&VerdictJson::from(v)).unwrap_or_default())
                    .unwrap_or_default();
                hooks.submit(HookOrder {
                    order: order.clone(),
                    verdict_json,
                });
            }
        }
        if let Some(publish) = &self.publish {
            if publish.try_send(Publication::Engine(outputs)).is_err() {
                let dropped = self.publish_dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(
                    dropped,
                    "Redis publish queue full: verdicts were not published"
                );
            }
        }
        result
    }

    pub fn subscribe(&self) -> watch::Receiver<VerdictMap> {
        self.verdicts.subscribe()
    }

    /// The current verdict with the freshest details.
    pub fn verdict(&self, name: &str) -> Option<Verdict> {
        self.with_engine(|engine, now| engine.verdict(name, now))
    }

    pub fn verdicts(&self) -> Vec<Verdict> {
        self.with_engine(|engine, now| engine.verdicts(now))
    }

    /// A fresh id for each agent stream.
    pub fn connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }
}
