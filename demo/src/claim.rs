//! The demo on a Redis it does not own. It writes only under its own
//! deployment name, and only when the keys under that name are its own:
//! a mark key says a demo made them. Keys that exist without the mark
//! belong to someone else, and the demo refuses to start rather than
//! restore their state or write over them.

use std::time::Duration;

use anyhow::Context;
use greenlight_aggregator::config::RedisSettings;
use greenlight_aggregator::redis::{RedisTarget, describe, history_stream, state_key, verdict_key};
use redis::AsyncCommands;

/// What the mark key holds.
const MARK: &str = "made by greenlight-demo; delete with the deployment's other keys";

/// `greenlight:{<deployment>}:demo`: outside the keys an aggregator reads.
pub fn mark_key(deployment: &str) -> String {
    format!("greenlight:{{{deployment}}}:demo")
}

/// The keys a demo run writes under `deployment`, the mark last.
fn keys(deployment: &str) -> [String; 4] {
    [
        verdict_key(deployment),
        state_key(deployment),
        history_stream(deployment),
        mark_key(deployment),
    ]
}

/// The name is taken by something the demo did not make.
#[derive(Debug, thiserror::Error)]
#[error(
    "Redis at {url} already holds {found} for deployment {deployment:?}, which no greenlight-demo made; \
     the demo leaves them alone. Pass --deployment NAME to run the demo under another name"
)]
pub struct NotOurs {
    url: String,
    deployment: String,
    found: String,
}

/// Makes `deployment` the demo's on this Redis: clears what an earlier
/// demo run left under it (so the story starts from scratch) and marks it.
/// Fails with [`NotOurs`] when keys under the name are someone else's.
pub async fn claim(settings: &RedisSettings, deployment: &str) -> anyhow::Result<()> {
    let url = settings.shown_url();
    let mut connection =
        tokio::time::timeout(Duration::from_secs(5), RedisTarget::new(settings).connect())
            .await
            .map_err(|_| anyhow::anyhow!("Redis at {url} did not answer within 5 s"))?
            .map_err(|error| {
                anyhow::anyhow!("cannot reach Redis at {url}: {}", describe(&error))
            })?;

    let mark: Option<String> = connection
        .get(mark_key(deployment))
        .await
        .with_context(|| format!("reading {} on {url}", mark_key(deployment)))?;
    let [verdict, state, history, mark_name] = keys(deployment);
    if mark.as_deref() != Some(MARK) {
        let mut found = Vec::new();
        for key in [&verdict, &state, &history] {
            let exists: bool = connection.exists(key).await?;
            if exists {
                found.push(key.clone());
            }
        }
        if !found.is_empty() {
            return Err(NotOurs {
                url,
                deployment: deployment.to_string(),
                found: found.join(", "),
            }
            .into());
        }
    }
    let () = redis::pipe()
        .atomic()
        .del(&[&verdict, &state, &history])
        .ignore()
        .set(&mark_name, MARK)
        .ignore()
        .query_async(&mut connection)
        .await
        .with_context(|| format!("claiming deployment {deployment:?} on {url}"))?;
    Ok(())
}
