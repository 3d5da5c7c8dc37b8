//! A test aggregator: a real tonic `AgentService` on loopback that
//! welcomes, acknowledges and records every report, and can "crash".

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures::Stream;
use greenlight_proto::names::parse_check_kind;
use greenlight_proto::v1::agent_message::Body as AgentBody;
use greenlight_proto::v1::agent_service_server::{AgentService, AgentServiceServer};
use greenlight_proto::v1::aggregator_message::Body as AggregatorBody;
use greenlight_proto::v1::{
    Ack, AgentMessage, AggregatorMessage, CheckKind, CheckResult, CheckStatus, Hello, Reject,
    RejectReason, Report, Welcome,
};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

/// What the test aggregator saw, kept across its restarts (as a real
/// aggregator keeps the last sequence per agent run).
#[derive(Debug, Default)]
pub struct Seen {
    pub hellos: Vec<Hello>,
    /// Highest sequence held per run id.
    pub last: HashMap<String, u64>,
    /// Every report accepted, in arrival order.
    pub accepted: Vec<u64>,
    /// Reports that came again or out of order (should stay empty).
    pub duplicates: Vec<u64>,
    /// Reports that skipped ahead (should stay empty).
    pub gaps: Vec<(u64, u64)>,
    pub failing_http_checks: usize,
    /// `dropped_reports` of every accepted report, in arrival order.
    pub dropped: Vec<u64>,
    /// Every accepted report whole, in arrival order.
    pub reports: Vec<Report>,
    /// The traffic check's result in every report, in arrival order.
    pub traffic: Vec<CheckResult>,
    /// Results whose `kind` is unset or disagrees with their `check` name
    /// (should stay empty).
    pub unkinded: Vec<CheckResult>,
}

#[derive(Clone)]
pub struct TestAggregator {
    pub seen: Arc<Mutex<Seen>>,
    /// Cancelled to "crash": every open stream ends with UNAVAILABLE.
    pub crash: CancellationToken,
    /// When set, every Hello is refused with INVALID_ARGUMENT.
    pub refuse_hello: bool,
    /// Said in every Welcome (0: says nothing, as an older aggregator).
    pub min_requests: u64,
}

impl TestAggregator {
    /// Welcomes every agent, says no minimum, never crashes by itself.
    pub fn new(seen: &Arc<Mutex<Seen>>) -> Self {
        TestAggregator {
            seen: seen.clone(),
            crash: CancellationToken::new(),
            refuse_hello: false,
            min_requests: 0,
        }
    }
}

type Replies = Pin<Box<dyn Stream<Item = Result<AggregatorMessage, Status>> + Send>>;

fn reply(body: AggregatorBody) -> Result<AggregatorMessage, Status> {
    Ok(AggregatorMessage { body: Some(body) })
}

#[tonic::async_trait]
impl AgentService for TestAggregator {
    type StreamStream = Replies;

    async fn stream(
        &self,
        request: Request<Streaming<AgentMessage>>,
    ) -> Result<Response<Replies>, Status> {
        let mut inbound = request.into_inner();
        let hello = match inbound.message().await? {
            Some(AgentMessage {
                body: Some(AgentBody::Hello(hello)),
            }) => hello,
            _ => {
                return Err(Status::invalid_argument(
                    "the first message must be a Hello",
                ));
            }
        };
        self.seen.lock().unwrap().hellos.push(hello.clone());
        if self.refuse_hello {
            return Err(Status::invalid_argument(
                "hello.color: must be BLUE or GREEN",
            ));
        }
        let run_id = hello.run_id.clone();
        let last_sequence = *self.seen.lock().unwrap().last.get(&run_id).unwrap_or(&0);
        let (replies, outgoing) = mpsc::channel(64);
        let _ = replies
            .send(reply(AggregatorBody::Welcome(Welcome {
                last_sequence,
                min_requests: self.min_requests,
            })))
            .await;
        let seen = self.seen.clone();
        let crash = self.crash.clone();
        tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    _ = crash.cancelled() => {
                        let _ = replies.send(Err(Status::unavailable("aggregator going down"))).await;
                        return;
                    }
                    message = inbound.message() => message,
                };
                let Ok(Some(AgentMessage {
                    body: Some(AgentBody::Report(report)),
                })) = message
                else {
                    return;
                };
                let answer = {
                    let mut seen = seen.lock().unwrap();
                    seen.failing_http_checks += report
                        .checks
                        .iter()
                        .filter(|check| {
                            check.check == "http" && check.status() == CheckStatus::Fail
                        })
                        .count();
                    for check in &report.checks {
                        if parse_check_kind(&check.check) != Some(check.kind()) {
                            seen.unkinded.push(check.clone());
                        }
                        if check.kind() == CheckKind::Traffic {
                            seen.traffic.push(check.clone());
                        }
                    }
                    let last = seen.last.get(&run_id).copied().unwrap_or(0);
                    if report.sequence <= last {
                        seen.duplicates.push(report.sequence);
                        AggregatorBody::Reject(Reject {
                            sequence: report.sequence,
                            reason: RejectReason::Duplicate as i32,
                            detail: String::new(),
                        })
                    } else {
                        if report.sequence != last + 1 {
                            seen.gaps.push((last, report.sequence));
                        }
                        seen.last.insert(run_id.clone(), report.sequence);
                        seen.accepted.push(report.sequence);
                        seen.dropped.push(report.dropped_reports);
                        seen.reports.push(report.clone());
                        AggregatorBody::Ack(Ack {
                            sequence: report.sequence,
                        })
                    }
                };
                if replies.send(reply(answer)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(outgoing))))
    }
}

/// Serves `aggregator` on `address` (port 0 for any); the handle stops
/// accepting when aborted.
pub async fn serve(
    aggregator: TestAggregator,
    address: SocketAddr,
) -> (SocketAddr, JoinHandle<()>) {
    let socket = TcpSocket::new_v4().unwrap();
    // The restarted aggregator binds the same port again at once.
    socket.set_reuseaddr(true).unwrap();
    socket.bind(address).unwrap();
    let listener = socket.listen(64).unwrap();
    let address = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(AgentServiceServer::new(aggregator))
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await;
    });
    (address, handle)
}
