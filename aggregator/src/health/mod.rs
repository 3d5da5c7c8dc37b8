//! grpc.health.v1: service "" is the aggregator itself; service
//! `greenlight.<deployment>.<color>` is SERVING exactly when that color is
//! fit to carry traffic now (DESIGN: external contracts).
//!
//! - `statuses`: the grpc.health.v1 service itself (Check, and a Watch
//!   that waits for a service not known yet).

mod statuses;

use std::collections::HashMap;

use greenlight_proto::health_service_name;
use greenlight_proto::v1::Color;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};

use statuses::Statuses;

use crate::engine::fit_to_carry_traffic;
use crate::hub::VerdictMap;

pub struct HealthPublisher {
    statuses: Statuses,
}

impl HealthPublisher {
    pub fn new() -> Self {
        HealthPublisher {
            statuses: Statuses::new(),
        }
    }

    pub fn service(&self) -> HealthServer<impl Health> {
        HealthServer::new(self.statuses.clone())
    }

    /// Follows every verdict until shutdown, then says NOT_SERVING for all.
    pub async fn follow(
        &self,
        mut verdicts: watch::Receiver<VerdictMap>,
        shutdown: CancellationToken,
    ) {
        self.statuses.set("", ServingStatus::Serving);
        let mut known: HashMap<String, ServingStatus> = HashMap::new();
        loop {
            let current = verdicts.borrow_and_update().clone();
            for verdict in current.values() {
                for color in [Color::Blue, Color::Green] {
                    let status = if fit_to_carry_traffic(verdict, color) {
                        ServingStatus::Serving
                    } else {
                        ServingStatus::NotServing
                    };
                    let name = health_service_name(&verdict.deployment, color);
                    if known.get(&name) != Some(&status) {
                        self.statuses.set(&name, status);
                        known.insert(name, status);
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                changed = verdicts.changed() => if changed.is_err() { break },
            }
        }
        for name in known.keys() {
            self.statuses.set(name, ServingStatus::NotServing);
        }
        self.statuses.set("", ServingStatus::NotServing);
    }
}

impl Default for HealthPublisher {
    fn default() -> Self {
        Self::new()
    }
}
