//! Reading a deployment's history stream back, a page at a time, newest
//! first, for `GetHistory` (the CLI's `greenlight history`). The range and
//! the page are worked out by pure functions; the reader only asks Redis.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::{GetHistoryResponse, HistoryEntry};
use redis::streams::StreamRangeReply;
use tokio::sync::Mutex;

use super::{RedisConnection, RedisTarget, history_stream};
use crate::config::RedisSettings;

/// A page when the caller asks for none (0).
pub const DEFAULT_PAGE: usize = 100;
/// The most one call returns.
pub const MAX_PAGE: usize = 1000;
/// How long one read may take before the caller hears UNAVAILABLE: under
/// the CLI's default `--rpc-timeout` (5s), so that it hears why.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// What one page asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct PageQuery {
    /// Only entries older than this id; `None`: from the newest.
    pub before: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<SystemTime>,
    /// Asked page size (0: the default).
    pub limit: u32,
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("`before` must be a history entry id like 1733150000000-0, not {0:?}")]
    BadCursor(String),
    #[error("Redis did not answer within {}s", READ_TIMEOUT.as_secs())]
    Timeout,
    #[error("cannot read the history from Redis: {0}")]
    Redis(String),
}

/// XREVRANGE's end, start and count for a page.
fn range(query: &PageQuery) -> Result<(String, String, usize), HistoryError> {
    let end = match &query.before {
        None => "+".to_string(),
        Some(id) if valid_id(id) => format!("({id}"),
        Some(id) => return Err(HistoryError::BadCursor(id.clone())),
    };
    let start = match query.since {
        None => "-".to_string(),
        Some(since) => {
            let ms = since
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            format!("{ms}-0")
        }
    };
    let count = match query.limit as usize {
        0 => DEFAULT_PAGE,
        asked => asked.min(MAX_PAGE),
    };
    Ok((end, start, count))
}

/// `<ms>-<seq>`, both decimal.
fn valid_id(id: &str) -> bool {
    id.split_once('-').is_some_and(|(ms, seq)| {
        !ms.is_empty()
            && !seq.is_empty()
            && ms.bytes().all(|b| b.is_ascii_digit())
            && seq.bytes().all(|b| b.is_ascii_digit())
    })
}

/// When an entry was written: its id's milliseconds.
fn written_at(id: &str) -> Option<SystemTime> {
    let ms: u64 = id.split_once('-')?.0.parse().ok()?;
    UNIX_EPOCH.checked_add(Duration::from_millis(ms))
}

/// The page from what XREVRANGE answered: a full page may have more after it.
fn page(entries: Vec<(String, BTreeMap<String, String>)>, count: usize) -> GetHistoryResponse {
    let next_before = match entries.last() {
        Some((id, _)) if entries.len() == count => id.clone(),
        _ => String::new(),
    };
    let entries = entries
        .into_iter()
        .map(|(id, fields)| HistoryEntry {
            at: written_at(&id).map(to_timestamp),
            kind: fields.get("kind").cloned().unwrap_or_default(),
            id,
            fields: fields.into_iter().collect(),
        })
        .collect();
    GetHistoryResponse {
        entries,
        next_before,
    }
}

/// Reads history pages; connects on first use and again after a failure.
pub struct HistoryReader {
    target: RedisTarget,
    connection: Mutex<Option<RedisConnection>>,
}

impl HistoryReader {
    pub fn new(settings: &RedisSettings) -> Self {
        HistoryReader {
            target: RedisTarget::new(settings),
            connection: Mutex::new(None),
        }
    }

    pub async fn page(
        &self,
        deployment: &str,
        query: &PageQuery,
    ) -> Result<GetHistoryResponse, HistoryError> {
        let (end, start, count) = range(query)?;
        let read = async {
            let mut connection = self.connection().await?;
            let reply: StreamRangeReply = redis::cmd("XREVRANGE")
                .arg(history_stream(deployment))
                .arg(&end)
                .arg(&start)
                .arg("COUNT")
                .arg(count)
                .query_async(&mut connection)
                .await?;
            Ok::<_, redis::RedisError>(reply)
        };
        let reply = match tokio::time::timeout(READ_TIMEOUT, read).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(error)) => {
                *self.connection.lock().await = None;
                return Err(HistoryError::Redis(super::describe(&error)));
            }
            Err(_) => {
                *self.connection.lock().await = None;
                return Err(HistoryError::Timeout);
            }
        };
        let entries = reply
            .ids
            .into_iter()
            .map(|entry| {
                let fields = entry
                    .map
                    .iter()
                    .filter_map(|(key, value)| {
                        let text: String = redis::from_redis_value(value.clone()).ok()?;
                        Some((key.clone(), text))
                    })
                    .collect();
                (entry.id, fields)
            })
            .collect();
        Ok(page(entries, count))
    }

    async fn connection(&self) -> Result<RedisConnection, redis::RedisError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let connection = self.target.connect().await?;
        *slot = Some(connection.clone());
        Ok(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(before: Option<&str>, since_ms: Option<u64>, limit: u32) -> PageQuery {
        PageQuery {
            before: before.map(str::to_string),
            since: since_ms.map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
            limit,
        }
    }

    #[test]
    fn the_first_page_runs_from_the_newest_to_the_oldest_kept() {
        let (end, start, count) = range(&query(None, None, 0)).unwrap();
        assert_eq!((end.as_str(), start.as_str(), count), ("+", "-", 100));
    }

    #[test]
    fn later_pages_exclude_the_cursor_and_since_bounds_the_start() {
        let (end, start, count) = range(&query(
            Some("1733150000000-3"),
            Some(1_733_000_000_000),
            5000,
        ))
        .unwrap();
        assert_eq!(end, "(1733150000000-3");
        assert_eq!(start, "1733000000000-0");
        assert_eq!(count, MAX_PAGE);
    }

    #[test]
    fn a_cursor_that_is_not_an_id_is_refused_not_passed_to_redis() {
        for bad in ["", "abc", "12-", "-3", "1-2-3", "+", "(1-0"] {
            assert!(
                matches!(
                    range(&query(Some(bad), None, 1)),
                    Err(HistoryError::BadCursor(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_full_page_points_at_the_next_and_a_short_one_ends() {
        let entry = |id: &str, kind: &str| {
            (
                id.to_string(),
                BTreeMap::from([("kind".to_string(), kind.to_string())]),
            )
        };
        let full = page(vec![entry("9-0", "verdict"), entry("5-1", "hook")], 2);
        assert_eq!(full.next_before, "5-1");
        assert_eq!(full.entries[1].kind, "hook");
        assert_eq!(
            full.entries[0].at.as_ref().map(|t| (t.seconds, t.nanos)),
            Some((0, 9_000_000))
        );
        let short = page(vec![entry("9-0", "verdict")], 2);
        assert_eq!(short.next_before, "");
    }
}
