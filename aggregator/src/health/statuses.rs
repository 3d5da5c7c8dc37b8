//! grpc.health.v1 answered as health.proto says, which tonic-health's
//! reporter does not for a service not known yet (its Watch answers
//! NOT_FOUND and ends): here Check answers NOT_FOUND, and Watch answers
//! SERVICE_UNKNOWN and stays open until the service appears, then follows
//! it. A switch script can open its Watch before the deployment's first
//! agent connects.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::Health;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// Every known service's status; a name that is absent is not known yet.
type StatusMap = Arc<HashMap<String, ServingStatus>>;

/// The statuses, written by the publisher, read by every call.
#[derive(Clone)]
pub struct Statuses {
    map: Arc<watch::Sender<StatusMap>>,
}

impl Statuses {
    pub fn new() -> Self {
        let (map, _) = watch::channel(StatusMap::default());
        Statuses { map: Arc::new(map) }
    }

    pub fn set(&self, service: &str, status: ServingStatus) {
        self.map.send_if_modified(|map| {
            if map.get(service) == Some(&status) {
                return false;
            }
            Arc::make_mut(map).insert(service.to_string(), status);
            true
        });
    }
}

impl Default for Statuses {
    fn default() -> Self {
        Self::new()
    }
}

fn answer(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse {
        status: status as i32,
    }
}

#[tonic::async_trait]
impl Health for Statuses {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let service = &request.get_ref().service;
        match self.map.borrow().get(service) {
            Some(status) => Ok(Response::new(answer(*status))),
            None => Err(Status::not_found(format!(
                "unknown service {service:?}: no verdict names it yet"
            ))),
        }
    }

    type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let service = request.into_inner().service;
        let mut last = None;
        // The first item is the current status; later ones only changes
        // of this service's (other services' changes wake it too).
        let changes = WatchStream::new(self.map.subscribe()).filter_map(move |map| {
            let status = map
                .get(&service)
                .copied()
                .unwrap_or(ServingStatus::ServiceUnknown);
            let changed = last != Some(status);
            last = Some(status);
            futures::future::ready(changed.then_some(Ok(answer(status))))
        });
        Ok(Response::new(Box::pin(changes)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn request(service: &str) -> Request<HealthCheckRequest> {
        Request::new(HealthCheckRequest {
            service: service.into(),
        })
    }

    async fn next_status(stream: &mut <Statuses as Health>::WatchStream) -> ServingStatus {
        let answer = stream.next().await.expect("open").expect("an answer");
        ServingStatus::try_from(answer.status).expect("a known status")
    }

    #[tokio::test(start_paused = true)]
    async fn watch_of_an_unknown_service_says_so_stays_open_then_follows_it() {
        let statuses = Statuses::new();
        let mut stream = statuses
            .watch(request("greenlight.escashop.green"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            next_status(&mut stream).await,
            ServingStatus::ServiceUnknown
        );
        // Another service's change says nothing here.
        statuses.set("greenlight.escashop.blue", ServingStatus::Serving);
        let quiet = tokio::time::timeout(Duration::from_secs(60), stream.next()).await;
        assert!(quiet.is_err(), "still open, nothing new: {quiet:?}");
        statuses.set("greenlight.escashop.green", ServingStatus::NotServing);
        assert_eq!(next_status(&mut stream).await, ServingStatus::NotServing);
        statuses.set("greenlight.escashop.green", ServingStatus::Serving);
        assert_eq!(next_status(&mut stream).await, ServingStatus::Serving);
    }

    #[tokio::test]
    async fn check_of_an_unknown_service_is_not_found_and_of_a_known_one_its_status() {
        let statuses = Statuses::new();
        let refused = statuses
            .check(request("greenlight.x.green"))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::NotFound);
        statuses.set("", ServingStatus::Serving);
        let answer = statuses.check(request("")).await.unwrap().into_inner();
        assert_eq!(answer.status, ServingStatus::Serving as i32);
    }
}
