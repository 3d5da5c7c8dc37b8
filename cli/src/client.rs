//! Connecting to the aggregator with bounded waits: a CLI that hangs is
//! worse than one that says "unreachable" (exit 3).

use std::time::Duration;

use greenlight_proto::v1::verdict_service_client::VerdictServiceClient;
use greenlight_proto::v1::{GetVerdictRequest, Verdict};
use tonic::transport::{Channel, Endpoint};

use crate::exit::{Failure, USAGE};

pub struct Connection {
    pub verdicts: VerdictServiceClient<Channel>,
}

/// Connects within `timeout`; every later call is bounded by `timeout` too
/// (except streams, which the caller bounds).
pub async fn connect(address: &str, timeout: Duration) -> Result<Connection, Failure> {
    let endpoint = Endpoint::from_shared(address.to_string())
        .map_err(|error| {
            Failure::new(
                USAGE,
                format!(
                    "--aggregator {address:?} is not a URL like http://127.0.0.1:7070: {error}"
                ),
            )
        })?
        .connect_timeout(timeout)
        .tcp_nodelay(true);
    let channel = tokio::time::timeout(timeout, endpoint.connect())
        .await
        .map_err(|_| Failure::unreachable(address, format!("no answer within {timeout:?}")))?
        .map_err(|error| Failure::unreachable(address, source_chain(&error)))?;
    Ok(Connection {
        verdicts: VerdictServiceClient::new(channel),
    })
}

/// Transport errors hide the useful part ("connection refused") in their sources.
fn source_chain(error: &dyn std::error::Error) -> String {
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
    address: &str,
    timeout: Duration,
    deployment: &str,
) -> Result<Verdict, Failure> {
    let mut connection = connect(address, timeout).await?;
    let request = GetVerdictRequest {
        deployment: deployment.to_string(),
    };
    Ok(
        tokio::time::timeout(timeout, connection.verdicts.get_verdict(request))
            .await
            .map_err(|_| Failure::unreachable(address, "no answer in time"))?
            .map_err(|status| Failure::from_status(address, &status))?
            .into_inner(),
    )
}
