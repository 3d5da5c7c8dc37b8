//! Reading the engine's saved states back at start-up. An aggregator that
//! cannot read its state must not decide from scratch (it could repeat a
//! cutover), so start-up waits for Redis and refuses a state it cannot read.

use std::collections::{BTreeMap, BTreeSet};

use greenlight_retry::RetryPolicy;
use redis::AsyncCommands;
use tokio_util::sync::CancellationToken;

use super::{RedisTarget, StateKey, deployment_of_state_key};
use crate::config::RedisSettings;
use crate::engine::SavedState;

/// Every saved state, by deployment. Retries until Redis answers (logging
/// once) or shutdown; a state that does not parse is an error naming its key.
/// With `only`, the states of other deployments are not read at all.
pub async fn load_states(
    settings: &RedisSettings,
    only: Option<&BTreeSet<String>>,
    shutdown: &CancellationToken,
) -> anyhow::Result<BTreeMap<String, SavedState>> {
    let target = RedisTarget::new(settings);
    let mut warned = false;
    let mut backoff = RetryPolicy::RECONNECT.backoff();
    loop {
        match read_all(&target, only).await {
            Ok(texts) => {
                let mut states = BTreeMap::new();
                // Tagged keys first: an untagged one (left by a version
                // before the hash tag) counts only where no tagged one is.
                let mut texts = texts;
                texts.sort_by_key(|(key, _)| {
                    !matches!(deployment_of_state_key(key), Some(StateKey::Tagged(_)))
                });
                for (key, text) in texts {
                    let Some(name) = deployment_of_state_key(&key).map(StateKey::deployment) else {
                        continue;
                    };
                    if states.contains_key(name) {
                        continue;
                    }
                    let state: SavedState = serde_json::from_str(&text).map_err(|error| {
                        anyhow::anyhow!(
                            "cannot read the saved state {key:?}: {error}; fix or delete the key to start that deployment afresh"
                        )
                    })?;
                    states.insert(name.to_string(), state);
                }
                tracing::info!(
                    deployments = states.len(),
                    "engine state restored from Redis"
                );
                return Ok(states);
            }
            Err(error) => {
                if !warned {
                    let error = super::describe(&error);
                    tracing::warn!(url = %settings.shown_url(), %error, "cannot read the saved state from Redis; waiting for it before deciding anything");
                    warned = true;
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => anyhow::bail!("shut down while waiting for Redis"),
            _ = backoff.sleep() => {}
        }
    }
}

/// Every saved state's key and text; on a Redis Cluster, from every
/// primary.
async fn read_all(
    target: &RedisTarget,
    only: Option<&BTreeSet<String>>,
) -> redis::RedisResult<Vec<(String, String)>> {
    let mut connection = target.connect().await?;
    let keys = connection
        .keys_matching("greenlight:*:state")
        .await?
        .into_iter()
        .filter(
            |key| match (only, deployment_of_state_key(key).map(StateKey::deployment)) {
                (None, _) => true,
                (Some(only), Some(name)) => only.contains(name),
                (Some(_), None) => false,
            },
        );
    let mut states = Vec::new();
    for key in keys {
        let text: Option<String> = connection.get(&key).await?;
        if let Some(text) = text {
            states.push((key, text));
        }
    }
    Ok(states)
}
