//! Serves every gRPC service on one listener until shutdown, over TLS
//! when `[tls]` is configured (see [`crate::tls`]).

use std::sync::Arc;
use std::time::Duration;

use greenlight_proto::v1::agent_service_server::AgentServiceServer;
use greenlight_proto::v1::verdict_service_server::VerdictServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;

use super::report_rate::RateSettings;
use super::{AgentStreamService, StreamLimit, VerdictApi};
use crate::auth::{Action, AuthPolicy, interceptor};
use crate::config::Limits;
use crate::health::HealthPublisher;
use crate::hub::Hub;
use crate::redis::HistoryReader;
use crate::tls::{ServerTls, incoming};

#[allow(clippy::too_many_arguments)]
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerTls>>,
    auth: Arc<AuthPolicy>,
    hub: Arc<Hub>,
    history: Option<Arc<HistoryReader>>,
    health: &HealthPublisher,
    limits: &Limits,
    tasks: TaskTracker,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(greenlight_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    // Reflection tells a client every method: a viewer's to read, in both
    // versions. Health stays open by default, for load balancers and
    // grpc_health_probe.
    let reflection_v1 = InterceptedService::new(
        reflection().build_v1()?,
        interceptor(auth.clone(), Some(Action::Read), "reflection"),
    );
    // v1alpha beside v1: stock Python grpcio-reflection and older
    // grpcurl speak only v1alpha.
    let reflection_v1alpha = InterceptedService::new(
        reflection().build_v1alpha()?,
        interceptor(auth.clone(), Some(Action::Read), "reflection"),
    );
    let health_service = InterceptedService::new(
        health.service(),
        interceptor(
            auth.clone(),
            (!auth.health_open()).then_some(Action::Read),
            "grpc.health.v1",
        ),
    );
    let agent_limit = StreamLimit::new(
        limits.max_agent_streams,
        "agent streams",
        "limits.max_agent_streams",
    );
    let watch_limit = StreamLimit::new(
        limits.max_watch_streams,
        "verdict watch streams",
        "limits.max_watch_streams",
    );
    let rate = RateSettings {
        per_second: limits.max_reports_per_second,
        burst: limits.report_burst,
    };
    // Reports are small; anything bigger is a broken or hostile client.
    let agents = AgentServiceServer::new(AgentStreamService::new(
        hub.clone(),
        auth.clone(),
        agent_limit,
        rate,
        tasks.clone(),
        shutdown.clone(),
    ))
    .max_decoding_message_size(limits.max_message_bytes);
    let verdicts = VerdictServiceServer::new(VerdictApi::new(
        hub,
        auth,
        history,
        watch_limit,
        tasks.clone(),
        shutdown.clone(),
    ))
    .max_decoding_message_size(limits.max_message_bytes);
    let router = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .concurrency_limit_per_connection(256)
        .http2_keepalive_interval(Some(Duration::from_secs(10)))
        .http2_keepalive_timeout(Some(Duration::from_secs(5)))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(agents)
        .add_service(verdicts);
    let stopped = shutdown.clone().cancelled_owned();
    match tls {
        Some(tls) => {
            let incoming = incoming(listener, tls, &tasks, shutdown);
            router
                .serve_with_incoming_shutdown(incoming, stopped)
                .await?
        }
        None => {
            // serve_with_incoming ignores the builder's tcp_nodelay: set
            // it here, or each small answer (GetVerdict) waits ~40 ms on
            // Nagle and the client's delayed ACK (greenlight-bench saw it).
            let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
            router
                .serve_with_incoming_shutdown(incoming, stopped)
                .await?
        }
    }
    Ok(())
}
