//! The `postgres` check: one connection kept open, a `SELECT 1` round trip
//! per round, and the server's connections in use against
//! `max_connections` (the guide's `connection_pool 8/20`). A failed
//! connection is dropped and reopened on the next round, so the check also
//! notices a database that comes back. TLS follows `sslmode` (see `tls`).
//! With `[checks.postgres.schema]`, the same connection also checks the
//! schema this color needs: the component `postgres/schema` (see `schema`).

mod schema;
mod tls;

use greenlight_proto::v1::{CheckKind, PostgresDetail, check_result::Detail};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_postgres::{Client, Connection, NoTls, SimpleQueryMessage};
use tokio_postgres_rustls::MakeRustlsConnect;
use tracing::debug;

use self::schema::SchemaCheck;
use super::{Extras, Observation, failed, passed};
use crate::config::{PostgresCheck, redacted};
use crate::error_text::describe;

pub(super) const CHECK: CheckKind = CheckKind::Postgres;

/// Client connections in use and the server's limit, in one round trip.
/// `backend_type` leaves out the server's own background workers.
const CONNECTIONS_QUERY: &str = "SELECT count(*) FILTER (WHERE backend_type = 'client backend'), \
     current_setting('max_connections') FROM pg_stat_activity";

pub(crate) struct PostgresProbe {
    config: tokio_postgres::Config,
    /// `None` for `sslmode=disable`; made once, shared by every connect.
    tls: Option<MakeRustlsConnect>,
    /// For logs, without the password.
    target: String,
    connection: Option<OpenConnection>,
    /// When to count connections again: a second query (pg_stat_activity)
    /// every round doubled the check's cost.
    counts: Extras,
    last_counts: (u32, u32),
    /// What this color needs from the schema, when it says. Boxed: it
    /// keeps its last result, which would make every probe as large.
    schema: Option<Box<SchemaCheck>>,
}

struct OpenConnection {
    client: Client,
    /// How long opening this connection took, reported with every round it
    /// serves: a slow connect is a symptom worth seeing.
    connect_seconds: f64,
    /// The task driving the socket. Aborted with the connection: against a
    /// hung server it would otherwise wait forever for its last reply.
    driver: JoinHandle<()>,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.driver.abort();
    }
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
            tls: tls::connector(&config),
            config,
            target: redacted(&check.url),
            connection: None,
            counts: Extras::new(),
            last_counts: (0, 0),
            schema: check
                .schema
                .clone()
                .map(|needs| Box::new(SchemaCheck::new(needs))),
        }
    }

    /// Drops the connection, e.g. after a probe timed out mid-query.
    pub(crate) fn forget_connection(&mut self) {
        self.connection = None;
    }

    /// The check's result; then, when a schema is declared and the
    /// database answered, the `schema` component's. With no connection the
    /// schema is not known, so no component result is sent (absent is
    /// unknown, never passing).
    pub(crate) async fn check(&mut self) -> Observation {
        let started = Instant::now();
        let connection = match self.connection.take() {
            Some(connection) => connection,
            None => match self.connect().await {
                Ok(connection) => connection,
                Err(error) => return failed(CHECK, error, started.elapsed()).into(),
            },
        };
        let round_trip_started = Instant::now();
        if let Err(error) = connection.client.simple_query("SELECT 1").await {
            // The connection is not kept: the next round opens a new one.
            return failed(CHECK, describe(&error), started.elapsed()).into();
        }
        let round_trip = round_trip_started.elapsed();
        if self.counts.due() {
            self.last_counts = connection_counts(&connection.client).await;
        }
        let (in_use, max) = self.last_counts;
        let mut result = passed(CHECK, started.elapsed());
        result.observed_value = round_trip.as_secs_f64();
        result.observed_unit = "seconds".to_string();
        result.detail = Some(Detail::Postgres(PostgresDetail {
            connect_seconds: connection.connect_seconds,
            round_trip_seconds: round_trip.as_secs_f64(),
            connections_in_use: in_use,
            max_connections: max,
        }));
        let mut results = vec![result];
        if let Some(schema) = &mut self.schema {
            results.push(schema.check(&connection.client).await);
        }
        self.connection = Some(connection);
        Observation {
            results,
            counters: None,
        }
    }

    async fn connect(&self) -> Result<OpenConnection, String> {
        let started = Instant::now();
        let (client, driver) = match &self.tls {
            None => {
                let (client, connection) = self
                    .config
                    .connect(NoTls)
                    .await
                    .map_err(|error| describe(&error))?;
                (client, drive(connection, self.target.clone()))
            }
            Some(tls) => {
                let (client, connection) = self
                    .config
                    .connect(tls.clone())
                    .await
                    .map_err(|error| describe(&error))?;
                (client, drive(connection, self.target.clone()))
            }
        };
        debug!(target = %self.target, "postgres connection opened");
        Ok(OpenConnection {
            client,
            connect_seconds: started.elapsed().as_secs_f64(),
            driver,
        })
    }
}

/// Drives the socket; ends when the client is dropped or the server goes
/// away (the next query then fails and the probe reconnects).
fn drive<S, T>(connection: Connection<S, T>, target: String) -> JoinHandle<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            debug!(%target, error = %describe(&error), "postgres connection ended");
        }
    })
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
        probe_with_url(&format!("postgres://greenlight@127.0.0.1:{port}/app"))
    }

    fn probe_with_url(url: &str) -> PostgresProbe {
        let mut settings = crate::config::test_settings();
        settings.checks.postgres = Some(PostgresSettings {
            url: url.to_string(),
            ..Default::default()
        });
        let check = crate::probe::check_config(settings, "postgres");
        let crate::config::CheckTarget::Postgres(target) = &check.target else {
            unreachable!()
        };
        PostgresProbe::new(target)
    }

    /// A server that answers PostgreSQL's SSLRequest with "N" (no TLS),
    /// as one without `ssl = on` does.
    async fn server_without_tls() -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0; 8];
                if socket.read_exact(&mut request).await.is_ok() {
                    let _ = socket.write_all(b"N").await;
                }
            }
        });
        port
    }

    /// A server that accepts TLS with a certificate no CA vouches for and
    /// sends back the first bytes it reads inside the TLS session.
    async fn server_with_self_signed_tls() -> (u16, tokio::sync::oneshot::Receiver<Vec<u8>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        // The server speaks PostgreSQL's SSLRequest first, so it takes the
        // bare acceptor; the probe trusts no CA here (sslmode=require).
        let (acceptor, _) = crate::probe::web_tls::testing::self_signed();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0; 8];
            socket.read_exact(&mut request).await.unwrap();
            socket.write_all(b"S").await.unwrap();
            let mut tls = acceptor.accept(socket).await.unwrap();
            let mut startup = vec![0; 256];
            let read = tls.read(&mut startup).await.unwrap();
            startup.truncate(read);
            let _ = sender.send(startup);
        });
        (port, receiver)
    }

    #[tokio::test]
    async fn sslmode_require_speaks_tls_to_a_self_signed_server() {
        let (port, startup) = server_with_self_signed_tls().await;
        let mut probe = crate::probe::Probe::Postgres(probe_with_url(&format!(
            "postgres://greenlight@127.0.0.1:{port}/app?sslmode=require"
        )));
        // The server hangs up after the startup message: the probe fails,
        // but only after the handshake, as libpq's `require` would.
        let _ = probe.observe(Duration::from_secs(2)).await;
        let startup = startup.await.expect("a TLS session was opened");
        let text = String::from_utf8_lossy(&startup);
        assert!(
            text.contains("user\0greenlight"),
            "startup message inside TLS: {text:?}"
        );
    }

    #[tokio::test]
    async fn sslmode_require_insists_on_tls() {
        let port = server_without_tls().await;
        let mut probe = crate::probe::Probe::Postgres(probe_with_url(&format!(
            "postgres://greenlight@127.0.0.1:{port}/app?sslmode=require"
        )));
        let result = probe.observe(Duration::from_secs(2)).await.result().clone();
        assert_eq!(result.status(), CheckStatus::Fail);
        assert!(
            result.error.contains("server does not support TLS"),
            "{}",
            result.error
        );
    }

    #[tokio::test]
    async fn closed_port_fails_with_connection_refused() {
        let timeout = Duration::from_millis(500);
        let mut probe = crate::probe::Probe::Postgres(probe_for(closed_port().await));
        let started = std::time::Instant::now();
        let result = probe.observe(timeout).await.result().clone();
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
        let result = probe.observe(timeout).await.result().clone();
        assert!(started.elapsed() < timeout + Duration::from_millis(200));
        assert_eq!(result.status(), CheckStatus::Fail);
        assert!(result.error.contains("timed out"), "{}", result.error);
        holder.abort();
    }
}
