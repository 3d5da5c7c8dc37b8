//! `greenlight wait`: follows the verdict stream until a condition holds or
//! the time is up, reconnecting (greenlight-retry's RECONNECT policy) when
//! the aggregator restarts meanwhile. Progress goes to stderr
//! (`progress`); stdout gets the final verdict only.

use std::time::Duration;

use greenlight_proto::v1::{Decision, Phase, Verdict, WatchVerdictsRequest};
use tokio::time::Instant;

use crate::args::Until;
use crate::client::connect;
use crate::exit::{DOES_NOT_HOLD, Failure, UNREACHABLE};
use crate::link::{Change, Link};
use crate::output::{print, println};
use crate::progress::{Progress, TICK};
use crate::render;
use crate::target::Target;

fn holds(until: Until, verdict: &Verdict) -> bool {
    match until {
        Until::Ready => verdict.decision() == Decision::Ready,
        Until::Baking => matches!(verdict.phase(), Phase::Baking | Phase::Verified),
        Until::Verified => verdict.phase() == Phase::Verified,
        Until::RolledBack => {
            verdict.decision() == Decision::Rollback || verdict.phase() == Phase::RolledBack
        }
    }
}

/// What `wait` follows, across reconnects.
struct Waiting<'a> {
    address: &'a Target,
    deployment: &'a str,
    until: Until,
    deadline: Instant,
    progress: Progress,
    link: Link,
    /// The latest verdict seen, to report on timeout.
    last: Option<Verdict>,
}

pub async fn wait(
    address: &Target,
    rpc_timeout: Duration,
    deployment: &str,
    until: Until,
    limit: Duration,
    json: bool,
) -> Result<(), Failure> {
    let mut waiting = Waiting {
        address,
        deployment,
        until,
        deadline: Instant::now() + limit,
        progress: Progress::new(until),
        link: Link::new(),
        last: None,
    };
    let mut last_failure: Option<Failure> = None;
    loop {
        let remaining = waiting.remaining();
        if remaining.is_zero() {
            break;
        }
        let attempt = waiting.follow(rpc_timeout.min(remaining));
        match tokio::time::timeout(remaining, attempt).await {
            Ok(Ok(verdict)) => {
                waiting.progress.finish();
                return show(&verdict, json);
            }
            Ok(Err(failure)) => {
                if failure.code != UNREACHABLE && failure.code != DOES_NOT_HOLD {
                    waiting.progress.finish();
                    return Err(failure);
                }
                let (change, delay) = waiting.link.failed(&failure, "retrying until the timeout");
                if let Change::Lost(words) = change {
                    waiting.progress.note(&words);
                }
                last_failure = Some(failure);
                tokio::time::sleep(delay.min(waiting.remaining())).await;
            }
            Err(_) => break,
        }
    }
    waiting.progress.finish();
    match (waiting.last, last_failure) {
        (Some(verdict), _) => {
            show(&verdict, json)?;
            Err(Failure::new(
                DOES_NOT_HOLD,
                format!(
                    "timed out after {} waiting for {until:?}",
                    humantime::format_duration(limit)
                ),
            )
            .kind("timed_out"))
        }
        (None, Some(failure)) if failure.code == UNREACHABLE => Err(failure),
        _ => Err(Failure::new(
            DOES_NOT_HOLD,
            format!(
                "timed out after {}: no verdict for {deployment:?} (no agent of it connected?)",
                humantime::format_duration(limit)
            ),
        )
        .kind("timed_out")),
    }
}

fn show(verdict: &Verdict, json: bool) -> Result<(), Failure> {
    if json {
        println(&render::json(verdict))
    } else {
        print(&render::full(verdict))
    }
}

impl Waiting<'_> {
    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Streams verdicts until one satisfies `until`, showing progress.
    async fn follow(&mut self, rpc_timeout: Duration) -> Result<Verdict, Failure> {
        let address = self.address;
        let mut connection = connect(address, rpc_timeout).await?;
        let request = WatchVerdictsRequest {
            deployment: self.deployment.to_string(),
        };
        let mut stream =
            tokio::time::timeout(rpc_timeout, connection.verdicts.watch_verdicts(request))
                .await
                .map_err(|_| Failure::unreachable(address, "no answer in time"))?
                .map_err(|status| address.failure(&status))?
                .into_inner();
        if self.link.connected() == Change::Regained {
            self.progress.note(&format!(
                "regained the aggregator at {address}; still waiting for {:?}",
                self.until
            ));
        }
        let mut ticks = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                message = stream.message() => match message {
                    Ok(Some(verdict)) => {
                        self.progress.verdict(&verdict, self.remaining());
                        if holds(self.until, &verdict) {
                            return Ok(verdict);
                        }
                        self.last = Some(verdict);
                    }
                    Ok(None) => {
                        return Err(Failure::unreachable(
                            address,
                            "the aggregator closed the stream",
                        ));
                    }
                    Err(status) => return Err(address.failure(&status)),
                },
                _ = ticks.tick() => self.progress.tick(self.remaining()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_phase(phase: Phase, decision: Decision) -> Verdict {
        let mut verdict = Verdict::default();
        verdict.set_phase(phase);
        verdict.set_decision(decision);
        verdict
    }

    #[test]
    fn baking_holds_from_the_confirmed_cutover_on_not_while_switching() {
        // READY with the switch not yet confirmed is still phase Ready.
        let switching = in_phase(Phase::Ready, Decision::Ready);
        assert!(!holds(Until::Baking, &switching));
        assert!(holds(Until::Ready, &switching));
        assert!(holds(
            Until::Baking,
            &in_phase(Phase::Baking, Decision::Ready)
        ));
        assert!(holds(
            Until::Baking,
            &in_phase(Phase::Verified, Decision::Ready)
        ));
        assert!(!holds(
            Until::Baking,
            &in_phase(Phase::RolledBack, Decision::Rollback)
        ));
    }
}
