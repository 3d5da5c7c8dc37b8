//! The task that keeps the leases: every fifth of the lease it asks Redis,
//! for each deployment the engine knows, to renew this aggregator's lease
//! or give it a free one. A lease taken is a new term: the leader's saved
//! state goes into the engine first (the bake resumes with its deadline),
//! with the epoch Redis handed out. A lease held by another aggregator
//! makes this one a standby that follows the leader's saved state. At
//! shutdown the leases are given back, so a standby takes over at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use redis::AsyncCommands;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::config::{HaSettings, RedisSettings};
use crate::engine::{SavedState, epoch_floor};
use crate::hub::Hub;
use crate::lead::{ACQUIRE, Acquired, Leadership, RELEASE};
use crate::redis::{RedisConnection, RedisTarget, describe, epoch_key, leader_key, state_key};

pub struct Keeper {
    pub hub: Arc<Hub>,
    pub leadership: Arc<Leadership>,
    pub redis: RedisSettings,
    pub ha: HaSettings,
}

impl Keeper {
    /// Runs until `stop`; then releases the leases held. Cancel `stop`
    /// after the publisher drained: its last writes need the lease.
    pub async fn run(self, stop: CancellationToken) {
        // A fifth: a leader renews three or four times within the quarter
        // lease it acts on, and a standby sees a lapsed lease soon.
        let mut ticks = tokio::time::interval(self.ha.lease / 5);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut connection = None;
        // The leader's state as last adopted, per deployment: adopted
        // again only when it changed.
        let mut followed: BTreeMap<String, String> = BTreeMap::new();
        let mut unreachable_since: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticks.tick() => {}
            }
            self.note_lapsed();
            if connection.is_none() {
                connection = self.connect().await;
            }
            let Some(conn) = connection.as_mut() else {
                continue;
            };
            let names: Vec<String> = self
                .hub
                .read(|engine, _| engine.names().map(String::from).collect());
            // A command may take a tick: a slow Redis delays the next
            // renewal by at most that, well inside the quarter lease of slack.
            let budget = self.ha.lease / 5;
            let mut failed = None;
            for name in names {
                let kept = tokio::time::timeout(budget, self.keep(conn, &name, &mut followed))
                    .await
                    .unwrap_or_else(|_| {
                        Err(redis::RedisError::from((
                            redis::ErrorKind::Io,
                            "no answer within a fifth of the lease",
                        )))
                    });
                if let Err(error) = kept {
                    failed = Some(error);
                    break;
                }
            }
            if failed.is_some() {
                // A fresh connection next tick: one stalled behind a cut
                // answers nothing, even once the network is back.
                connection = None;
            }
            match (failed, unreachable_since) {
                (Some(error), None) => {
                    unreachable_since = Some(Instant::now());
                    tracing::warn!(
                        url = %self.redis.shown_url(),
                        error = %describe(&error),
                        "cannot renew the leases in Redis: this aggregator stops acting for the deployments it leads before their leases lapse"
                    );
                }
                (None, Some(since)) => {
                    unreachable_since = None;
                    tracing::info!(down_for = ?since.elapsed(), "Redis answers the lease renewals again");
                }
                _ => {}
            }
        }
        if let Some(conn) = connection.as_mut() {
            self.release(conn).await;
        }
    }

    /// Says once when this aggregator stopped acting for a deployment
    /// because its lease could not be renewed in time.
    fn note_lapsed(&self) {
        let now = Instant::now();
        let lapsed = self
            .leadership
            .with_terms(|terms| {
                let lapsed: Vec<String> = terms
                    .led()
                    .into_iter()
                    .filter(|name| !terms.acting(name, now))
                    .collect();
                for name in &lapsed {
                    terms.stand_by(name, None);
                }
                lapsed
            })
            .unwrap_or_default();
        for name in lapsed {
            metrics::gauge!("greenlight_leading", "deployment" => name.clone()).set(0.0);
            tracing::warn!(
                deployment = %name,
                "stopped leading: the lease could not be renewed in time, so this aggregator no longer publishes, runs hooks or alerts for it; another aggregator may take over"
            );
        }
    }

    async fn connect(&self) -> Option<RedisConnection> {
        RedisTarget::new(&self.redis)
            .connect()
            .await
            .inspect_err(|error| {
                tracing::debug!(error = %describe(error), "lease keeper: Redis unreachable")
            })
            .ok()
    }

    /// One deployment's lease: renewed, taken (a new term) or someone
    /// else's (followed).
    async fn keep(
        &self,
        conn: &mut RedisConnection,
        name: &str,
        followed: &mut BTreeMap<String, String>,
    ) -> redis::RedisResult<()> {
        let believes = self
            .leadership
            .with_terms(|terms| terms.believes_leading(name))
            .unwrap_or(false);
        let floor = epoch_floor(self.hub.now());
        let sent = Instant::now();
        let reply: (String, String) = ACQUIRE
            .key(leader_key(name))
            .key(epoch_key(name))
            .arg(&self.ha.id)
            .arg(self.ha.lease.as_millis() as u64)
            .arg(if believes { "1" } else { "0" })
            .arg(floor)
            .invoke_async(conn)
            .await?;
        match Acquired::parse(reply)? {
            Acquired::Renewed => {
                self.leadership
                    .with_terms(|terms| terms.renewed(name, sent));
            }
            Acquired::Took(epoch) => {
                let state = self.saved_state(conn, name).await?;
                self.take_over(name, state.as_ref(), epoch, sent);
                followed.remove(name);
            }
            Acquired::Held(holder) => {
                let (was, known) = self
                    .leadership
                    .with_terms(|terms| {
                        let known = terms.leader(name, sent) == Some(holder.as_str());
                        (terms.stand_by(name, Some(holder.clone())), known)
                    })
                    .unwrap_or((false, true));
                metrics::gauge!("greenlight_leading", "deployment" => name.to_string()).set(0.0);
                if was {
                    tracing::warn!(
                        deployment = %name,
                        leader = %holder,
                        "no longer leading: another aggregator holds the lease; standing by"
                    );
                } else if !known {
                    tracing::info!(
                        deployment = %name,
                        leader = %holder,
                        "standing by: another aggregator holds the lease"
                    );
                }
                let text: Option<String> = conn.get(state_key(name)).await?;
                if let Some(text) = text.filter(|text| followed.get(name) != Some(text)) {
                    if let Some(state) = parse(name, &text) {
                        self.hub.with_engine(|engine, now| {
                            if let Err(error) = engine.adopt(name, &state, 0, now) {
                                tracing::warn!(deployment = %name, %error, "cannot follow the leader's saved state");
                            }
                        });
                    }
                    followed.insert(name.to_string(), text);
                }
            }
        }
        Ok(())
    }

    async fn saved_state(
        &self,
        conn: &mut RedisConnection,
        name: &str,
    ) -> redis::RedisResult<Option<SavedState>> {
        let text: Option<String> = conn.get(state_key(name)).await?;
        Ok(text.and_then(|text| parse(name, &text)))
    }

    /// A new term: under the engine's lock, so that no step comes between,
    /// this aggregator starts acting for epochs above `epoch` and the
    /// leader's state goes into the engine; its first verdict is the
    /// term's.
    fn take_over(&self, name: &str, state: Option<&SavedState>, epoch: u64, sent: Instant) {
        self.hub.with_engine(|engine, now| {
            self.leadership
                .with_terms(|terms| terms.lead(name, epoch, sent));
            let adopted = match state {
                Some(state) => engine.adopt(name, state, epoch, now),
                None => {
                    engine.raise_epoch(name, epoch, now);
                    Ok(())
                }
            };
            if let Err(error) = adopted {
                tracing::error!(deployment = %name, %error, "the saved state cannot be taken over; deciding from what this aggregator saw");
                engine.raise_epoch(name, epoch, now);
            }
        });
        metrics::gauge!("greenlight_leading", "deployment" => name.to_string()).set(1.0);
        metrics::counter!("greenlight_leader_terms_total", "deployment" => name.to_string())
            .increment(1);
        tracing::info!(deployment = %name, epoch, id = %self.ha.id, "leading: took the lease; the bake, if any, resumes from the saved state");
    }

    async fn release(&self, conn: &mut RedisConnection) {
        let led = self
            .leadership
            .with_terms(|terms| {
                let led = terms.led();
                for name in &led {
                    terms.stand_by(name, None);
                }
                led
            })
            .unwrap_or_default();
        for name in led {
            let released: redis::RedisResult<i64> = RELEASE
                .key(leader_key(&name))
                .arg(&self.ha.id)
                .invoke_async(conn)
                .await;
            match released {
                Ok(1) => {
                    tracing::info!(deployment = %name, "lease released: a standby takes over now")
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(deployment = %name, error = %describe(&error), "cannot release the lease: a standby takes over when it lapses")
                }
            }
        }
    }
}

fn parse(name: &str, text: &str) -> Option<SavedState> {
    serde_json::from_str(text)
        .inspect_err(|error| {
            tracing::error!(deployment = %name, %error, "the leader's saved state does not parse")
        })
        .ok()
}
