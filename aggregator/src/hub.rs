//! The shell around the engine: one lock over the pure core, and the ways
//! its verdicts leave it (a `watch` of every current verdict for gRPC and
//! health, a bounded queue for Redis).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use greenlight_proto::v1::Verdict;
use tokio::sync::{mpsc, watch};

use crate::clock::Clock;
use crate::engine::Engine;

/// The current verdict of every deployment, by name.
pub type VerdictMap = Arc<BTreeMap<String, Verdict>>;

pub struct Hub {
    engine: Mutex<Engine>,
    clock: Clock,
    verdicts: watch::Sender<VerdictMap>,
    /// To the Redis publisher; `None` when running without Redis.
    publish: Option<mpsc::Sender<Verdict>>,
    /// Verdicts the publisher could not take because its queue was full.
    publish_dropped: AtomicU64,
    next_connection: AtomicU64,
}

impl Hub {
    pub fn new(engine: Engine, clock: Clock, publish: Option<mpsc::Sender<Verdict>>) -> Self {
        let (verdicts, _) = watch::channel(VerdictMap::default());
        let hub = Hub {
            engine: Mutex::new(engine),
            clock,
            verdicts,
            publish,
            publish_dropped: AtomicU64::new(0),
            next_connection: AtomicU64::new(1),
        };
        hub.with_engine(|_, _| ());
        hub
    }

    /// Runs `f` on the engine at the current time, then carries every verdict
    /// it produced out, still under the lock so they leave in epoch order.
    pub fn with_engine<R>(&self, f: impl FnOnce(&mut Engine, SystemTime) -> R) -> R {
        let mut engine = self.engine.lock().unwrap_or_else(|e| e.into_inner());
        let result = f(&mut engine, self.clock.now());
        let touched = engine.take_touched();
        if !touched.is_empty() {
            self.verdicts.send_modify(|map| {
                let map = Arc::make_mut(map);
                for name in touched {
                    if let Some(verdict) = engine.verdict(&name) {
                        map.insert(name, verdict.clone());
                    }
                }
            });
        }
        let changed = engine.take_changed();
        if !changed.is_empty() {
            if let Some(publish) = &self.publish {
                for verdict in changed {
                    if publish.try_send(verdict).is_err() {
                        let dropped = self.publish_dropped.fetch_add(1, Ordering::Relaxed) + 1;
                        tracing::warn!(
                            dropped,
                            "Redis publish queue full: a verdict was not published"
                        );
                    }
                }
            }
        }
        result
    }

    pub fn subscribe(&self) -> watch::Receiver<VerdictMap> {
        self.verdicts.subscribe()
    }

    pub fn current(&self) -> VerdictMap {
        self.verdicts.borrow().clone()
    }

    /// A fresh id for each agent stream.
    pub fn connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }
}
