//! VerdictService: get, watch and list verdicts. The control calls answer
//! UNIMPLEMENTED until cutover and rollback arrive.

use std::sync::Arc;

use greenlight_proto::v1::verdict_service_server::VerdictService;
use greenlight_proto::v1::{
    ControlResponse, CutoverRequest, GetVerdictRequest, ListDeploymentsRequest,
    ListDeploymentsResponse, PauseRequest, ResumeRequest, RollbackRequest, Verdict,
    WatchVerdictsRequest,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::engine::validate_deployment_name;
use crate::hub::Hub;

/// Verdicts a watcher may fall behind by before the stream waits for it.
const WATCH_QUEUE: usize = 16;

pub struct VerdictApi {
    hub: Arc<Hub>,
    shutdown: CancellationToken,
}

impl VerdictApi {
    pub fn new(hub: Arc<Hub>, shutdown: CancellationToken) -> Self {
        VerdictApi { hub, shutdown }
    }
}

fn checked_name(deployment: &str) -> Result<(), Status> {
    validate_deployment_name(deployment)
        .map_err(|reason| Status::invalid_argument(format!("deployment: {reason}")))
}

#[tonic::async_trait]
impl VerdictService for VerdictApi {
    async fn get_verdict(
        &self,
        request: Request<GetVerdictRequest>,
    ) -> Result<Response<Verdict>, Status> {
        let deployment = request.into_inner().deployment;
        checked_name(&deployment)?;
        let verdicts = self.hub.current();
        match verdicts.get(&deployment) {
            Some(verdict) => Ok(Response::new(verdict.clone())),
            None => {
                let known: Vec<&str> = verdicts.keys().map(String::as_str).collect();
                Err(Status::not_found(format!(
                    "no deployment named {deployment:?}; known: {}",
                    if known.is_empty() {
                        "none yet (no agent has connected)".to_string()
                    } else {
                        known.join(", ")
                    }
                )))
            }
        }
    }

    type WatchVerdictsStream = ReceiverStream<Result<Verdict, Status>>;

    async fn watch_verdicts(
        &self,
        request: Request<WatchVerdictsRequest>,
    ) -> Result<Response<Self::WatchVerdictsStream>, Status> {
        let deployment = request.into_inner().deployment;
        checked_name(&deployment)?;
        let mut verdicts = self.hub.subscribe();
        let (sender, receiver) = mpsc::channel(WATCH_QUEUE);
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let mut sent_epoch = 0;
            loop {
                let current = verdicts.borrow_and_update().get(&deployment).cloned();
                if let Some(verdict) = current.filter(|verdict| verdict.epoch > sent_epoch) {
                    sent_epoch = verdict.epoch;
                    if sender.send(Ok(verdict)).await.is_err() {
                        return; // the watcher left
                    }
                }
                tokio::select! {
                    _ = shutdown.cancelled() => {
                        let _ = sender.send(Err(Status::unavailable("aggregator shutting down"))).await;
                        return;
                    }
                    _ = sender.closed() => return,
                    changed = verdicts.changed() => if changed.is_err() { return },
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn list_deployments(
        &self,
        _request: Request<ListDeploymentsRequest>,
    ) -> Result<Response<ListDeploymentsResponse>, Status> {
        let verdicts = self.hub.current().values().cloned().collect();
        Ok(Response::new(ListDeploymentsResponse { verdicts }))
    }

    async fn cutover(
        &self,
        _request: Request<CutoverRequest>,
    ) -> Result<Response<ControlResponse>, Status> {
        Err(not_yet("cutover"))
    }

    async fn rollback(
        &self,
        _request: Request<RollbackRequest>,
    ) -> Result<Response<ControlResponse>, Status> {
        Err(not_yet("rollback"))
    }

    async fn pause(
        &self,
        _request: Request<PauseRequest>,
    ) -> Result<Response<ControlResponse>, Status> {
        Err(not_yet("pause"))
    }

    async fn resume(
        &self,
        _request: Request<ResumeRequest>,
    ) -> Result<Response<ControlResponse>, Status> {
        Err(not_yet("resume"))
    }
}

fn not_yet(call: &str) -> Status {
    Status::unimplemented(format!(
        "{call} is not available in this aggregator version; switch traffic with deploy/switch-traffic"
    ))
}
