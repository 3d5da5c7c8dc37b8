//! A simulated blue/green pair for scenarios: one agent per color reporting
//! once a second, with traffic counters that grow at a chosen rate, error
//! ratio and latency, and checks that pass or fail on command.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use greenlight_proto::v1::{
    Action, CheckResult, CheckStatus, Color, Hello, Report, TrafficCounters, Verdict,
};

use crate::engine::{
    AgentKey, Alert, DeploymentSettings, Engine, PhaseEntry, ReportOutcome, SwitchOutcome,
};

pub const NAME: &str = "escashop";

pub fn at(seconds: f64) -> SystemTime {
    // Seconds from a fixed start; negative for a clock that runs behind.
    UNIX_EPOCH + Duration::from_secs_f64(1_800_000_000.0 + seconds)
}

/// Settings for scenarios: the guide's rules, a 10 s readiness window.
pub fn settings() -> DeploymentSettings {
    DeploymentSettings {
        ready_after: Duration::from_secs(10),
        ..DeploymentSettings::default()
    }
}

/// What one side does for a second.
#[derive(Debug, Clone)]
pub struct Behaviour {
    pub rps: u64,
    pub error_ratio: f64,
    pub latency_seconds: f64,
    /// Checks that fail (name, error); every other check passes. A name
    /// with a slash is a component ("postgres/schema"), reported only
    /// while it fails.
    pub failing: Vec<(&'static str, &'static str)>,
    /// Whether the agent reports at all this second.
    pub reporting: bool,
}

impl Behaviour {
    pub fn healthy(rps: u64) -> Self {
        Behaviour {
            rps,
            error_ratio: 0.0,
            latency_seconds: 0.05,
            failing: Vec::new(),
            reporting: true,
        }
    }

    pub fn errors(mut self, ratio: f64) -> Self {
        self.error_ratio = ratio;
        self
    }

    pub fn latency(mut self, seconds: f64) -> Self {
        self.latency_seconds = seconds;
        self
    }

    pub fn failing(mut self, check: &'static str, error: &'static str) -> Self {
        self.failing.push((check, error));
        self
    }

    pub fn silent(mut self) -> Self {
        self.reporting = false;
        self
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Side {
    sequence: u64,
    requests: u64,
    errors: u64,
    /// Fractional errors carried to the next second, so ratios are exact.
    error_carry: f64,
    duration_sum: f64,
}

pub struct Sim {
    pub engine: Engine,
    pub now: f64,
    sides: BTreeMap<i32, Side>,
    pub actions: Vec<(Action, u64)>,
    pub alerts: Vec<Alert>,
    pub verdicts: Vec<Verdict>,
    /// Phases entered, as the phase hooks are told.
    pub phases: Vec<PhaseEntry>,
    /// Test gates ordered to run.
    pub gates: Vec<crate::engine::GateOrder>,
    run_of: BTreeMap<i32, String>,
    /// Each side's agent clock minus ours, in seconds.
    pub skew: BTreeMap<i32, f64>,
    /// Reports the agents took while the engine could not hear them.
    backlog: Vec<(Color, Report)>,
}

pub const CHECKS: [&str; 4] = ["postgres", "redis", "http", "websocket"];

impl Sim {
    pub fn new(settings: DeploymentSettings) -> Sim {
        Sim::with_agents(settings, &[Color::Blue, Color::Green])
    }

    /// Only these colors' agents connect.
    pub fn with_agents(settings: DeploymentSettings, colors: &[Color]) -> Sim {
        let configured = BTreeMap::from([(NAME.to_string(), settings.clone())]);
        let engine = Engine::new(settings, configured, &BTreeMap::new(), at(0.0)).unwrap();
        let mut sim = Sim {
            engine,
            now: 0.0,
            sides: BTreeMap::new(),
            actions: Vec::new(),
            alerts: Vec::new(),
            verdicts: Vec::new(),
            phases: Vec::new(),
            gates: Vec::new(),
            run_of: BTreeMap::new(),
            skew: BTreeMap::new(),
            backlog: Vec::new(),
        };
        for color in colors {
            let run = format!("run-{}-1", greenlight_proto::names::color_name(*color));
            sim.connect(*color, &run);
        }
        sim
    }

    pub fn key(color: Color) -> AgentKey {
        AgentKey {
            deployment: NAME.into(),
            color,
            instance_id: format!("{}-1", greenlight_proto::names::color_name(color)),
        }
    }

    /// An agent (re)connects; a new `run` means a new process (a redeploy).
    pub fn connect(&mut self, color: Color, run: &str) {
        let hello = Hello {
            deployment: NAME.into(),
            color: color as i32,
            instance_id: Self::key(color).instance_id,
            report_interval_ms: 1000,
            run_id: run.into(),
            ..Default::default()
        };
        if self.run_of.get(&(color as i32)).map(String::as_str) != Some(run) {
            // A new run is a new process: the old one's stream ended first
            // (a live stream of another run would be refused).
            if self.run_of.contains_key(&(color as i32)) {
                self.engine.disconnected(&Self::key(color), 1, at(self.now));
            }
            self.sides.insert(color as i32, Side::default());
            self.run_of.insert(color as i32, run.into());
        }
        self.engine.hello(&hello, 1, at(self.now)).unwrap();
        self.collect();
    }

    pub fn disconnect(&mut self, color: Color) {
        self.engine.disconnected(&Self::key(color), 1, at(self.now));
        self.collect();
    }

    /// The report `color` would send now, counters advanced by one second.
    pub fn next_report(&mut self, color: Color, behaviour: &Behaviour) -> Report {
        let side = self.sides.entry(color as i32).or_default();
        side.sequence += 1;
        side.requests += behaviour.rps;
        side.error_carry += behaviour.rps as f64 * behaviour.error_ratio;
        let whole = side.error_carry.floor();
        side.errors += whole as u64;
        side.error_carry -= whole;
        side.duration_sum += behaviour.rps as f64 * behaviour.latency_seconds;
        let mut checks: Vec<CheckResult> = CHECKS
            .iter()
            .map(|name| {
                let failing = behaviour.failing.iter().find(|(check, _)| check == name);
                let mut check = CheckResult {
                    check: name.to_string(),
                    error: failing
                        .map(|(_, error)| error.to_string())
                        .unwrap_or_default(),
                    ..Default::default()
                };
                check.set_status(if failing.is_some() {
                    CheckStatus::Fail
                } else {
                    CheckStatus::Pass
                });
                check
            })
            .collect();
        // A failing component ("postgres/schema") is one more result.
        for (name, error) in &behaviour.failing {
            if let Some((check, component)) = name.split_once('/') {
                let mut result = CheckResult {
                    check: check.to_string(),
                    component: component.to_string(),
                    error: error.to_string(),
                    ..Default::default()
                };
                result.set_status(CheckStatus::Fail);
                checks.push(result);
            }
        }
        Report {
            sequence: side.sequence,
            observed_at: Some(greenlight_proto::time::to_timestamp(at(
                self.now + self.skew.get(&(color as i32)).copied().unwrap_or(0.0)
            ))),
            checks,
            traffic: Some(TrafficCounters {
                requests_total: side.requests,
                errors_total: side.errors,
                request_duration_seconds_sum: side.duration_sum,
                request_duration_seconds_count: side.requests,
                ..Default::default()
            }),
            dropped_reports: 0,
            traceparent: String::new(),
        }
    }

    pub fn send(&mut self, color: Color, report: Report) -> ReportOutcome {
        let outcome = self.engine.report(&Self::key(color), report, at(self.now));
        self.collect();
        outcome
    }

    /// One second: each side reports (if it does), then time moves on.
    pub fn second(&mut self, blue: &Behaviour, green: &Behaviour) {
        for (color, behaviour) in [(Color::Blue, blue), (Color::Green, green)] {
            if behaviour.reporting {
                let report = self.next_report(color, behaviour);
                assert_eq!(self.send(color, report), ReportOutcome::Accepted);
            }
        }
        self.now += 1.0;
        self.engine.tick(at(self.now));
        self.collect();
        // As the shell does: ask when to wake next (it also tells the
        // engine when a step is late, i.e. when the aggregator stalled).
        self.engine.next_deadline();
    }

    /// The aggregator stalls (SIGSTOP, a frozen VM) for `seconds`: the
    /// agents go on observing and buffer their reports. Then it resumes:
    /// time is stepped first, then the backlog arrives in order.
    pub fn stall(&mut self, seconds: u32, blue: &Behaviour, green: &Behaviour) {
        for _ in 0..seconds {
            for (color, behaviour) in [(Color::Blue, blue), (Color::Green, green)] {
                if behaviour.reporting {
                    let report = self.next_report(color, behaviour);
                    self.backlog.push((color, report));
                }
            }
            self.now += 1.0;
        }
        self.engine.tick(at(self.now));
        self.collect();
        for (color, report) in std::mem::take(&mut self.backlog) {
            assert_eq!(self.send(color, report), ReportOutcome::Accepted);
        }
        self.engine.next_deadline();
    }

    /// The hook of the switch decided last finished with `outcome`.
    pub fn switch_done(&mut self, outcome: SwitchOutcome) -> bool {
        let (_, epoch) = *self.actions.last().expect("a decided action");
        let applied = self
            .engine
            .switch_finished(NAME, epoch, outcome, at(self.now));
        self.collect();
        applied
    }

    /// The load balancer, read back, says traffic goes to `color`.
    pub fn traffic_seen(&mut self, color: Color) {
        self.engine.traffic_observed(NAME, color, at(self.now));
        self.collect();
    }

    pub fn run(&mut self, seconds: u32, blue: &Behaviour, green: &Behaviour) {
        for _ in 0..seconds {
            self.second(blue, green);
        }
    }

    pub fn collect(&mut self) {
        let outputs = self.engine.take_outputs();
        self.actions
            .extend(outputs.actions.iter().map(|a| (a.action, a.epoch)));
        self.alerts.extend(outputs.alerts);
        self.phases.extend(outputs.phases);
        self.gates.extend(outputs.gates);
        self.verdicts.extend(outputs.verdicts);
    }

    pub fn verdict(&self) -> Verdict {
        self.engine.verdict(NAME, at(self.now)).expect("a verdict")
    }

    /// Healthy sides until green is READY, then a cutover call: baking.
    /// Blue served `blue` before; after cutover it stands by (no traffic).
    pub fn baking(settings: DeploymentSettings, blue: &Behaviour) -> Sim {
        let mut sim = Sim::new(settings);
        sim.ready_then_cut_over(blue);
        sim
    }

    /// Healthy sides until green is READY, then a cutover call.
    pub fn ready_then_cut_over(&mut self, blue: &Behaviour) {
        self.run(60, blue, &Behaviour::healthy(0));
        self.engine
            .cutover(NAME, false, "test", at(self.now))
            .expect("cutover of a READY candidate");
        self.collect();
    }

    pub fn rules_named(&self) -> Vec<String> {
        self.verdict()
            .reasons
            .iter()
            .map(|r| r.rule.clone())
            .collect()
    }
}
