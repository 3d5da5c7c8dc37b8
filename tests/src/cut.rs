//! [`NetworkCut`]: a TCP proxy on a free loopback port in front of a
//! server, whose link can be cut and healed. A cut is what a partition
//! does, not what a crash does: nothing is refused or reset, bytes just
//! stop (connections stall, new ones are accepted and stall too), so the
//! client finds out only from its own timeouts. Healing drops the stalled
//! connections, as their peers' timeouts would have, and lets new ones
//! through.

use std::net::SocketAddr;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::free_port;

pub struct NetworkCut {
    port: u16,
    cut: watch::Sender<bool>,
    accepting: JoinHandle<()>,
}

impl NetworkCut {
    /// Proxies a free loopback port to `target`.
    pub async fn start(target: SocketAddr) -> anyhow::Result<NetworkCut> {
        let port = free_port();
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let (cut, _) = watch::channel(false);
        let links = cut.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(link(client, target, links.subscribe()));
            }
        });
        Ok(NetworkCut {
            port,
            cut,
            accepting,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Bytes stop in both directions, on every connection, old and new.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Stalled connections are dropped; new ones go through again.
    pub fn heal(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for NetworkCut {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// One client connection: forwarded while the link is up; held without a
/// byte moving while it is cut, then dropped when it heals.
async fn link(mut client: TcpStream, target: SocketAddr, mut cut: watch::Receiver<bool>) {
    if !*cut.borrow_and_update() {
        let Ok(mut server) = TcpStream::connect(target).await else {
            return;
        };
        tokio::select! {
            _ = copy_bidirectional(&mut client, &mut server) => return,
            _ = cut.wait_for(|cut| *cut) => {}
        }
        // Held, silent, until the cut heals.
        let _ = cut.wait_for(|cut| !*cut).await;
        drop(server);
    } else {
        let _ = cut.wait_for(|cut| !*cut).await;
    }
    drop(client);
}
