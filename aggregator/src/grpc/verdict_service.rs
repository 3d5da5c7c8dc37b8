//! VerdictService: get, watch and list verdicts, and the control calls
//! (cutover, rollback, pause, resume, rerun a gate) that go to the engine.

use std::sync::Arc;

use greenlight_proto::v1::verdict_service_server::VerdictService;
use greenlight_proto::v1::{
    ControlResponse, CutoverRequest, GetHistoryRequest, GetHistoryResponse, GetVerdictRequest,
    ListDeploymentsRequest, ListDeploymentsResponse, PauseRequest, RerunGateRequest, ResumeRequest,
    RollbackRequest, Verdict, WatchVerdictsRequest,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status};

use std::time::SystemTime;

use super::StreamLimit;
use crate::auth::{Action, AuthPolicy, authorize};
use crate::engine::{ControlError, ControlOutcome, Engine, validate_deployment_name};
use crate::hub::Hub;
use crate::redis::{HistoryError, HistoryReader, PageQuery};

/// Verdicts a watcher may fall behind by before the stream waits for it.
const WATCH_QUEUE: usize = 16;

pub struct VerdictApi {
    hub: Arc<Hub>,
    auth: Arc<AuthPolicy>,
    /// The history stream read back; `None` without Redis.
    history: Option<Arc<HistoryReader>>,
    watch_limit: StreamLimit,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl VerdictApi {
    pub fn new(
        hub: Arc<Hub>,
        auth: Arc<AuthPolicy>,
        history: Option<Arc<HistoryReader>>,
        watch_limit: StreamLimit,
        tasks: TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        VerdictApi {
            hub,
            auth,
            history,
            watch_limit,
            tasks,
            shutdown,
        }
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
        authorize(&self.auth, &request, Action::Read, "GetVerdict")?;
        let deployment = request.into_inner().deployment;
        checked_name(&deployment)?;
        match self.hub.verdict(&deployment) {
            Some(verdict) => Ok(Response::new(verdict)),
            None => {
                let verdicts = self.hub.verdicts();
                let known: Vec<&str> = verdicts.iter().map(|v| v.deployment.as_str()).collect();
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
        authorize(&self.auth, &request, Action::Read, "WatchVerdicts")?;
        let deployment = request.into_inner().deployment;
        checked_name(&deployment)?;
        let slot = self.watch_limit.acquire()?;
        let mut verdicts = self.hub.subscribe();
        let (sender, receiver) = mpsc::channel(WATCH_QUEUE);
        let shutdown = self.shutdown.clone();
        self.tasks.spawn(async move {
            let _slot = slot;
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
        request: Request<ListDeploymentsRequest>,
    ) -> Result<Response<ListDeploymentsResponse>, Status> {
        authorize(&self.auth, &request, Action::Read, "ListDeployments")?;
        let verdicts = self.hub.verdicts();
        Ok(Response::new(ListDeploymentsResponse { verdicts }))
    }

    async fn cutover(
        &self,
        request: Request<CutoverRequest>,
    ) -> Result<Response<ControlResponse>, Status> {
        let caller = authorize(&self.auth, &request, Action::Control, "Cutover")?;
        let request = request.into_inner();
        checked_name(&request.deployment)?;
        let by = caller.requester(&request.requested_by);
        self.control(&request.deployment, &by, |engine, now| {
            engine.cutover(&request.deployment, request.force, &by, now)
        })
    }

    async fn rollback(
        &self,
        request: Request<RollbackRequest>,
    ) -> Result<Response<ControlResponse>, Status> {
        let caller = authorize(&self.auth, &request, Action::Control, "Rollback")?;
        let request = request.into_inner();
        checked_name(&request.deployment)?;
        let by = caller.requester(&request.requested_by);
        let reason = given_reason(request.reason);
        self.control(&request.deployment, &by, |engine, now| {
            engine.rollback(&request.deployment, &reason, &by, now)
        })
    }

    async fn pause(
        &self,
        request: Request<PauseRequest>,
    ) -> Result<Response<ControlResponse>, Status> {
        let caller = authorize(&self.auth, &request, Action::Control, "Pause")?;
        let request = request.into_inner();
        checked_name(&request.deployment)?;
        let by = caller.requester(&request.requested_by);
        let reason = given_reason(request.reason);
        self.control(&request.deployment, &by, |engine, now| {
            engine.pause(&request.deployment, &reason, &by, now)
        })
    }

    async fn resume(
        &self,
        request: Request<ResumeRequest>,
    ) -> Result<Response<ControlResponse>, Status> {
        let caller = authorize(&self.auth, &request, Action::Control, "Resume")?;
        let request = request.into_inner();
        checked_name(&request.deployment)?;
        let by = caller.requester(&request.requested_by);
        self.control(&request.deployment, &by, |engine, now| {
            engine.resume(&request.deployment, &by, now)
        })
    }

    async fn rerun_gate(
        &self,
        request: Request<RerunGateRequest>,
    ) -> Result<Response<ControlResponse>, Status> {
        let caller = authorize(&self.auth, &request, Action::Control, "RerunGate")?;
        let request = request.into_inner();
        checked_name(&request.deployment)?;
        let by = caller.requester(&request.requested_by);
        self.control(&request.deployment, &by, |engine, now| {
            engine.rerun_gate(&request.deployment, &request.gate, &by, now)
        })
    }

    async fn get_history(
        &self,
        request: Request<GetHistoryRequest>,
    ) -> Result<Response<GetHistoryResponse>, Status> {
        authorize(&self.auth, &request, Action::Read, "GetHistory")?;
        self.history_page(request.into_inner())
            .await
            .map(Response::new)
    }
}

impl VerdictApi {
    async fn history_page(&self, request: GetHistoryRequest) -> Result<GetHistoryResponse, Status> {
        checked_name(&request.deployment)?;
        let Some(reader) = &self.history else {
            return Err(Status::failed_precondition(
                "this aggregator runs without [redis]: there is no history stream, only the transitions in the verdict (greenlight verdict)",
            ));
        };
        let query = PageQuery {
            before: (!request.before.is_empty()).then_some(request.before),
            since: request
                .since
                .as_ref()
                .and_then(greenlight_proto::time::from_timestamp),
            limit: request.limit,
        };
        reader
            .page(&request.deployment, &query)
            .await
            .map_err(|error| match error {
                HistoryError::BadCursor(_) => Status::invalid_argument(error.to_string()),
                HistoryError::Timeout | HistoryError::Redis(_) => {
                    Status::unavailable(error.to_string())
                }
            })
    }

    /// Runs a control call; the log says who asked (`by`, from the credential).
    fn control(
        &self,
        deployment: &str,
        by: &str,
        call: impl FnOnce(&mut Engine, SystemTime) -> Result<ControlOutcome, ControlError>,
    ) -> Result<Response<ControlResponse>, Status> {
        // A standby would decide, then neither publish nor act on it.
        if !self.hub.leadership().acting(deployment) {
            let leader = self.hub.leadership().leader(deployment).map_or(
                "not known yet (no aggregator holds the lease)".to_string(),
                |id| format!("aggregator {id}"),
            );
            let message = format!(
                "this aggregator stands by for {deployment}; only its leader acts on requests, and the leader is {leader}: send it there (`greenlight status` there names it)"
            );
            tracing::info!(by, %message, "control call refused");
            return Err(Status::failed_precondition(message));
        }
        match self.hub.with_engine(call) {
            Ok(outcome) => {
                tracing::info!(deployment = %outcome.verdict.deployment, by, message = %outcome.message, "control call accepted");
                Ok(Response::new(ControlResponse {
                    accepted: true,
                    message: outcome.message,
                    verdict: Some(outcome.verdict),
                }))
            }
            Err(error) => {
                let message = error.to_string();
                tracing::info!(by, %message, "control call refused");
                Err(match error {
                    ControlError::NotFound(_) => Status::not_found(message),
                    _ => Status::failed_precondition(message),
                })
            }
        }
    }
}

fn given_reason(reason: String) -> String {
    if reason.trim().is_empty() {
        "no reason given".to_string()
    } else {
        reason
    }
}
