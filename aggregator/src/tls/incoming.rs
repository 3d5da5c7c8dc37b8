//! TCP connections turned into TLS streams for tonic to serve. Each
//! handshake runs in its own task, so one slow or silent client cannot
//! hold up the others' accepts; how many run at once is capped and each
//! has a deadline. A handshake that fails (a plaintext client, a
//! certificate from another CA, none where one is required) is logged
//! with the peer's address and never reaches tonic.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::ServerTls;
use super::failure_log::{FailureLog, Verdict};

/// Handshakes in flight at once; beyond, accepting waits (the kernel's
/// backlog holds the rest).
const MAX_HANDSHAKES: usize = 256;

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshaken streams waiting for tonic to take them.
const READY_QUEUE: usize = 64;

/// After a failed accept (e.g. out of file descriptors), a pause before
/// the next, so the loop does not spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The stream of TLS connections accepted on `listener` until `shutdown`.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<ServerTls>,
    tasks: &TaskTracker,
    shutdown: CancellationToken,
) -> ReceiverStream<Result<TlsStream<TcpStream>, io::Error>> {
    let (ready, receiver) = mpsc::channel(READY_QUEUE);
    tasks.spawn(accept(listener, tls, ready, tasks.clone(), shutdown));
    ReceiverStream::new(receiver)
}

type Ready = mpsc::Sender<Result<TlsStream<TcpStream>, io::Error>>;

async fn accept(
    listener: TcpListener,
    tls: Arc<ServerTls>,
    ready: Ready,
    tasks: TaskTracker,
    shutdown: CancellationToken,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    let failures = Arc::new(FailureLog::new(tokio::time::Instant::now()));
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => return,
            permit = handshakes.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (socket, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        // Small messages (reports, acks) must not wait for Nagle.
        let _ = socket.set_nodelay(true);
        let acceptor = tls.acceptor();
        let ready = ready.clone();
        let shutdown = shutdown.clone();
        let failures = failures.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket));
            let stream = tokio::select! {
                _ = shutdown.cancelled() => return,
                handshake = handshake => handshake,
            };
            match stream {
                Ok(Ok(stream)) => {
                    let _ = ready.send(Ok(stream)).await;
                }
                failed => {
                    let kind = match &failed {
                        Ok(Err(error)) => error.to_string(),
                        _ => "timeout".to_string(),
                    };
                    let Verdict::Log { suppressed } =
                        failures.failed(tokio::time::Instant::now(), &kind)
                    else {
                        return;
                    };
                    if suppressed > 0 {
                        tracing::warn!(
                            failed = suppressed,
                            "more TLS handshakes failed than are logged one by one (10 per 10 s)"
                        );
                    }
                    match failed {
                        Ok(Err(error)) => {
                            tracing::warn!(%peer, %error, "TLS handshake failed: connection refused");
                        }
                        _ => {
                            tracing::warn!(%peer, timeout = ?HANDSHAKE_TIMEOUT, "TLS handshake not finished in time: connection dropped");
                        }
                    }
                }
            }
        });
    }
}
