//! cutover, rollback, pause, resume, gate rerun: the control calls.

use std::time::Duration;

use greenlight_proto::json::ReasonJson;
use greenlight_proto::v1::{
    ControlResponse, CutoverRequest, PauseRequest, RerunGateRequest, ResumeRequest, RollbackRequest,
};
use tonic::Response;

use crate::client::{connect, fetch_verdict};
use crate::exit::Failure;
use crate::output::{print, println};
use crate::render;
use crate::target::Target;

pub enum Call {
    Cutover { force: bool },
    Rollback { reason: String },
    Pause { reason: String },
    Resume,
    RerunGate { gate: String },
}

pub async fn control(
    address: &Target,
    timeout: Duration,
    deployment: &str,
    call: Call,
    operator: &str,
    json: bool,
) -> Result<(), Failure> {
    let mut connection = connect(address, timeout).await?;
    let client = &mut connection.verdicts;
    let deployment_name = deployment;
    let deployment = deployment.to_string();
    let requested_by = crate::operator::requested_by(operator);
    let answer: Result<Response<ControlResponse>, tonic::Status> =
        tokio::time::timeout(timeout, async {
            match call {
                Call::Cutover { force } => {
                    client
                        .cutover(CutoverRequest {
                            deployment,
                            force,
                            requested_by,
                        })
                        .await
                }
                Call::Rollback { reason } => {
                    client
                        .rollback(RollbackRequest {
                            deployment,
                            reason,
                            requested_by,
                        })
                        .await
                }
                Call::Pause { reason } => {
                    client
                        .pause(PauseRequest {
                            deployment,
                            reason,
                            requested_by,
                        })
                        .await
                }
                Call::Resume => {
                    client
                        .resume(ResumeRequest {
                            deployment,
                            requested_by,
                        })
                        .await
                }
                Call::RerunGate { gate } => {
                    client
                        .rerun_gate(RerunGateRequest {
                            deployment,
                            gate,
                            requested_by,
                        })
                        .await
                }
            }
        })
        .await
        .map_err(|_| Failure::unreachable(address, "no answer in time"))?;
    let answer = match answer {
        Ok(answer) => answer.into_inner(),
        Err(status) => {
            let mut failure = address.failure(&status);
            if failure.kind == Some("refused") {
                // The refusal names its reasons in words; the verdict has
                // them as data, for `--json`.
                if let Ok(verdict) = fetch_verdict(address, timeout, deployment_name).await {
                    failure.reasons = verdict.reasons.iter().map(ReasonJson::from).collect();
                }
            }
            return Err(failure);
        }
    };
    match (&answer.verdict, json) {
        (Some(verdict), true) => println(&render::json(verdict)),
        (Some(verdict), false) => {
            println(&answer.message)?;
            print(&render::full(verdict))
        }
        (None, _) => println(&answer.message),
    }
}
