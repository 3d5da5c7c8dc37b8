//! Connecting to the aggregator with bounded waits: a CLI that hangs is
//! worse than one that says "unreachable" (exit 3). A TLS handshake that
//! fails because of how either side is set up (a plaintext server, an
//! untrusted certificate) is a configuration error (exit 2), said in words.

use std::time::Duration;

use greenlight_proto::v1::verdict_service_client::VerdictServiceClient;
use greenlight_proto::v1::{GetVerdictRequest, Verdict};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::exit::{Failure, USAGE};
use crate::target::{Credentials, Target};
use crate::transport_error::{source_chain, tls_hint};

pub struct Connection {
    pub verdicts: VerdictServiceClient<InterceptedService<Channel, Credentials>>,
}

/// Connects within `timeout`; every later call is bounded by `timeout` too
/// (except streams, which the caller bounds).
pub async fn connect(target: &Target, timeout: Duration) -> Result<Connection, Failure> {
    let endpoint = target
        .endpoint()?
        .connect_timeout(timeout)
        .tcp_nodelay(true);
    let channel = tokio::time::timeout(timeout, endpoint.connect())
        .await
        .map_err(|_| Failure::unreachable(target, format!("no answer within {timeout:?}")))?
        .map_err(|error| refused(target, &source_chain(&error)))?;
    Ok(Connection {
        verdicts: VerdictServiceClient::with_interceptor(channel, target.credentials()),
    })
}

/// A failed connection: unreachable, or TLS set up wrong on one side.
fn refused(target: &Target, detail: &str) -> Failure {
    match tls_hint(detail).filter(|_| target.is_tls()) {
        Some(hint) => Failure::new(
            USAGE,
            format!("TLS with the aggregator at {target} failed: {hint} ({detail})"),
        ),
        None => Failure::unreachable(target, detail),
    }
}

/// The current verdict of one deployment, within `timeout`.
pub async fn fetch_verdict(
    target: &Target,
    timeout: Duration,
    deployment: &str,
) -> Result<Verdict, Failure> {
    let mut connection = connect(target, timeout).await?;
    let request = GetVerdictRequest {
        deployment: deployment.to_string(),
    };
    Ok(
        tokio::time::timeout(timeout, connection.verdicts.get_verdict(request))
            .await
            .map_err(|_| Failure::unreachable(target, "no answer in time"))?
            .map_err(|status| target.failure(&status))?
            .into_inner(),
    )
}
