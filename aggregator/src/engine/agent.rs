//! What the engine knows about one agent: who it is, its latest report, and
//! since when each of its checks has been failing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use greenlight_proto::time::from_timestamp;
use greenlight_proto::v1::{CheckResult, CheckStatus, Color, Report};

use super::agent_clock::ClockOffset;
use super::report_check::{malformed, refuse_unknown_values};
use super::report_limits::check_ranges;
use super::traffic::{Counters, TrafficWindow};

/// Identity of an agent within one deployment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentKey {
    pub deployment: String,
    pub color: Color,
    pub instance_id: String,
}

impl std::fmt::Display for AgentKey {
    /// `escashop/green/green-1`, as bindings and refusals write it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.deployment,
            greenlight_proto::names::color_name(self.color),
            self.instance_id
        )
    }
}

/// The Hello's facts, kept for summaries.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentIdentity {
    pub agent_version: String,
    pub backend_version: String,
    /// Shared with the saved state, which lists every run's sequence.
    pub run_id: Arc<str>,
    /// How often it promised to report; staleness is counted in these.
    pub interval: Duration,
}

/// The outcome of handing the engine one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    Accepted,
    /// Already seen this sequence: ignored.
    Duplicate,
    /// Older than the latest accepted one: ignored.
    OutOfOrder,
    /// The report is malformed; the text names the field.
    Invalid(String),
    /// Taken, but values in it were unknown: the checks they belong to
    /// count as failing. The text names the fields.
    Refused(String),
    /// No Hello registered this agent (or it was forgotten).
    UnknownAgent,
}

/// The least silence after which another run may take a stream over.
pub const TAKEOVER_AFTER_MIN: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct AgentState {
    pub identity: AgentIdentity,
    /// Which stream owns this agent now: a reconnect takes over, and the old
    /// stream's late disconnect must not mark the new one disconnected.
    pub connection: u64,
    pub connected: bool,
    pub connected_at: SystemTime,
    /// When the aggregator last heard from it (receive time, not the agent's clock).
    pub last_seen: SystemTime,
    /// When its latest report was observed, on the aggregator's timeline:
    /// what freshness and evidence are judged by.
    pub last_observed: SystemTime,
    /// Its clock against ours, estimated from its reports.
    pub clock: ClockOffset,
    /// After the aggregator itself stalled, its silence does not count
    /// until then (it could not be heard).
    pub grace_until: Option<SystemTime>,
    pub last_sequence: u64,
    pub latest: Option<Report>,
    /// Per failing check (check/component): since when it has failed
    /// without a pass, and in how many reports in a row.
    pub failing: BTreeMap<String, Failing>,
    /// Its backend's traffic over the rules' window.
    pub traffic: TrafficWindow,
    /// Its key, hashed once: the verdict's signature names every agent on
    /// every report.
    pub key_hash: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Failing {
    pub since: SystemTime,
    pub reports: u32,
}

/// `postgres` or `http/database`: one failing check's key.
pub fn check_key(check: &CheckResult) -> String {
    if check.component.is_empty() {
        check.check.clone()
    } else {
        format!("{}/{}", check.check, check.component)
    }
}

pub fn is_failing(check: &CheckResult) -> bool {
    check.status() == CheckStatus::Fail
}

impl AgentState {
    pub fn new(key: &AgentKey, identity: AgentIdentity, connection: u64, now: SystemTime) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(key, &mut hasher);
        AgentState {
            key_hash: std::hash::Hasher::finish(&hasher),
            identity,
            connection,
            connected: true,
            connected_at: now,
            last_seen: now,
            last_observed: now,
            clock: ClockOffset::default(),
            grace_until: None,
            last_sequence: 0,
            latest: None,
            failing: BTreeMap::new(),
            traffic: TrafficWindow::default(),
        }
    }

    /// A reconnect of the same agent. A new run (process restart) restarts
    /// its sequence numbers; the same run keeps them, so replayed reports
    /// that were already counted are recognised as duplicates.
    pub fn reconnect(&mut self, identity: AgentIdentity, connection: u64, now: SystemTime) {
        if identity.run_id != self.identity.run_id {
            self.last_sequence = 0;
            self.clock = ClockOffset::default();
        }
        self.identity = identity;
        self.connection = connection;
        self.connected = true;
        self.connected_at = now;
        self.last_seen = now;
    }

    /// Whether its stream still counts as alive: connected, and heard from
    /// within three intervals (at least [`TAKEOVER_AFTER_MIN`]). A stream
    /// silent for longer (a half-open connection after a crash) may be
    /// taken over by a new run.
    pub fn stream_alive(&self, now: SystemTime) -> bool {
        let quiet = now.duration_since(self.last_seen).unwrap_or_default();
        self.connected && quiet < (self.identity.interval * 3).max(TAKEOVER_AFTER_MIN)
    }

    /// Whether `identity` is this agent's own run reconnecting: it may
    /// replace its stream (the old one is dead, or about to be). An agent
    /// that does not say its run is never taken for the same one.
    pub fn same_run(&self, identity: &AgentIdentity) -> bool {
        !identity.run_id.is_empty() && identity.run_id == self.identity.run_id
    }

    /// Takes a report in. Returns the outcome and, when accepted, how many
    /// requests the backend served since the previous report.
    pub fn accept(
        &mut self,
        mut report: Report,
        now: SystemTime,
        traffic_window: Duration,
    ) -> (ReportOutcome, u64) {
        let outcome = self.check(&report);
        if outcome != ReportOutcome::Accepted {
            return (outcome, 0);
        }
        let previous = self.latest.as_ref().and_then(|last| last.traffic.as_ref());
        if let Err(problem) = check_ranges(&mut report, previous) {
            return (ReportOutcome::Invalid(problem), 0);
        }
        let refused = refuse_unknown_values(&mut report);
        let agents_time = report
            .observed_at
            .as_ref()
            .and_then(from_timestamp)
            .unwrap_or(now);
        // Every time the rules measure is on our timeline (one timeline).
        let observed_at = self.clock.map(now, agents_time);
        self.track_failures(&report, observed_at);
        let added = match &report.traffic {
            Some(counters) => {
                self.traffic
                    .push(observed_at, Counters::from_report(counters), traffic_window)
            }
            None => 0,
        };
        self.last_sequence = report.sequence;
        self.last_seen = now;
        self.last_observed = observed_at;
        self.latest = Some(report);
        if refused.is_empty() {
            (ReportOutcome::Accepted, added)
        } else {
            (ReportOutcome::Refused(refused.join("; ")), added)
        }
    }

    fn check(&self, report: &Report) -> ReportOutcome {
        if let Some(problem) = malformed(report) {
            return ReportOutcome::Invalid(problem);
        }
        if report.sequence == self.last_sequence {
            return ReportOutcome::Duplicate;
        }
        if report.sequence < self.last_sequence {
            return ReportOutcome::OutOfOrder;
        }
        ReportOutcome::Accepted
    }

    fn track_failures(&mut self, report: &Report, observed_at: SystemTime) {
        if self.failing.is_empty() && !report.checks.iter().any(is_failing) {
            return; // the common case: nothing failing, nothing to allocate
        }
        let mut failing = BTreeMap::new();
        for check in report.checks.iter().filter(|check| is_failing(check)) {
            let key = check_key(check);
            let next = match self.failing.get(&key) {
                Some(before) => Failing {
                    since: before.since,
                    reports: before.reports.saturating_add(1),
                },
                None => Failing {
                    since: observed_at,
                    reports: 1,
                },
            };
            failing.insert(key, next);
        }
        self.failing = failing;
    }

    /// Whether check `key` fails in the latest report.
    pub fn fails(&self, key: &str) -> bool {
        self.failing.contains_key(key)
    }

    /// Whether any of this agent's latest checks fails.
    pub fn any_failing(&self) -> bool {
        !self.failing.is_empty()
    }

    pub fn stale_after(&self, intervals: u32) -> Duration {
        self.identity.interval * intervals
    }

    /// Fresh = its latest observation is within `intervals` report
    /// intervals of now, on our timeline.
    pub fn is_fresh(&self, now: SystemTime, intervals: u32) -> bool {
        self.latest.is_some()
            && (self.silence(now) <= self.stale_after(intervals)
                || self.grace_until.is_some_and(|until| now < until))
    }

    /// How old its latest observation is (or its connection, before any).
    pub fn silence(&self, now: SystemTime) -> Duration {
        now.duration_since(self.last_observed).unwrap_or_default()
    }

    /// Connected less than one interval ago and no report yet: not missing,
    /// only new (a scale-out is no HOLD).
    pub fn is_new(&self, now: SystemTime) -> bool {
        self.latest.is_none()
            && self.connected
            && now.duration_since(self.connected_at).unwrap_or_default() < self.identity.interval
    }

    /// When it stops being new or fresh: the engine must look again then.
    pub fn next_change(&self, intervals: u32, forget_after: Duration) -> SystemTime {
        if self.latest.is_none() {
            return self.connected_at + self.identity.interval;
        }
        let mut stale = self.last_observed + self.stale_after(intervals) + Duration::from_millis(1);
        if let Some(until) = self.grace_until {
            stale = stale.max(until);
        }
        if self.connected {
            stale
        } else {
            stale.min(self.last_observed + forget_after)
        }
    }

    pub fn failing_checks(&self) -> impl Iterator<Item = &CheckResult> {
        self.latest
            .iter()
            .flat_map(|report| report.checks.iter())
            .filter(|check| is_failing(check))
    }
}
