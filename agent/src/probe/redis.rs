//! The `redis` check: a `PING` round trip per round on one multiplexed
//! connection, reopened on the next round after any failure; `INFO` adds
//! `used_memory` (the guide's `memory_usage`), connected clients and role.
//! AUTH (`redis://[user]:password@`) and TLS (`rediss://`) are the redis
//! crate's, from the URL.

use greenlight_proto::v1::{CheckKind, CheckResult, RedisDetail, check_result::Detail};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, InfoDict, RedisError};
use tokio::time::Instant;
use tracing::debug;

use super::{Extras, failed, passed};
use crate::config::{RedisCheck, redacted};
use crate::error_text::describe;

pub(super) const CHECK: CheckKind = CheckKind::Redis;

pub(crate) struct RedisProbe {
    client: redis::Client,
    /// For logs, without the password.
    target: String,
    connection: Option<MultiplexedConnection>,
    /// When to ask INFO again: its reply (kilobytes) was the agent's
    /// costliest step after the handshake-heavy checks.
    info: Extras,
    last_info: (u64, u32, String),
}

impl RedisProbe {
    pub(crate) fn new(check: &RedisCheck) -> Self {
        RedisProbe {
            client: check.client.clone(),
            target: redacted(&check.url),
            connection: None,
            info: Extras::new(),
            last_info: (0, 0, String::new()),
        }
    }

    /// Drops the connection, e.g. after a probe timed out mid-command.
    pub(crate) fn forget_connection(&mut self) {
        self.connection = None;
    }

    pub(crate) async fn check(&mut self) -> CheckResult {
        let started = Instant::now();
        let mut connection = match self.connection.take() {
            Some(connection) => connection,
            None => {
                // No timeouts of its own: the probe's timeout bounds both, and
                // says "timed out after ..." with the configured limit.
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(None)
                    .set_response_timeout(None);
                match self
                    .client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                {
                    Ok(connection) => {
                        debug!(target = %self.target, "redis connection opened");
                        connection
                    }
                    Err(error) => return failed(CHECK, words(&error), started.elapsed()),
                }
            }
        };
        let round_trip_started = Instant::now();
        let pong: Result<String, RedisError> =
            redis::cmd("PING").query_async(&mut connection).await;
        let round_trip = round_trip_started.elapsed();
        match pong {
            Ok(reply) if reply == "PONG" => {}
            Ok(reply) => {
                return failed(
                    CHECK,
                    format!("PING answered {reply:?} instead of PONG"),
                    started.elapsed(),
                );
            }
            Err(error) => return failed(CHECK, words(&error), started.elapsed()),
        }
        let mut detail = RedisDetail {
            round_trip_seconds: round_trip.as_secs_f64(),
            ..RedisDetail::default()
        };
        // Extras for the aggregator's shared-dependency view; a server that
        // refuses INFO (ACLs) still passes the check.
        if self.info.due() {
            let info: Result<InfoDict, RedisError> =
                redis::cmd("INFO").query_async(&mut connection).await;
            if let Ok(info) = info {
                self.last_info = (
                    info.get("used_memory").unwrap_or(0),
                    info.get("connected_clients").unwrap_or(0),
                    info.get("role").unwrap_or_default(),
                );
            }
        }
        detail.used_memory_bytes = self.last_info.0;
        detail.connected_clients = self.last_info.1;
        detail.role = self.last_info.2.clone();
        let mut result = passed(CHECK, started.elapsed());
        result.observed_value = round_trip.as_secs_f64();
        result.observed_unit = "seconds".to_string();
        result.detail = Some(Detail::Redis(detail));
        self.connection = Some(connection);
        result
    }
}

fn words(error: &RedisError) -> String {
    if error.is_connection_refusal() {
        "connection refused".to_string()
    } else {
        describe(error)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use greenlight_proto::v1::CheckStatus;

    use super::*;
    use crate::config::RedisSettings;
    use crate::probe::{Probe, closed_port};

    fn probe_for(port: u16) -> Probe {
        let mut settings = crate::config::test_settings();
        settings.checks.redis = Some(RedisSettings {
            url: format!("redis://127.0.0.1:{port}"),
            ..Default::default()
        });
        let check = crate::probe::check_config(settings, "redis");
        let crate::config::CheckTarget::Redis(target) = &check.target else {
            unreachable!()
        };
        Probe::Redis(RedisProbe::new(target))
    }

    #[tokio::test]
    async fn closed_port_fails_with_connection_refused() {
        let timeout = Duration::from_millis(500);
        let mut probe = probe_for(closed_port().await);
        let started = std::time::Instant::now();
        let result = probe.observe(timeout).await.result().clone();
        assert!(started.elapsed() < timeout + Duration::from_millis(200));
        assert_eq!(result.status(), CheckStatus::Fail);
        assert_eq!(result.check, "redis");
        assert_eq!(result.error, "connection refused");
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let timeout = Duration::from_millis(300);
        let mut probe = probe_for(port);
        let result = probe.observe(timeout).await.result().clone();
        assert_eq!(result.status(), CheckStatus::Fail);
        assert_eq!(result.error, "timed out after 300ms");
        holder.abort();
    }
}
