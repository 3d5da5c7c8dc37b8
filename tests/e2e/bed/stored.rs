//! What the aggregator wrote to Redis, read back: the history stream and
//! JSON keys.

use greenlight_testbed::eventually;

use super::{DEPLOYMENT, SETTLE};

/// Every entry of the deployment's history stream, oldest first.
pub async fn history_all(redis_url: &str) -> Vec<redis::streams::StreamId> {
    history_all_of(redis_url, DEPLOYMENT).await
}

/// Every entry of `deployment`'s history stream, oldest first.
pub async fn history_all_of(redis_url: &str, deployment: &str) -> Vec<redis::streams::StreamId> {
    use redis::AsyncCommands;
    let client = redis::Client::open(redis_url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let reply: redis::streams::StreamRangeReply = connection
        .xrange_all(format!("greenlight:{{{deployment}}}:history"))
        .await
        .unwrap();
    reply.ids
}

/// Writes `count` entries of a kind no CLI knows (`note`) straight to the
/// deployment's history stream, as a later aggregator might.
pub async fn fill_history(redis_url: &str, count: usize) {
    use redis::AsyncCommands;
    let client = redis::Client::open(redis_url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let stream = format!("greenlight:{{{DEPLOYMENT}}}:history");
    for i in 0..count {
        let _: String = connection
            .xadd(&stream, "*", &[("kind", "note"), ("n", &i.to_string())])
            .await
            .unwrap();
    }
}

/// The deployment's history stream entries of one `kind` (verdict, action,
/// hook, alert), oldest first.
pub async fn history(redis_url: &str, kind: &str) -> Vec<redis::streams::StreamId> {
    history_all(redis_url)
        .await
        .into_iter()
        .filter(|entry| entry.get::<String>("kind").as_deref() == Some(kind))
        .collect()
}

/// The `field` of each history entry of `kind`.
pub async fn history_field(redis_url: &str, kind: &str, field: &str) -> Vec<String> {
    history(redis_url, kind)
        .await
        .iter()
        .filter_map(|entry| entry.get::<String>(field))
        .collect()
}

/// Polls the JSON at `key` (a fresh connection each time: Redis may be
/// restarting or failing over) until `condition` holds; returns it.
pub async fn json_key_where(
    client: &redis::Client,
    key: &str,
    what: &str,
    condition: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    use redis::AsyncCommands;
    eventually(what, SETTLE, || {
        let condition = &condition;
        async move {
            let mut connection = client
                .get_multiplexed_async_connection()
                .await
                .map_err(|error| error.to_string())?;
            let text: Option<String> = connection
                .get(key)
                .await
                .map_err(|error| error.to_string())?;
            let value: serde_json::Value = serde_json::from_str(&text.ok_or("no such key")?)
                .map_err(|error| error.to_string())?;
            if condition(&value) {
                Ok(value)
            } else {
                Err(format!("{key}: {value}"))
            }
        }
    })
    .await
}
