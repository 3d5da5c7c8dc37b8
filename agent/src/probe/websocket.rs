//! The `websocket` check: per round a fresh handshake against the
//! backend's WebSocket URL, then a ping/pong round trip, then a polite
//! close. A fresh connection each round, not one kept open: what matters
//! for a cutover is whether *new* clients get in, and a backend that
//! refuses upgrades still serves the sockets it already has. The count of
//! open connections is the backend's own (its metrics gauge or
//! `/health/detailed`), read from [`ActiveConnections`].

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use greenlight_proto::v1::{CheckKind, CheckResult, WebsocketDetail, check_result::Detail};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};
use tokio_tungstenite::{WebSocketStream, client_async_with_config};
use url::Url;

use super::web_tls::{self, Tls};
use super::{ActiveConnections, failed, passed};
use crate::error_text::describe;

pub(super) const CHECK: CheckKind = CheckKind::Websocket;

/// The ping's payload; the pong must echo it.
const PING: &[u8] = b"greenlight";

pub(crate) struct WebsocketProbe {
    url: Url,
    /// `wss://`: TLS first.
    tls: Tls,
    /// Small buffers: the probe sends and reads a few bytes, and the
    /// library's defaults (128 KiB each way) would be allocated every round.
    config: WebSocketConfig,
    connections: ActiveConnections,
}

impl WebsocketProbe {
    pub(crate) fn new(url: Url, connections: ActiveConnections) -> Self {
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0)
            .max_message_size(Some(64 * 1024))
            .max_frame_size(Some(64 * 1024));
        WebsocketProbe {
            tls: Tls::for_url(&url),
            url,
            config,
            connections,
        }
    }

    pub(crate) async fn check(&mut self) -> CheckResult {
        let started = Instant::now();
        let (handshake, round_trip) = match self.round(started).await {
            Ok(timings) => timings,
            Err(error) => return failed(CHECK, error, started.elapsed()),
        };
        let mut result = passed(CHECK, started.elapsed());
        result.observed_value = round_trip.as_secs_f64();
        result.observed_unit = "seconds".to_string();
        result.detail = Some(Detail::Websocket(WebsocketDetail {
            handshake_seconds: handshake.as_secs_f64(),
            ping_round_trip_seconds: round_trip.as_secs_f64(),
            active_connections: self.connections.get().unwrap_or(0),
        }));
        result
    }

    /// Connects (TLS for `wss://`) and exchanges: the handshake's time and
    /// the ping's round trip.
    async fn round(&self, started: Instant) -> Result<(Duration, Duration), String> {
        let stream = self.connect().await?;
        match self.tls.config() {
            None => self.exchange(stream, started).await,
            Some(config) => {
                let stream = web_tls::connect(config?, stream, self.host()).await?;
                self.exchange(stream, started).await
            }
        }
    }

    /// Other TLS settings than the URL's (tests: their own roots).
    #[cfg(test)]
    fn with_tls(mut self, tls: Tls) -> Self {
        self.tls = tls;
        self
    }

    /// The URL's host, an IPv6 address without its brackets.
    fn host(&self) -> &str {
        let host = self.url.host_str().unwrap_or("127.0.0.1");
        host.trim_start_matches('[').trim_end_matches(']')
    }

    async fn connect(&self) -> Result<TcpStream, String> {
        let host = self.host();
        let port = self.url.port_or_known_default().unwrap_or(80);
        let stream = TcpStream::connect((host, port))
            .await
            .map_err(|error| describe(&error))?;
        // A ping is one small frame: send it now, not after Nagle's delay.
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    /// The upgrade (its time counted from `started`: TCP and TLS
    /// included), a ping/pong round trip, then a polite close.
    async fn exchange<S>(&self, stream: S, started: Instant) -> Result<(Duration, Duration), String>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (mut socket, _) =
            client_async_with_config(self.url.as_str(), stream, Some(self.config))
                .await
                .map_err(|error| words(&error))?;
        let handshake = started.elapsed();
        let ping_started = Instant::now();
        ping_pong(&mut socket).await?;
        let round_trip = ping_started.elapsed();
        // The close frame goes out; its answer is not waited for (the
        // backend's part, and it would only add to the probe's time).
        let _ = socket.close(None).await;
        Ok((handshake, round_trip))
    }
}

/// Sends a ping and waits for its pong; other messages are skipped.
async fn ping_pong<S>(socket: &mut WebSocketStream<S>) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    socket
        .send(Message::Ping(Bytes::from_static(PING)))
        .await
        .map_err(|error| words(&error))?;
    while let Some(message) = socket.next().await {
        match message.map_err(|error| words(&error))? {
            Message::Pong(payload) if payload.as_ref() == PING => return Ok(()),
            Message::Close(frame) => {
                return Err(match frame {
                    Some(frame) => {
                        format!("closed by the backend: {} {}", frame.code, frame.reason)
                    }
                    None => "closed by the backend".to_string(),
                });
            }
            _ => {}
        }
    }
    Err("connection closed by peer before the pong".to_string())
}

fn words(error: &WsError) -> String {
    match error {
        // The upgrade was answered with a plain HTTP response.
        WsError::Http(response) => format!("upgrade refused: HTTP {}", response.status()),
        WsError::ConnectionClosed | WsError::AlreadyClosed => {
            "connection closed by peer".to_string()
        }
        other => describe(other),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use greenlight_proto::v1::CheckStatus;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::probe::{Probe, closed_port};

    fn probe_for(port: u16, connections: ActiveConnections) -> Probe {
        let url = Url::parse(&format!("ws://127.0.0.1:{port}/ws")).unwrap();
        Probe::Websocket(WebsocketProbe::new(url, connections))
    }

    /// A WebSocket server that answers pings (tungstenite does that itself).
    async fn echo_server() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                        return;
                    };
                    while let Some(Ok(_)) = socket.next().await {}
                });
            }
        });
        port
    }

    /// Answers every upgrade with 503, as the simulated backend does when
    /// told to refuse WebSockets.
    async fn refusing_server() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = vec![0; 4096];
                let _ = stream.read(&mut request).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        port
    }

    #[tokio::test]
    async fn handshake_and_ping_pass_with_the_backends_count() {
        let connections = ActiveConnections::new();
        connections.set(12);
        let mut probe = probe_for(echo_server().await, connections);
        let result = probe.observe(Duration::from_secs(2)).await.result().clone();
        assert_eq!(result.status(), CheckStatus::Pass, "{}", result.error);
        assert_eq!(result.observed_unit, "seconds");
        let Some(Detail::Websocket(detail)) = result.detail else {
            panic!("no websocket detail")
        };
        assert!(detail.handshake_seconds > 0.0);
        assert!(detail.ping_round_trip_seconds > 0.0);
        assert_eq!(detail.active_connections, 12);
    }

    #[tokio::test]
    async fn a_refused_upgrade_fails_with_the_status() {
        let mut probe = probe_for(refusing_server().await, ActiveConnections::new());
        let result = probe.observe(Duration::from_secs(2)).await.result().clone();
        assert_eq!(result.status(), CheckStatus::Fail);
        assert_eq!(
            result.error,
            "upgrade refused: HTTP 503 Service Unavailable"
        );
    }

    #[tokio::test]
    async fn a_closed_port_fails() {
        let mut probe = probe_for(closed_port().await, ActiveConnections::new());
        let result = probe.observe(Duration::from_secs(2)).await.result().clone();
        assert_eq!(result.error, "connection refused");
    }

    #[tokio::test]
    async fn wss_speaks_tls_first() {
        let (port, trusting) = crate::probe::web_tls::testing::tls_server(|tls| async move {
            let Ok(mut socket) = tokio_tungstenite::accept_async(tls).await else {
                return;
            };
            while let Some(Ok(_)) = socket.next().await {}
        })
        .await;
        let url = Url::parse(&format!("wss://127.0.0.1:{port}/ws")).unwrap();
        let probe = WebsocketProbe::new(url, ActiveConnections::new()).with_tls(trusting);
        let result = Probe::Websocket(probe)
            .observe(Duration::from_secs(2))
            .await
            .result()
            .clone();
        assert_eq!(result.status(), CheckStatus::Pass, "{}", result.error);

        // The same server through plain ws:// is no WebSocket.
        let mut plain = probe_for(port, ActiveConnections::new());
        let result = plain.observe(Duration::from_secs(2)).await.result().clone();
        assert_eq!(result.status(), CheckStatus::Fail);
    }
}
