//! grpc.health.v1: service "" is the aggregator itself; service
//! `greenlight.<deployment>.<color>` is SERVING exactly when that color is
//! fit to carry traffic now (DESIGN: external contracts).

use std::collections::HashMap;

use greenlight_proto::health_service_name;
use greenlight_proto::v1::Color;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::server::HealthReporter;

use crate::engine::fit_to_carry_traffic;
use crate::hub::VerdictMap;

pub struct HealthPublisher {
    reporter: HealthReporter,
    service: HealthServer<tonic_health::server::HealthService>,
}

impl HealthPublisher {
    pub fn new() -> Self {
        let reporter = HealthReporter::new();
        let service = HealthServer::new(tonic_health::server::HealthService::from_health_reporter(
            reporter.clone(),
        ));
        HealthPublisher { reporter, service }
    }

    pub fn service(&self) -> HealthServer<impl Health> {
        self.service.clone()
    }

    /// Follows every verdict until shutdown, then says NOT_SERVING for all.
    pub async fn follow(
        &self,
        mut verdicts: watch::Receiver<VerdictMap>,
        shutdown: CancellationToken,
    ) {
        self.reporter
            .set_service_status("", ServingStatus::Serving)
            .await;
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
                        self.reporter.set_service_status(&name, status).await;
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
            self.reporter
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        self.reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
    }
}

impl Default for HealthPublisher {
    fn default() -> Self {
        Self::new()
    }
}
