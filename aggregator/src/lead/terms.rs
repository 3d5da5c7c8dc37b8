//! Who leads each deployment, as this aggregator knows it: the pure part
//! of leadership. Time is passed in. A term is acted on only until a
//! quarter of the lease before it could lapse in Redis, counted from when
//! the acquiring or renewing command was sent (Redis starts the lease
//! later than that, never earlier): so the leader stops publishing and
//! running hooks before any standby can take over, even when it cannot
//! reach Redis to learn it lost.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

/// One deployment's leadership, from this aggregator's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Another aggregator leads (`Some`), or nobody is known to (`None`:
    /// not asked yet, or Redis did not answer).
    Standby { leader: Option<String> },
    /// This aggregator holds the lease, taken with `epoch`, and acts until
    /// `until`, unless a renewal moves it.
    Leading { epoch: u64, until: Instant },
}

#[derive(Debug)]
pub struct Terms {
    id: String,
    lease: Duration,
    roles: BTreeMap<String, Role>,
}

impl Terms {
    pub fn new(id: String, lease: Duration) -> Self {
        Terms {
            id,
            lease,
            roles: BTreeMap::new(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// How long after a command was sent its lease is acted on.
    pub fn act_window(&self) -> Duration {
        self.lease - self.lease / 4
    }

    /// Whether this aggregator may publish and run hooks for `deployment`.
    pub fn acting(&self, deployment: &str, now: Instant) -> bool {
        self.until(deployment).is_some_and(|until| now < until)
    }

    /// Whether an output of `deployment` at `epoch` (`None`: no epoch) is
    /// this aggregator's to carry out: it acts, and the epoch is of its
    /// term (one computed before it took over is not).
    pub fn accepts(&self, deployment: &str, epoch: Option<u64>, now: Instant) -> bool {
        match self.roles.get(deployment) {
            Some(Role::Leading { epoch: from, until }) => {
                now < *until && epoch.is_none_or(|epoch| epoch > *from)
            }
            _ => false,
        }
    }

    /// Until when this aggregator acts for `deployment`, if it leads it.
    pub fn until(&self, deployment: &str) -> Option<Instant> {
        match self.roles.get(deployment) {
            Some(Role::Leading { until, .. }) => Some(*until),
            _ => None,
        }
    }

    /// Whether this aggregator took the lease and has not learnt it lost
    /// it (it may have lapsed: then the next renewal takes it afresh).
    pub fn believes_leading(&self, deployment: &str) -> bool {
        matches!(self.roles.get(deployment), Some(Role::Leading { .. }))
    }

    /// The lease was renewed by a command sent at `sent`.
    pub fn renewed(&mut self, deployment: &str, sent: Instant) {
        let window = self.act_window();
        if let Some(Role::Leading { until, .. }) = self.roles.get_mut(deployment) {
            *until = (*until).max(sent + window);
        }
    }

    /// The lease was taken by a command sent at `sent`, with `epoch`.
    pub fn lead(&mut self, deployment: &str, epoch: u64, sent: Instant) {
        let until = sent + self.act_window();
        self.roles
            .insert(deployment.to_string(), Role::Leading { epoch, until });
    }

    /// Someone else holds the lease (or nobody is known to); `true` when
    /// this aggregator believed it led.
    pub fn stand_by(&mut self, deployment: &str, leader: Option<String>) -> bool {
        let was = self.believes_leading(deployment);
        self.roles
            .insert(deployment.to_string(), Role::Standby { leader });
        was
    }

    /// Who leads `deployment`, as far as this aggregator knows: itself
    /// only while it acts.
    pub fn leader(&self, deployment: &str, now: Instant) -> Option<&str> {
        match self.roles.get(deployment)? {
            Role::Leading { until, .. } if now < *until => Some(&self.id),
            Role::Leading { .. } => None,
            Role::Standby { leader } => leader.as_deref(),
        }
    }

    /// Every deployment this aggregator believes it leads (to release).
    pub fn led(&self) -> Vec<String> {
        self.roles
            .iter()
            .filter(|(_, role)| matches!(role, Role::Leading { .. }))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acts_a_quarter_lease_short_of_the_lapse_and_renewals_extend_it() {
        let start = Instant::now();
        let mut terms = Terms::new("agg-a".into(), Duration::from_secs(4));
        assert!(!terms.acting("shop", start));
        assert_eq!(terms.leader("shop", start), None);
        terms.lead("shop", 7, start);
        assert!(terms.acting("shop", start + Duration::from_millis(2_999)));
        assert!(!terms.acting("shop", start + Duration::from_secs(3)));
        assert!(terms.believes_leading("shop"), "lapsed, not yet known lost");
        terms.renewed("shop", start + Duration::from_secs(1));
        assert!(terms.acting("shop", start + Duration::from_millis(3_999)));
        // A renewal sent earlier than the last one never shortens the term.
        terms.renewed("shop", start);
        assert!(terms.acting("shop", start + Duration::from_millis(3_999)));
        assert_eq!(terms.leader("shop", start), Some("agg-a"));
        assert_eq!(terms.led(), vec!["shop".to_string()]);
        assert!(terms.accepts("shop", Some(8), start));
        assert!(terms.accepts("shop", None, start));
        assert!(
            !terms.accepts("shop", Some(7), start),
            "computed before the term"
        );
        assert!(!terms.accepts("shop", Some(8), start + Duration::from_secs(4)));
    }

    #[test]
    fn standing_by_says_whether_it_led_and_names_the_leader() {
        let start = Instant::now();
        let mut terms = Terms::new("agg-a".into(), Duration::from_secs(5));
        assert!(!terms.stand_by("shop", Some("agg-b".into())));
        assert_eq!(terms.leader("shop", start), Some("agg-b"));
        terms.renewed("shop", start);
        assert!(!terms.acting("shop", start), "a renewal is not a term");
        terms.lead("shop", 9, start);
        assert!(terms.stand_by("shop", Some("agg-b".into())));
        assert!(!terms.acting("shop", start));
        assert!(terms.led().is_empty());
    }
}
