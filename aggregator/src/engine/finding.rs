//! Findings: the engine's reasons as values. They become the verdict's
//! `Reason`s (with a readable message) only when a verdict is built, so an
//! evaluation allocates nothing when nothing is wrong.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use greenlight_proto::names::color_name;
use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::{Color, Reason};

/// The rule that speaks. The names are part of the verdict contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    // Readiness.
    NoAgents,
    NoReports,
    AgentStale,
    CheckFailed,
    ReadinessWindow,
    /// A test gate failed or timed out: NOT_READY before cutover, a
    /// rollback trigger after.
    GateFailed,
    // Rollback triggers.
    HealthFailing,
    DatabaseLost,
    ErrorRatio,
    Latency,
    BaselineRegression,
    MissingData,
    // Why the engine holds instead of acting.
    SharedDependency,
    RollbackTargetUnhealthy,
    RollbackTargetIncompatible,
    RollbackFailed,
    BakeInconclusive,
    Paused,
    // Information.
    Inconclusive,
    BakeWindow,
    DryRun,
    ManualGate,
    RolledBack,
    AwaitingDeploy,
    Restoring,
    CutoverFailed,
    Switching,
    AwaitingEvidence,
    BaselineMissing,
    ClockSkew,
    ExternalSwitch,
    TrafficDrift,
    GateRunning,
    GatePassed,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::NoAgents => "no_agents",
            Rule::NoReports => "no_reports",
            Rule::AgentStale => "agent_stale",
            Rule::CheckFailed => "check_failed",
            Rule::ReadinessWindow => "readiness_window",
            Rule::GateFailed => "gate_failed",
            Rule::HealthFailing => "health_failing",
            Rule::DatabaseLost => "database_lost",
            Rule::ErrorRatio => "error_ratio",
            Rule::Latency => "latency",
            Rule::BaselineRegression => "baseline_regression",
            Rule::MissingData => "missing_data",
            Rule::SharedDependency => "shared_dependency",
            Rule::RollbackTargetUnhealthy => "rollback_target_unhealthy",
            Rule::RollbackTargetIncompatible => "rollback_target_incompatible",
            Rule::BakeInconclusive => "bake_inconclusive",
            Rule::Paused => "paused",
            Rule::Inconclusive => "inconclusive",
            Rule::BakeWindow => "bake_window",
            Rule::DryRun => "dry_run",
            Rule::ManualGate => "manual_gate",
            Rule::RolledBack => "rolled_back",
            Rule::AwaitingDeploy => "awaiting_deploy",
            Rule::Restoring => "restoring",
            Rule::RollbackFailed => "rollback_failed",
            Rule::CutoverFailed => "cutover_failed",
            Rule::Switching => "switching",
            Rule::AwaitingEvidence => "awaiting_evidence",
            Rule::BaselineMissing => "baseline_missing",
            Rule::ClockSkew => "clock_skew",
            Rule::ExternalSwitch => "external_switch",
            Rule::TrafficDrift => "traffic_drift",
            Rule::GateRunning => "gate_running",
            Rule::GatePassed => "gate_passed",
        }
    }
}

/// One reason, as a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: Rule,
    pub color: Color,
    pub agent: String,
    pub check: String,
    pub observed: f64,
    pub unit: Cow<'static, str>,
    pub threshold: f64,
    pub error: String,
    pub since: Option<SystemTime>,
    /// The readable sentence, without the color/agent prefix.
    pub text: Text,
}

/// A finding's sentence. Most are written when found. The bake's progress
/// is in every evaluation of a healthy bake, so it is written only when a
/// verdict shows it: formatting its numbers on every report cost a fifth
/// of a report (perf, `report/history_1000`, 2026-12-02).
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    Written(String),
    BakeProgress {
        left_seconds: f64,
        bake_seconds: f64,
        requests: u64,
    },
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text::Written(text)
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Text::Written(text.to_string())
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Text::Written(text) => f.write_str(text),
            Text::BakeProgress {
                left_seconds,
                bake_seconds,
                requests,
            } => write!(
                f,
                "baking: {left_seconds:.0} s left of {bake_seconds:.0} s, {requests} requests served so far"
            ),
        }
    }
}

impl Finding {
    pub fn new(rule: Rule, color: Color, text: impl Into<Text>) -> Self {
        Finding {
            rule,
            color,
            agent: String::new(),
            check: String::new(),
            observed: 0.0,
            unit: Cow::Borrowed(""),
            threshold: 0.0,
            error: String::new(),
            since: None,
            text: text.into(),
        }
    }

    pub fn agent(mut self, agent: &str) -> Self {
        self.agent = agent.to_string();
        self
    }

    pub fn check(mut self, check: &str) -> Self {
        self.check = check.to_string();
        self
    }

    pub fn observed(
        mut self,
        observed: f64,
        unit: impl Into<Cow<'static, str>>,
        threshold: f64,
    ) -> Self {
        self.observed = observed;
        self.unit = unit.into();
        self.threshold = threshold;
        self
    }

    pub fn error(mut self, error: &str) -> Self {
        self.error = error.to_string();
        self
    }

    pub fn since(mut self, since: SystemTime) -> Self {
        self.since = Some(since);
        self
    }

    pub fn to_reason(&self) -> Reason {
        let who = match (self.agent.is_empty(), self.check.is_empty()) {
            (true, _) => color_name(self.color).to_string(),
            (false, true) => format!("{} agent {}", color_name(self.color), self.agent),
            (false, false) => format!(
                "{} agent {}, check {}",
                color_name(self.color),
                self.agent,
                self.check
            ),
        };
        let mut reason = Reason {
            rule: self.rule.name().to_string(),
            agent: self.agent.clone(),
            check: self.check.clone(),
            observed_value: self.observed,
            observed_unit: self.unit.to_string(),
            threshold: self.threshold,
            error: self.error.clone(),
            since: self.since.map(to_timestamp),
            message: format!("{}: {who}: {}", self.rule.name(), self.text),
            ..Default::default()
        };
        reason.set_color(self.color);
        reason
    }
}
