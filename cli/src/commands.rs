//! status and verdict: one call each, printed for people or as JSON.

use std::time::Duration;

use greenlight_proto::json::VerdictJson;
use greenlight_proto::v1::{Decision, ListDeploymentsRequest};

use crate::client::{connect, fetch_verdict};
use crate::exit::{DOES_NOT_HOLD, Failure};
use crate::output::{print, println};
use crate::render;
use crate::target::Target;

pub async fn status(address: &Target, timeout: Duration, json: bool) -> Result<(), Failure> {
    let mut connection = connect(address, timeout).await?;
    let verdicts = tokio::time::timeout(
        timeout,
        connection
            .verdicts
            .list_deployments(ListDeploymentsRequest {}),
    )
    .await
    .map_err(|_| Failure::unreachable(address, "no answer in time"))?
    .map_err(|status| address.failure(&status))?
    .into_inner()
    .verdicts;
    if json {
        let docs: Vec<VerdictJson> = verdicts.iter().map(VerdictJson::from).collect();
        println(&serde_json::to_string_pretty(&docs).unwrap_or_else(|_| "[]".into()))?;
    } else if verdicts.is_empty() {
        println(&format!(
            "no deployments yet: no agent has connected to {address}"
        ))?;
    } else {
        for verdict in &verdicts {
            println(&render::headline(verdict))?;
        }
    }
    Ok(())
}

/// Exit 0 when READY: `greenlight verdict escashop && switch` is a gate.
pub async fn verdict(
    address: &Target,
    timeout: Duration,
    deployment: &str,
    json: bool,
) -> Result<(), Failure> {
    let verdict = fetch_verdict(address, timeout, deployment).await?;
    if json {
        println(&render::json(&verdict))?;
    } else {
        print(&render::full(&verdict))?;
    }
    if verdict.decision() == Decision::Ready {
        Ok(())
    } else {
        Err(Failure::new(DOES_NOT_HOLD, ""))
    }
}
