//! `greenlight wait`: follows the verdict stream until a condition holds or
//! the time is up, reconnecting when the aggregator restarts meanwhile.

use std::time::Duration;

use greenlight_proto::v1::{Decision, Phase, Verdict, WatchVerdictsRequest};
use tokio::time::Instant;

use crate::Until;
use crate::client::connect;
use crate::exit::{DOES_NOT_HOLD, Failure, UNREACHABLE};
use crate::render;
use crate::target::Target;

const RETRY: Duration = Duration::from_millis(500);

fn holds(until: Until, verdict: &Verdict) -> bool {
    match until {
        Until::Ready => verdict.decision() == Decision::Ready,
        Until::Verified => verdict.phase() == Phase::Verified,
        Until::RolledBack => {
            verdict.decision() == Decision::Rollback || verdict.phase() == Phase::RolledBack
        }
    }
}

pub async fn wait(
    address: &Target,
    rpc_timeout: Duration,
    deployment: &str,
    until: Until,
    limit: Duration,
    json: bool,
) -> Result<(), Failure> {
    let deadline = Instant::now() + limit;
    let mut last: Option<Verdict> = None;
    let mut last_failure: Option<Failure> = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        let attempt = follow(
            address,
            rpc_timeout.min(remaining),
            deployment,
            until,
            &mut last,
        );
        match tokio::time::timeout(remaining, attempt).await {
            Ok(Ok(verdict)) => {
                if json {
                    println!("{}", render::json(&verdict));
                } else {
                    print!("{}", render::full(&verdict));
                }
                return Ok(());
            }
            Ok(Err(failure)) => {
                if failure.code == UNREACHABLE && last_failure.is_none() {
                    eprintln!(
                        "greenlight: {}; retrying until the timeout",
                        failure.message
                    );
                }
                if failure.code != UNREACHABLE && failure.code != DOES_NOT_HOLD {
                    return Err(failure);
                }
                last_failure = Some(failure);
                tokio::time::sleep(RETRY.min(deadline.saturating_duration_since(Instant::now())))
                    .await;
            }
            Err(_) => break,
        }
    }
    match (last, last_failure) {
        (Some(verdict), _) => {
            if json {
                println!("{}", render::json(&verdict));
            } else {
                print!("{}", render::full(&verdict));
            }
            Err(Failure::new(
                DOES_NOT_HOLD,
                format!("timed out after {limit:?} waiting for {until:?}"),
            ))
        }
        (None, Some(failure)) if failure.code == UNREACHABLE => Err(failure),
        _ => Err(Failure::new(
            DOES_NOT_HOLD,
            format!(
                "timed out after {limit:?}: no verdict for {deployment:?} (no agent of it connected?)"
            ),
        )),
    }
}

/// Streams verdicts until one satisfies `until`; `last` keeps the latest
/// seen, to report on timeout.
async fn follow(
    address: &Target,
    rpc_timeout: Duration,
    deployment: &str,
    until: Until,
    last: &mut Option<Verdict>,
) -> Result<Verdict, Failure> {
    let mut connection = connect(address, rpc_timeout).await?;
    let request = WatchVerdictsRequest {
        deployment: deployment.to_string(),
    };
    let mut stream = connection
        .verdicts
        .watch_verdicts(request)
        .await
        .map_err(|status| address.failure(&status))?
        .into_inner();
    loop {
        match stream.message().await {
            Ok(Some(verdict)) => {
                eprintln!("greenlight: {}", render::headline(&verdict));
                if holds(until, &verdict) {
                    return Ok(verdict);
                }
                *last = Some(verdict);
            }
            Ok(None) => {
                return Err(Failure::unreachable(
                    address,
                    "the aggregator closed the stream",
                ));
            }
            Err(status) => return Err(address.failure(&status)),
        }
    }
}
