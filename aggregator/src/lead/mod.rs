//! Leadership: with `[ha]`, several aggregators share one Redis and each
//! deployment is led by whichever holds its lease there. Every aggregator
//! hears every agent and computes every verdict; only the leader publishes
//! them, runs hooks and gates, and sends alerts. A standby follows the
//! leader's saved state and takes the bake over, with its deadline, when
//! the lease lapses. Without `[ha]` this aggregator leads everything.
//!
//! # Layout
//! - `terms`: who leads what, as this aggregator knows it (pure, time
//!   passed in).
//! - `scripts`: the lease and the fence, as Lua run inside Redis.
//!
//! The task that takes, renews and releases the leases is
//! [`crate::lease_keeper`] (it reads the config; this module does not, so
//! the hooks can ask it who leads).

mod scripts;
mod terms;

use std::sync::{Mutex, MutexGuard};
use tokio::time::Instant;

pub use scripts::{ACQUIRE, Acquired, FENCED, RELEASE};
pub use terms::{Role, Terms};

/// Shared by the dispatcher, the publisher, the hooks and the gRPC face.
#[derive(Debug)]
pub struct Leadership {
    terms: Option<Mutex<Terms>>,
}

impl Leadership {
    /// No `[ha]`: this aggregator leads every deployment, always.
    pub fn alone() -> Self {
        Leadership { terms: None }
    }

    /// `[ha]`: as aggregator `id`, with leases of `lease`.
    pub fn shared(id: String, lease: std::time::Duration) -> Self {
        Leadership {
            terms: Some(Mutex::new(Terms::new(id, lease))),
        }
    }

    fn terms(&self) -> Option<MutexGuard<'_, Terms>> {
        self.terms
            .as_ref()
            .map(|terms| terms.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// This aggregator's id in the leases, with `[ha]`.
    pub fn id(&self) -> Option<String> {
        self.terms().map(|terms| terms.id().to_string())
    }

    /// Whether this aggregator may publish, run hooks and alert for
    /// `deployment` now.
    pub fn acting(&self, deployment: &str) -> bool {
        match self.terms() {
            None => true,
            Some(terms) => terms.acting(deployment, Instant::now()),
        }
    }

    /// Whether an output of `deployment` at `epoch` is this aggregator's
    /// to publish and carry out (see [`Terms::accepts`]).
    pub fn accepts(&self, deployment: &str, epoch: Option<u64>) -> bool {
        match self.terms() {
            None => true,
            Some(terms) => terms.accepts(deployment, epoch, Instant::now()),
        }
    }

    /// Who leads `deployment`: `None` without `[ha]`, or when not known.
    pub fn leader(&self, deployment: &str) -> Option<String> {
        self.terms()?
            .leader(deployment, Instant::now())
            .map(str::to_string)
    }

    /// Resolves when this aggregator no longer acts for `deployment`
    /// (never without `[ha]`): a hook in flight is stopped then, so that
    /// two aggregators never run one deployment's hooks at once.
    pub async fn lost(&self, deployment: &str) {
        loop {
            let until = self.terms().map(|terms| terms.until(deployment));
            match until {
                None => std::future::pending::<()>().await,
                Some(None) => return,
                Some(Some(until)) if until <= Instant::now() => return,
                Some(Some(until)) => tokio::time::sleep_until(until).await,
            }
        }
    }

    pub(crate) fn with_terms<R>(&self, f: impl FnOnce(&mut Terms) -> R) -> Option<R> {
        self.terms().map(|mut terms| f(&mut terms))
    }
}
