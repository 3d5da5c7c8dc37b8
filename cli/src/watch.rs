//! `greenlight watch`: every new verdict of a deployment as it is decided,
//! until Ctrl-C or until stdout's reader goes away. An aggregator that
//! restarts (or cannot be reached yet) is waited for, said once on stderr
//! when lost and once when regained.

use std::time::Duration;

use greenlight_proto::json::VerdictJson;
use greenlight_proto::v1::{Verdict, WatchVerdictsRequest};

use crate::client::connect;
use crate::exit::{Failure, UNREACHABLE};
use crate::link::{Change, Link};
use crate::output::{note, print, println};
use crate::render;
use crate::target::Target;

pub async fn watch(
    address: &Target,
    timeout: Duration,
    deployment: &str,
    json: bool,
) -> Result<(), Failure> {
    let mut link = Link::new();
    let mut last: Option<Verdict> = None;
    loop {
        let failure = follow(address, timeout, deployment, json, &mut link, &mut last).await;
        // Only an aggregator away is waited for; a refusal (credentials,
        // a bad name) or a closed stdout ends the watch.
        if failure.code != UNREACHABLE {
            return Err(failure);
        }
        let (change, delay) =
            link.failed(&failure, "reconnecting until it is back (Ctrl-C to stop)");
        if let Change::Lost(words) = change {
            note(&words);
        }
        tokio::time::sleep(delay).await;
    }
}

/// One stream, printed until it ends; what ended it.
async fn follow(
    address: &Target,
    timeout: Duration,
    deployment: &str,
    json: bool,
    link: &mut Link,
    last: &mut Option<Verdict>,
) -> Failure {
    let opened = async {
        let mut connection = connect(address, timeout).await?;
        let request = WatchVerdictsRequest {
            deployment: deployment.to_string(),
        };
        tokio::time::timeout(timeout, connection.verdicts.watch_verdicts(request))
            .await
            .map_err(|_| Failure::unreachable(address, "no answer in time"))?
            .map_err(|status| address.failure(&status))
    };
    let mut stream = match opened.await {
        Ok(stream) => stream.into_inner(),
        Err(failure) => return failure,
    };
    if link.connected() == Change::Regained {
        note(&format!(
            "regained the aggregator at {address}; watching {deployment} again"
        ));
    }
    loop {
        let verdict = match stream.message().await {
            Ok(Some(verdict)) => verdict,
            Ok(None) => return Failure::unreachable(address, "the aggregator closed the watch"),
            Err(status) => return address.failure(&status),
        };
        // A restarted aggregator starts with its current verdict: the
        // same one again is not news.
        if last.as_ref() == Some(&verdict) {
            continue;
        }
        let printed = if json {
            println(&serde_json::to_string(&VerdictJson::from(&verdict)).unwrap_or_default())
        } else {
            print(&render::full(&verdict))
        };
        if let Err(failure) = printed {
            return failure;
        }
        *last = Some(verdict);
    }
}
