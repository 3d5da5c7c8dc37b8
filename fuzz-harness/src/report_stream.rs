//! `report_stream`: what reaches the aggregator's engine from agents and
//! operators, in any order, with time passing: Hellos and reports as
//! protobuf bytes (as the gRPC stream decodes them), disconnects, wakeups
//! at the engine's own deadlines, cutover, rollback, pause, resume, and
//! switch outcomes.
//!
//! The input: one byte of settings (bit 0 `auto_cutover`, 1
//! `confirm_switch`, 2 `dry_run`, 3 `rollback_on_missing_data`, 4 green
//! live), then events. An event is one byte: the low 3 bits say what
//! (below), the high 5 bits `d` let `d² × 100 ms` pass first (up to 96 s).
//!
//! | op | event | then |
//! | -- | ----- | ---- |
//! | 0 | Hello | a length-delimited `Hello` |
//! | 1 | Report | agent byte, a length-delimited `Report` |
//! | 2 | the agent's stream ends | agent byte |
//! | 3 | the shell wakes the engine at its next deadline | |
//! | 4 | cutover | byte: bit 0 `force` |
//! | 5 | rollback | |
//! | 6 | pause (even byte) or resume (odd) | byte |
//! | 7 | the latest switch succeeded (even byte) or failed (odd); or traffic seen on a color (bit 1) | byte |
//!
//! An agent byte picks one of the agents let in so far (modulo their
//! number); controls act on the deployment of the latest one.
//!
//! Promises checked ([`crate::aggregator`]): no panic; epochs only grow; a
//! report the engine refuses or ignores changes nothing; every verdict's
//! JSON reads back; the saved state restores after a restart.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use greenlight_aggregator::engine::{AgentKey, DeploymentSettings, ReportOutcome, SwitchOutcome};
use greenlight_proto::v1::{Color, Hello, Report};
use prost::Message;

use crate::aggregator::{Watched, reads_back, start};

/// Events read from one input at most: a longer story finds nothing a
/// shorter one does not, and slows every run.
const MAX_EVENTS: usize = 512;

pub fn run(data: &[u8]) {
    if let Some(stream) = play(data) {
        stream.watched.restart(stream.now);
    }
}

/// The engine after the events of `data`.
fn play(data: &[u8]) -> Option<Stream> {
    let (&flags, mut input) = data.split_first()?;
    let mut stream = Stream::new(settings(flags));
    for _ in 0..MAX_EVENTS {
        let Some(op) = byte(&mut input) else {
            break;
        };
        let delay = u64::from(op >> 3);
        stream.now += Duration::from_millis(delay * delay * 100);
        let read = match op & 7 {
            0 => Hello::decode_length_delimited(&mut input).map(|hello| stream.hello(&hello)),
            1 => {
                let agent = byte(&mut input).unwrap_or(0);
                Report::decode_length_delimited(&mut input).map(|r| stream.report(agent, r))
            }
            other => {
                stream.control(other, byte(&mut input).unwrap_or(0));
                Ok(())
            }
        };
        if read.is_err() {
            break;
        }
    }
    Some(stream)
}

fn settings(flags: u8) -> DeploymentSettings {
    let mut settings = DeploymentSettings {
        auto_cutover: flags & 1 != 0,
        confirm_switch: flags & 2 != 0,
        dry_run: flags & 4 != 0,
        rollback_on_missing_data: flags & 8 != 0,
        ..DeploymentSettings::default()
    };
    if flags & 16 != 0 {
        settings.live = Color::Green;
    }
    settings
}

fn byte(input: &mut &[u8]) -> Option<u8> {
    let (&first, rest) = input.split_first()?;
    *input = rest;
    Some(first)
}

/// The engine as the aggregator's streams and control calls drive it.
struct Stream {
    watched: Watched,
    now: SystemTime,
    /// Agents let in, with the connection that owns each.
    agents: Vec<(AgentKey, u64)>,
    connections: u64,
    /// The latest action decided: (deployment, epoch).
    action: Option<(String, u64)>,
}

impl Stream {
    fn new(settings: DeploymentSettings) -> Self {
        let now = start();
        Stream {
            watched: Watched::new(settings, BTreeMap::new(), now),
            now,
            agents: Vec::new(),
            connections: 0,
            action: None,
        }
    }

    fn hello(&mut self, hello: &Hello) {
        self.connections += 1;
        let connection = self.connections;
        if let Ok((key, _)) = self.watched.engine.hello(hello, connection, self.now) {
            match self.agents.iter_mut().find(|(known, _)| *known == key) {
                Some(agent) => agent.1 = connection,
                None => self.agents.push((key, connection)),
            }
        }
        self.outputs();
    }

    fn agent(&self, pick: u8) -> Option<(AgentKey, u64)> {
        let count = self.agents.len();
        (count > 0).then(|| self.agents[usize::from(pick) % count].clone())
    }

    fn report(&mut self, agent: u8, report: Report) {
        let Some((key, _)) = self.agent(agent) else {
            return;
        };
        let outcome = self.watched.engine.report(&key, report, self.now);
        let outputs = self.outputs();
        if !matches!(outcome, ReportOutcome::Accepted | ReportOutcome::Refused(_)) {
            assert!(
                outputs.is_empty(),
                "a report answered {outcome:?} changed the engine's outputs: {outputs:?}"
            );
        }
    }

    fn control(&mut self, op: u8, arg: u8) {
        let deployment = self
            .agents
            .last()
            .map_or_else(|| "fuzz".to_string(), |(key, _)| key.deployment.clone());
        let now = self.now;
        let engine = &mut self.watched.engine;
        let answered = match op {
            2 => {
                if let Some((key, connection)) = self.agent(arg) {
                    self.watched.engine.disconnected(&key, connection, now);
                }
                None
            }
            3 => {
                if let Some(deadline) = engine.next_deadline() {
                    self.now = self.now.max(deadline);
                }
                engine.tick(self.now);
                None
            }
            4 => Some(engine.cutover(&deployment, arg & 1 != 0, "fuzz", now)),
            5 => Some(engine.rollback(&deployment, "fuzz", "fuzz", now)),
            6 if arg & 1 == 0 => Some(engine.pause(&deployment, "fuzz", "fuzz", now)),
            6 => Some(engine.resume(&deployment, "fuzz", now)),
            _ if arg & 2 != 0 => {
                let on = if arg & 1 == 0 {
                    Color::Blue
                } else {
                    Color::Green
                };
                engine.traffic_observed(&deployment, on, now);
                None
            }
            _ => {
                if let Some((name, epoch)) = self.action.clone() {
                    let outcome = if arg & 1 == 0 {
                        SwitchOutcome::Succeeded
                    } else {
                        SwitchOutcome::Failed("exit status 1".into())
                    };
                    engine.switch_finished(&name, epoch, outcome, now);
                }
                None
            }
        };
        if let Some(Ok(outcome)) = answered {
            reads_back(&outcome.verdict);
        }
        self.outputs();
    }

    fn outputs(&mut self) -> greenlight_aggregator::engine::Outputs {
        let outputs = self.watched.outputs();
        if let Some(action) = outputs.actions.last() {
            self.action = Some((action.deployment.clone(), action.epoch));
        }
        outputs
    }
}

/// Writes inputs in the format above: the seeds of the corpus
/// (`examples/report_stream_seeds.rs`) and the tests.
pub struct Script(Vec<u8>);

impl Script {
    /// A script whose first byte is `flags`.
    pub fn new(flags: u8) -> Self {
        Script(vec![flags])
    }

    /// After `d² × 100 ms` (`d` < 32), event `op` with its argument bytes.
    pub fn event(mut self, d: u8, op: u8, args: &[u8]) -> Self {
        self.0.push((d << 3) | op);
        self.0.extend_from_slice(args);
        self
    }

    pub fn hello(self, d: u8, hello: &Hello) -> Self {
        self.event(d, 0, &hello.encode_length_delimited_to_vec())
    }

    pub fn report(self, d: u8, agent: u8, report: &Report) -> Self {
        let mut args = vec![agent];
        args.extend(report.encode_length_delimited_to_vec());
        self.event(d, 1, &args)
    }

    pub fn bytes(self) -> Vec<u8> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use greenlight_proto::v1::{CheckKind, CheckResult, CheckStatus, Decision, TrafficCounters};

    use super::*;

    fn hello(color: Color, instance: &str) -> Hello {
        Hello {
            deployment: "shop".into(),
            color: color as i32,
            instance_id: instance.into(),
            report_interval_ms: 1000,
            run_id: "run-1".into(),
            ..Default::default()
        }
    }

    fn passing(sequence: u64) -> Report {
        Report {
            sequence,
            checks: vec![CheckResult {
                check: "http".into(),
                kind: CheckKind::Http as i32,
                status: CheckStatus::Pass as i32,
                ..Default::default()
            }],
            traffic: Some(TrafficCounters {
                requests_total: sequence * 100,
                request_duration_seconds_count: sequence * 100,
                request_duration_seconds_sum: sequence as f64,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The format reaches the engine: a healthy candidate reporting every
    /// 0.9 s for 36 s is READY.
    #[test]
    fn a_script_tells_the_engine_a_story() {
        let mut script = Script::new(0)
            .hello(0, &hello(Color::Blue, "blue-1"))
            .hello(0, &hello(Color::Green, "green-1"));
        for sequence in 1..=40 {
            script = script
                .report(3, 0, &passing(sequence))
                .report(0, 1, &passing(sequence));
        }
        let stream = play(&script.bytes()).unwrap();
        let verdict = stream.watched.engine.latest_verdict("shop").unwrap();
        assert_eq!(verdict.decision(), Decision::Ready, "{verdict:#?}");
    }
}
