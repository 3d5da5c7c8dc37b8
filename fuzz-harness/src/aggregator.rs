//! The aggregator's side of every target: its engine, and the promises its
//! outputs keep whatever came in. Epochs only grow (fencing); every
//! verdict's JSON reads back as it was written (no NaN, no time that has
//! no RFC 3339 text); the state saved to Redis restores into a new engine.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use greenlight_aggregator::engine::{
    AgentKey, DeploymentSettings, Engine, Outputs, ReportOutcome, SavedState,
};
use greenlight_proto::json::VerdictJson;
use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::{CheckResult, Color, Hello, Report, TrafficCounters, Verdict};

/// Where every target's clock starts: 2026-12-02T00:00:00Z.
pub fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_796_169_600)
}

/// An engine and what its outputs have said so far.
pub struct Watched {
    pub engine: Engine,
    /// Settings of every deployment (none is configured by name).
    settings: DeploymentSettings,
    /// The latest epoch of each deployment's verdicts.
    epochs: BTreeMap<String, u64>,
    /// The latest state of each deployment, as it would be saved.
    states: BTreeMap<String, SavedState>,
}

impl Watched {
    pub fn new(
        defaults: DeploymentSettings,
        configured: BTreeMap<String, DeploymentSettings>,
        now: SystemTime,
    ) -> Self {
        let engine = Engine::new(defaults.clone(), configured, &BTreeMap::new(), now)
            .expect("nothing restored: nothing to refuse");
        let mut watched = Watched {
            engine,
            settings: defaults,
            epochs: BTreeMap::new(),
            states: BTreeMap::new(),
        };
        watched.outputs();
        watched
    }

    /// Takes the engine's outputs and checks their promises.
    pub fn outputs(&mut self) -> Outputs {
        let outputs = self.engine.take_outputs();
        for verdict in &outputs.verdicts {
            let before = self
                .epochs
                .insert(verdict.deployment.clone(), verdict.epoch);
            if let Some(before) = before {
                assert!(
                    verdict.epoch > before,
                    "{}: epoch {} after {before}",
                    verdict.deployment,
                    verdict.epoch
                );
            }
            reads_back(verdict);
        }
        for (name, state) in &outputs.states {
            self.states.insert(name.clone(), state.clone());
        }
        outputs
    }

    /// A restarted aggregator takes the saved states back: each one as
    /// written to Redis (JSON), read and restored.
    pub fn restart(&self, now: SystemTime) {
        let mut restored = BTreeMap::new();
        for (name, state) in &self.states {
            let json = serde_json::to_string(state).expect("a state is JSON");
            let read: SavedState = serde_json::from_str(&json)
                .unwrap_or_else(|error| panic!("{name}: saved state {json} reads back: {error}"));
            restored.insert(name.clone(), read);
        }
        if let Err(error) = Engine::new(self.settings.clone(), BTreeMap::new(), &restored, now) {
            panic!("the saved states do not restore: {error}");
        }
    }
}

/// A verdict's JSON (Redis, `greenlight verdict --json`) reads back: every
/// number a number, every time RFC 3339. (Not bit for bit: serde_json
/// reads a float's last digit back approximately.)
pub fn reads_back(verdict: &Verdict) {
    let json = VerdictJson::from(verdict);
    let text = serde_json::to_string(&json).expect("a verdict is JSON");
    if let Err(error) = serde_json::from_str::<VerdictJson>(&text) {
        panic!("verdict JSON {text} does not read back: {error}");
    }
}

/// An aggregator that one agent (`green-1` of `fuzz`) said Hello to: what
/// an honest agent sends must be taken as sent.
pub struct Gate {
    watched: Watched,
    key: AgentKey,
    sequence: u64,
    now: SystemTime,
}

impl Default for Gate {
    fn default() -> Self {
        let now = start();
        let mut watched = Watched::new(DeploymentSettings::default(), BTreeMap::new(), now);
        let hello = Hello {
            deployment: "fuzz".into(),
            color: Color::Green as i32,
            instance_id: "green-1".into(),
            agent_version: "fuzz".into(),
            report_interval_ms: 1000,
            run_id: "run-1".into(),
            ..Default::default()
        };
        let (key, _) = watched.engine.hello(&hello, 1, now).expect("a good Hello");
        watched.outputs();
        Gate {
            watched,
            key,
            sequence: 0,
            now,
        }
    }
}

impl Gate {
    /// Sends the next report, a second after the last; panics unless it is
    /// accepted whole (`what`: the input, for the message).
    pub fn must_accept(
        &mut self,
        checks: Vec<CheckResult>,
        traffic: Option<TrafficCounters>,
        what: &dyn std::fmt::Debug,
    ) {
        self.sequence += 1;
        self.now += Duration::from_secs(1);
        let report = Report {
            sequence: self.sequence,
            observed_at: Some(to_timestamp(self.now)),
            checks,
            traffic,
            dropped_reports: 0,
            traceparent: String::new(),
        };
        let sent = report.clone();
        let outcome = self.watched.engine.report(&self.key, report, self.now);
        assert_eq!(
            outcome,
            ReportOutcome::Accepted,
            "the agent's report for {what:?} is not taken: {sent:#?}"
        );
        self.watched.outputs();
    }
}
