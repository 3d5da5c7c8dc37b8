//! The TLS config in force, and reloading it. A reload reads the files
//! again and, when they make a usable config, swaps it in whole: new
//! handshakes use it, established connections keep theirs (rustls holds a
//! connection's config for its life), so no stream is dropped. Files that
//! cannot be used (half written, a key that is not the certificate's) keep
//! the old config in force and say why, once per change.
//!
//! Reloads come from SIGHUP (at once, always) and from looking at the
//! files every `tls.poll` (only when their contents changed).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::files::{Contents, Loaded, TlsFileError, TlsFiles};

/// What a reload did.
#[derive(Debug, Clone, PartialEq)]
pub enum Reloaded {
    /// The files are as they were: nothing to do.
    Unchanged,
    /// New handshakes use the new files.
    Swapped,
    /// The files cannot be used; the config in force stays.
    Refused(TlsFileError),
}

/// Why a reload was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Hangup,
    Poll,
}

pub struct ServerTls {
    files: TlsFiles,
    /// How often the files are read to notice a change.
    poll: Duration,
    /// What new handshakes use.
    current: ArcSwap<rustls::ServerConfig>,
    /// The files as last read, good or bad: a poll acts on a change only,
    /// so a bad file is reported once, not every poll.
    seen: Mutex<Seen>,
}

#[derive(Debug)]
enum Seen {
    Contents(Contents),
    /// The files could not be read; the reason as said.
    Unreadable(TlsFileError),
}

impl ServerTls {
    /// Starts with `loaded` (what the config check read).
    pub fn new(files: TlsFiles, poll: Duration, loaded: Loaded) -> Self {
        tracing::info!(
            certificate = %loaded.shown,
            client_certificates = ?files.client_ca.as_ref().map(|_| files.client_auth),
            "TLS on the gRPC port"
        );
        ServerTls {
            files,
            poll,
            current: ArcSwap::new(loaded.config),
            seen: Mutex::new(Seen::Contents(loaded.contents)),
        }
    }

    /// An acceptor with the config in force now.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.current.load_full())
    }

    /// Reads the files again and swaps the config if they changed (or
    /// always, for a SIGHUP) and make a usable one.
    pub fn reload(&self) -> Reloaded {
        self.reload_for(Trigger::Hangup)
    }

    fn reload_for(&self, trigger: Trigger) -> Reloaded {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let contents = match self.files.read() {
            Ok(contents) => contents,
            Err(error) => {
                let repeated = matches!(&*seen, Seen::Unreadable(old) if *old == error);
                if trigger == Trigger::Hangup || !repeated {
                    tracing::warn!(%error, "TLS files cannot be read; the certificates in force stay");
                }
                *seen = Seen::Unreadable(error.clone());
                return Reloaded::Refused(error);
            }
        };
        let changed = !matches!(&*seen, Seen::Contents(old) if *old == contents);
        if trigger == Trigger::Poll && !changed {
            return Reloaded::Unchanged;
        }
        *seen = Seen::Contents(contents.clone());
        match self.files.build(contents) {
            Ok(loaded) => {
                self.current.store(loaded.config);
                tracing::info!(
                    certificate = %loaded.shown,
                    why = ?trigger,
                    "TLS files reloaded: new connections use them, open ones keep theirs"
                );
                Reloaded::Swapped
            }
            Err(error) => {
                tracing::warn!(%error, why = ?trigger, "TLS files changed but cannot be used; the certificates in force stay");
                Reloaded::Refused(error)
            }
        }
    }

    /// Reloads on SIGHUP and when the files change, until `shutdown`. The
    /// signal is taken over here, before returning, so a SIGHUP from then
    /// on reloads instead of ending the process.
    pub fn spawn_reloader(
        self: &Arc<Self>,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        let hangup = signal(SignalKind::hangup())?;
        tasks.spawn(self.clone().reload_until(hangup, shutdown));
        Ok(())
    }

    async fn reload_until(self: Arc<Self>, mut hangup: Signal, shutdown: CancellationToken) {
        let mut poll = tokio::time::interval(self.poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        poll.tick().await;
        loop {
            let trigger = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = hangup.recv() => Trigger::Hangup,
                _ = poll.tick() => Trigger::Poll,
            };
            if trigger == Trigger::Hangup {
                tracing::info!("SIGHUP: reloading the TLS files");
            }
            self.reload_for(trigger);
        }
    }
}
