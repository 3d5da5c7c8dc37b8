//! `GetVerdict` while the fleet reports: one client asking in turn about
//! each deployment, 100 times a second (as switch scripts and dashboards
//! poll), each call's latency kept.

use std::time::Duration;

use greenlight_proto::v1::GetVerdictRequest;
use greenlight_proto::v1::verdict_service_client::VerdictServiceClient;
use tokio::time::{Instant, MissedTickBehavior};

/// One call every this long.
const PACE: Duration = Duration::from_millis(10);

/// Latencies of the calls that answered, and how many failed.
#[derive(Debug, Default)]
pub struct VerdictLatencies {
    pub micros: Vec<u64>,
    pub failed: u64,
    pub first_error: Option<String>,
}

pub async fn poll_until(url: String, deployments: Vec<String>, end: Instant) -> VerdictLatencies {
    let mut latencies = VerdictLatencies::default();
    let mut client = match VerdictServiceClient::connect(url).await {
        Ok(client) => client,
        Err(error) => {
            latencies.failed += 1;
            latencies.first_error = Some(format!("connecting: {error}"));
            return latencies;
        }
    };
    let mut ticks = tokio::time::interval(PACE);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut names = deployments.iter().cycle();
    while Instant::now() < end {
        ticks.tick().await;
        let Some(deployment) = names.next() else {
            break;
        };
        let asked = Instant::now();
        let answer = client
            .get_verdict(GetVerdictRequest {
                deployment: deployment.clone(),
            })
            .await;
        match answer {
            Ok(_) => latencies.micros.push(asked.elapsed().as_micros() as u64),
            Err(status) => {
                latencies.failed += 1;
                latencies
                    .first_error
                    .get_or_insert_with(|| format!("{deployment}: {}", status.message()));
            }
        }
    }
    latencies
}
