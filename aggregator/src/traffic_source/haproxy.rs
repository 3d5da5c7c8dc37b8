//! Asking HAProxy's runtime API where traffic goes: one
//! `show servers state <backend>` over the admin socket (a Unix socket or
//! `host:port`, as deploy/switch-traffic's HAPROXY_SOCKET), bounded in time
//! and size.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use super::reading::{ReadError, Reading};
use super::servers_state;

/// `show servers state` of one backend is a few hundred bytes per server;
/// anything far larger is not the answer we asked for.
const ANSWER_LIMIT: u64 = 1 << 20;

/// Where the runtime API listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Unix(PathBuf),
    /// `host:port`, as HAProxy's `stats socket ipv4@host:port` or `[::1]:port`.
    Tcp(String),
}

impl Address {
    /// A value with a `/` is a path; `host:port` (digits after the last
    /// colon) is TCP; anything else is a path relative to the working
    /// directory. deploy/switch-traffic's `haproxy_address` is the same rule.
    pub fn parse(socket: &str) -> Address {
        let is_tcp = !socket.contains('/')
            && socket.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
            });
        if is_tcp {
            Address::Tcp(socket.to_owned())
        } else {
            Address::Unix(PathBuf::from(socket))
        }
    }
}

/// Where `backend`'s traffic goes, read within `timeout` (connect, ask,
/// read to the end: HAProxy closes a non-interactive connection after one
/// answer).
pub async fn read(
    socket: &str,
    backend: &str,
    blue_server: &str,
    green_server: &str,
    timeout: Duration,
) -> Result<Reading, ReadError> {
    let answer = tokio::time::timeout(timeout, ask(socket, backend))
        .await
        .map_err(|_| ReadError::Timeout {
            what: format!("HAProxy's runtime API at {socket}"),
            timeout,
        })??;
    servers_state::parse(&answer, backend, blue_server, green_server)
}

async fn ask(socket: &str, backend: &str) -> Result<String, ReadError> {
    let connect = |source| ReadError::Connect {
        address: socket.to_owned(),
        source,
    };
    let command = format!("show servers state {backend}\n");
    match Address::parse(socket) {
        Address::Unix(path) => {
            let stream = UnixStream::connect(&path).await.map_err(connect)?;
            exchange(stream, &command, socket).await
        }
        Address::Tcp(address) => {
            let stream = TcpStream::connect(&address).await.map_err(connect)?;
            exchange(stream, &command, socket).await
        }
    }
}

async fn exchange(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    command: &str,
    socket: &str,
) -> Result<String, ReadError> {
    let talk = |source| ReadError::Talk {
        address: socket.to_owned(),
        source,
    };
    stream.write_all(command.as_bytes()).await.map_err(talk)?;
    let mut answer = Vec::new();
    // One byte over the limit tells a full answer from a cut one.
    (&mut stream)
        .take(ANSWER_LIMIT + 1)
        .read_to_end(&mut answer)
        .await
        .map_err(talk)?;
    if answer.len() as u64 > ANSWER_LIMIT {
        return Err(ReadError::TooLarge {
            what: format!("HAProxy's answer on {socket}"),
            limit: ANSWER_LIMIT,
        });
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[cfg(test)]
mod tests {
    use greenlight_proto::v1::Color;
    use tokio::net::{TcpListener, UnixListener};

    use super::*;

    const GREEN_LIVE: &str = include_str!("testdata/haproxy-green-live.txt");

    #[test]
    fn socket_addresses_take_the_forms_switch_traffic_takes() {
        let unix = |path: &str| Address::Unix(PathBuf::from(path));
        assert_eq!(
            Address::parse("/run/haproxy/admin.sock"),
            unix("/run/haproxy/admin.sock")
        );
        assert_eq!(Address::parse("admin.sock"), unix("admin.sock"));
        assert_eq!(Address::parse("./lb:1"), unix("./lb:1"));
        assert_eq!(
            Address::parse("127.0.0.1:9999"),
            Address::Tcp("127.0.0.1:9999".into())
        );
        assert_eq!(
            Address::parse("localhost:9999"),
            Address::Tcp("localhost:9999".into())
        );
        assert_eq!(
            Address::parse("[::1]:9999"),
            Address::Tcp("[::1]:9999".into())
        );
    }

    /// A runtime API stand-in that answers one connection with `answer`
    /// after reading the command: checks the bytes on the wire, not HAProxy
    /// (the e2e tests run the real one).
    async fn answer_once(
        mut stream: impl AsyncRead + AsyncWrite + Unpin,
        answer: &'static str,
    ) -> String {
        let mut command = vec![0; 64];
        let read = stream.read(&mut command).await.unwrap();
        stream.write_all(answer.as_bytes()).await.unwrap();
        String::from_utf8(command[..read].to_vec()).unwrap()
    }

    #[tokio::test]
    async fn reads_over_a_unix_socket() {
        let dir = std::env::temp_dir().join(format!("greenlight-haproxy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("admin.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            answer_once(stream, GREEN_LIVE).await
        });
        let socket = path.to_str().unwrap();
        let reading = read(socket, "escashop", "blue", "green", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(reading, Reading::One(Color::Green));
        assert_eq!(server.await.unwrap(), "show servers state escashop\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn reads_over_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            answer_once(stream, GREEN_LIVE).await
        });
        let reading = read(
            &address,
            "escashop",
            "blue",
            "green",
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(reading, Reading::One(Color::Green));
    }

    #[tokio::test]
    async fn a_stalled_socket_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        // Accepts and never answers, as a wedged HAProxy would.
        let _held = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            std::future::pending::<()>().await;
            drop(stream);
        });
        let error = read(
            &address,
            "escashop",
            "blue",
            "green",
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("HAProxy's runtime API at {address} did not answer within 2s")
        );
    }

    #[tokio::test]
    async fn no_listener_is_a_connect_error_that_says_what_to_check() {
        let path = std::env::temp_dir().join("greenlight-no-such-haproxy.sock");
        let error = read(
            path.to_str().unwrap(),
            "escashop",
            "blue",
            "green",
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, ReadError::Connect { .. }), "{error}");
        assert!(error.to_string().contains("level admin"), "{error}");
    }
}
