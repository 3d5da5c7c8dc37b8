//! cutover, rollback, pause, resume: the control calls.

use std::time::Duration;

use greenlight_proto::v1::{
    ControlResponse, CutoverRequest, PauseRequest, ResumeRequest, RollbackRequest,
};
use tonic::Response;

use crate::client::connect;
use crate::exit::Failure;
use crate::render;
use crate::target::Target;

/// Who asks: recorded in the transition's cause.
fn requester() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".into());
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!("{user}@{} via greenlight", host.trim())
}

pub enum Call {
    Cutover { force: bool },
    Rollback { reason: String },
    Pause { reason: String },
    Resume,
}

pub async fn control(
    address: &Target,
    timeout: Duration,
    deployment: &str,
    call: Call,
    json: bool,
) -> Result<(), Failure> {
    let mut connection = connect(address, timeout).await?;
    let client = &mut connection.verdicts;
    let deployment = deployment.to_string();
    let requested_by = requester();
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
            }
        })
        .await
        .map_err(|_| Failure::unreachable(address, "no answer in time"))?;
    let answer = answer
        .map_err(|status| address.failure(&status))?
        .into_inner();
    match (&answer.verdict, json) {
        (Some(verdict), true) => println!("{}", render::json(verdict)),
        (Some(verdict), false) => {
            println!("{}", answer.message);
            print!("{}", render::full(verdict));
        }
        (None, _) => println!("{}", answer.message),
    }
    Ok(())
}
