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

/// What a TLS failure means, from the words rustls uses for it. Some come
/// only with the first call (TLS 1.3 refuses a client certificate after
/// the client's side of the handshake is done), hence its use for statuses.
pub fn tls_hint(detail: &str) -> Option<&'static str> {
    if detail.contains("InvalidContentType") || detail.contains("corrupt message") {
        Some("the server did not answer in TLS: is it a plaintext aggregator (then use http://)?")
    } else if detail.contains("UnknownIssuer") || detail.contains("invalid peer certificate") {
        Some("the aggregator's certificate is not trusted: give the CA that signed it with --ca")
    } else if detail.contains("CertificateRequired") {
        Some("the aggregator wants a client certificate: give --cert and --key")
    } else if detail.contains("UnknownCA") || detail.contains("BadCertificate") {
        Some("the aggregator does not trust this client certificate (--cert)")
    } else if detail.contains("H2NotNegotiated") || detail.contains("HTTP/2 was not negotiated") {
        Some("the server speaks TLS but not gRPC (no HTTP/2)")
    } else {
        None
    }
}

/// Transport errors hide the useful part ("connection refused") in their sources.
pub fn source_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
            .map_err(|status| Failure::from_status(target, &status))?
            .into_inner(),
    )
}
