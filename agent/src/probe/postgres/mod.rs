//! The `postgres` check: one connection kept open, a `SELECT 1` round trip
//! per round. A failed connection is dropped and reopened on the next round,
//! so the check also notices a database that comes back.

use greenlight_proto::v1::{PostgresDetail, check_result::Detail};
use tokio::time::Instant;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};
use tracing::debug;

use super::{failed, passed};
use crate::config::{PostgresCheck, redacted};
use crate::error_text::describe;

pub(super) const CHECK: &str = "postgres";

/// Client connections in use and the server's limit, in one round trip.
/// `backend_type` leaves out the server's own background workers.
const CONNECTIONS_QUERY: &str = "SELECT count(*) FILTER (WHERE backend_type = 'client backend'), \
     current_setting('max_connections') FROM pg_stat_activity";

pub(crate) struct PostgresProbe {
    config: tokio_postgres::Config,
    /// For logs, without the password.
    target: String,
    connection: Option<OpenConnection>,
}

struct OpenConnection {
    client: Client,
    /// How long opening this connection took, reported with every round it
    /// serves: a slow connect is a symptom worth seeing.
    connect_seconds: f64,
}

impl PostgresProbe {
    /// No connect timeout of its own: the probe's timeout bounds connecting
    /// too, and says "timed out after ..." with the configured limit.
    pub(crate) fn new(check: &PostgresCheck) -> Self {
        let mut config = check.config.clone();
        if config.get_application_name().is_none() {
            config.application_name("greenlight-agent");
        }
        PostgresProbe {
            config,
            target: redacted(&check.url),
            connection: None,
        }
    }

    /// Drops the connection, e.g. after a probe timed out mid-query.
    pub(crate) fn forget_connection(&mut self) {
        self.connection = None;
    }

    pub(crate) async fn check(&mut self) -> greenlight_proto::v1::CheckResult {
        let started = Instant::now();
        let connection = match self.connection.take() {
            Some(connection) => connection,
            None => match self.connect().await {
                Ok(connection) => connection,
                Err(error) => return failed(CHECK, error, started.elapsed()),
            },
        };
        let round_trip_started = Instant::now();
        if let Err(error) = connection.client.simple_query("SELECT 1").await {
            // The connection is not kept: the next round opens a new one.
            return failed(CHECK, describe(&error), started.elapsed());
        }
        let round_trip = round_trip_started.elapsed();
        let (in_use, max) = connection_counts(&connection.client).await;
        let mut result = passed(CHECK, started.elapsed());
        result.observed_value = round_trip.as_secs_f64();
        result.observed_unit = "seconds".to_string();
        result.detail = Some(Detail::Postgres(PostgresDetail {
            connect_seconds: connection.connect_seconds,
            round_trip_seconds: round_trip.as_secs_f64(),
            connections_in_use: in_use,
            max_connections: max,
        }));
        self.connection = Some(connection);
        result
    }

    async fn connect(&self) -> Result<OpenConnection, String> {
        let started = Instant::now();
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|error| describe(&error))?;
        let target = self.target.clone();
        // Drives the socket; ends when the client is dropped or the server
        // goes away (the next query then fails and we reconnect).
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                debug!(%target, error = %describe(&error), "postgres connection ended");
            }
        });
        debug!(target = %self.target, "postgres connection opened");
        Ok(OpenConnection {
            client,
            connect_seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// Connections in use and `max_connections`; zeros when the server will not
/// say (a restricted role): these are extras, not what the check judges.
async fn connection_counts(client: &Client) -> (u32, u32) {
    let Ok(messages) = client.simple_query(CONNECTIONS_QUERY).await else {
        return (0, 0);
    };
    messages
        .iter()
        .find_map(|message| match message {
            SimpleQueryMessage::Row(row) => {
                let number = |index| {
                    row.get(index)
                        .and_then(|text: &str| text.parse().ok())
                        .unwrap_or(0)
                };
                Some((number(0), number(1)))
            }
            _ => None,
        })
        .unwrap_or((0, 0))
}

#[cfg(test)]
mod tests {
    use greenlight_proto::v1::CheckStatus;

    use std::time::Duration;

    use super::*;
    use crate::config::PostgresSettings;
    use crate::probe::closed_port;

    fn probe_for(port: u16) -> PostgresProbe {
        let mut settings = crate::config::test_settings();
        settings.checks.postgres = Some(PostgresSettings {
            url: format!("postgres://greenlight@127.0.0.1:{port}/app"),
        });
        let config = settings.validate().unwrap();
        PostgresProbe::new(config.checks.postgres.as_ref().unwrap())
    }

    #[tokio::test]
    async fn closed_port_fails_with_connection_refused() {
        let timeout = Duration::from_millis(500);
        let mut probe = crate::probe::Probe::Postgres(probe_for(closed_port().await));
        let started = std::time::Instant::now();
        let result = probe.observe(timeout).await.result;
        assert!(started.elapsed() < timeout + Duration::from_millis(200));
        assert_eq!(result.status(), CheckStatus::Fail);
        assert_eq!(result.check, "postgres");
        assert_eq!(result.error, "connection refused");
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        // Accepts connections and never answers the startup message.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let timeout = Duration::from_millis(300);
        let mut probe = crate::probe::Probe::Postgres(probe_for(port));
        let started = std::time::Instant::now();
        let result = probe.observe(timeout).await.result;
        assert!(started.elapsed() < timeout + Duration::from_millis(200));
        assert_eq!(result.status(), CheckStatus::Fail);
        assert!(result.error.contains("timed out"), "{}", result.error);
        holder.abort();
    }
}
