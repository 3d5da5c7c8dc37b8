//! What the engine knows about one agent: who it is, its latest report, and
//! since when each of its checks has been failing.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use greenlight_proto::time::from_timestamp;
use greenlight_proto::v1::{CheckResult, CheckStatus, Color, Report};

/// Identity of an agent within one deployment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentKey {
    pub deployment: String,
    pub color: Color,
    pub instance_id: String,
}

/// The Hello's facts, kept for summaries.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentIdentity {
    pub agent_version: String,
    pub backend_version: String,
    pub run_id: String,
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
    /// No Hello registered this agent (or it was forgotten).
    UnknownAgent,
}

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
    pub last_sequence: u64,
    pub latest: Option<Report>,
    /// Per failing check (check/component), since when it has failed without a pass.
    pub failing_since: BTreeMap<String, SystemTime>,
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
    pub fn new(identity: AgentIdentity, connection: u64, now: SystemTime) -> Self {
        AgentState {
            identity,
            connection,
            connected: true,
            connected_at: now,
            last_seen: now,
            last_sequence: 0,
            latest: None,
            failing_since: BTreeMap::new(),
        }
    }

    /// A reconnect of the same agent. A new run (process restart) restarts
    /// its sequence numbers; the same run keeps them, so replayed reports
    /// that were already counted are recognised as duplicates.
    pub fn reconnect(&mut self, identity: AgentIdentity, connection: u64, now: SystemTime) {
        if identity.run_id != self.identity.run_id {
            self.last_sequence = 0;
        }
        self.identity = identity;
        self.connection = connection;
        self.connected = true;
        self.connected_at = now;
        self.last_seen = now;
    }

    pub fn accept(&mut self, report: Report, now: SystemTime) -> ReportOutcome {
        if report.sequence == 0 {
            return ReportOutcome::Invalid("report.sequence: must start at 1".into());
        }
        if let Some(bad) = report.checks.iter().find(|check| check.check.is_empty()) {
            return ReportOutcome::Invalid(format!(
                "report.checks.check: empty check name (component {:?})",
                bad.component
            ));
        }
        if report.sequence == self.last_sequence {
            return ReportOutcome::Duplicate;
        }
        if report.sequence < self.last_sequence {
            return ReportOutcome::OutOfOrder;
        }
        let observed_at = report
            .observed_at
            .as_ref()
            .and_then(from_timestamp)
            .unwrap_or(now);
        self.track_failures(&report, observed_at);
        self.last_sequence = report.sequence;
        self.last_seen = now;
        self.latest = Some(report);
        ReportOutcome::Accepted
    }

    fn track_failures(&mut self, report: &Report, observed_at: SystemTime) {
        let mut failing = BTreeMap::new();
        for check in report.checks.iter().filter(|check| is_failing(check)) {
            let key = check_key(check);
            let since = self.failing_since.get(&key).copied().unwrap_or(observed_at);
            failing.insert(key, since);
        }
        self.failing_since = failing;
    }

    pub fn stale_after(&self, intervals: u32) -> Duration {
        self.identity.interval * intervals
    }

    /// Fresh = heard from within `intervals` report intervals.
    pub fn is_fresh(&self, now: SystemTime, intervals: u32) -> bool {
        self.latest.is_some() && self.silence(now) <= self.stale_after(intervals)
    }

    pub fn silence(&self, now: SystemTime) -> Duration {
        now.duration_since(self.last_seen).unwrap_or_default()
    }

    pub fn failing_checks(&self) -> impl Iterator<Item = &CheckResult> {
        self.latest
            .iter()
            .flat_map(|report| report.checks.iter())
            .filter(|check| is_failing(check))
    }
}
