//! How fast the verdict engine takes reports in (issue 4): at least 100k
//! reports per second on one core, and a report costs the same however many
//! came before it.
//!
//! A deployment with two blue and two green agents, each reporting once a
//! second: five passing checks (postgres, redis, http, websocket, traffic)
//! with their details, and traffic counters growing at 100 requests per
//! second with 0.5% errors. Reports are built ahead, outside the timed
//! region, in chunks of at most [`CHUNK`]; the timed region moves each one
//! into `Engine::report` and then calls `Engine::take_outputs`, as the shell
//! does after every engine call. No `tick` runs: every agent stays fresh.
//!
//! - `report/pre_cutover`: the candidate is READY and waiting for cutover.
//! - `report/baking`: after cutover, the bake's rules (traffic windows,
//!   hysteresis, the baseline test) run on every candidate report.
//! - `report/history_N`: baking, after N reports since the engine started;
//!   reports N+1 to 2N are timed, and the engine is built again (untimed)
//!   when it reaches 2N, so the history stays within [N, 2N).
//!
//! The bakes last a year (`bake_for`) so that the deployment stays Baking
//! for as long as the benchmark runs.
//!
//! Run: `cargo bench -p greenlight-aggregator --bench engine`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use greenlight_aggregator::engine::{AgentKey, DeploymentSettings, Engine, ReportOutcome};
use greenlight_bench::simulated::five_checks;
use greenlight_proto::time::to_timestamp;
use greenlight_proto::v1::{Color, Hello, Phase, Report, TrafficCounters};

const NAME: &str = "escashop";
const AGENTS: [(Color, &str); 4] = [
    (Color::Blue, "blue-1"),
    (Color::Blue, "blue-2"),
    (Color::Green, "green-1"),
    (Color::Green, "green-2"),
];
/// Per agent.
const RPS: u64 = 100;
const ERROR_RATIO: f64 = 0.005;
const LATENCY_SECONDS: f64 = 0.045;
/// Reports built ahead at a time (about 10 MB).
const CHUNK: u64 = 10_000;
/// Seconds of reports before the checks: the candidate is READY after 30.
const WARM_UP_SECONDS: u64 = 40;
const HISTORIES: [u64; 3] = [1_000, 100_000, 1_000_000];

fn at(seconds: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000) + Duration::from_secs_f64(seconds)
}

fn settings() -> DeploymentSettings {
    DeploymentSettings {
        bake_for: Duration::from_secs(365 * 24 * 3600),
        ..DeploymentSettings::default()
    }
}

/// One simulated agent's counters.
struct Agent {
    key: AgentKey,
    sequence: u64,
    requests: u64,
    errors: u64,
    /// Fractional errors carried to the next report, so the ratio is exact.
    error_carry: f64,
    duration_sum: f64,
}

impl Agent {
    fn new(color: Color, instance: &str) -> Self {
        Agent {
            key: AgentKey {
                deployment: NAME.into(),
                color,
                instance_id: instance.into(),
            },
            sequence: 0,
            requests: 0,
            errors: 0,
            error_carry: 0.0,
            duration_sum: 0.0,
        }
    }

    fn hello(&self) -> Hello {
        Hello {
            deployment: NAME.into(),
            color: self.key.color as i32,
            instance_id: self.key.instance_id.clone(),
            agent_version: "0.1.0".into(),
            backend_version: "2.4.1".into(),
            report_interval_ms: 1000,
            run_id: format!("run-{}", self.key.instance_id),
        }
    }

    /// The next report, one second after the previous one.
    fn report(&mut self, observed_at: SystemTime) -> Report {
        self.sequence += 1;
        self.requests += RPS;
        self.error_carry += RPS as f64 * ERROR_RATIO;
        let whole = self.error_carry.floor();
        self.errors += whole as u64;
        self.error_carry -= whole;
        self.duration_sum += RPS as f64 * LATENCY_SECONDS;
        let jitter = (self.sequence % 7) as f64 * 0.0003;
        let checks = five_checks(jitter, false, LATENCY_SECONDS);
        Report {
            sequence: self.sequence,
            observed_at: Some(to_timestamp(observed_at)),
            checks,
            traffic: Some(TrafficCounters {
                requests_total: self.requests,
                errors_total: self.errors,
                request_duration_seconds_sum: self.duration_sum,
                request_duration_seconds_count: self.requests,
                websocket_connections: 40,
            }),
            dropped_reports: 0,
            traceparent: String::new(),
        }
    }
}

/// The four agents, reporting in turn, a quarter of a second apart.
struct Fleet {
    agents: Vec<Agent>,
    /// Reports built so far.
    built: u64,
}

/// A report ready to hand in: which agent, the report, the receive time.
type Delivery = (usize, Report, SystemTime);

impl Fleet {
    fn new() -> Self {
        Fleet {
            agents: AGENTS
                .iter()
                .map(|(color, instance)| Agent::new(*color, instance))
                .collect(),
            built: 0,
        }
    }

    fn next(&mut self) -> Delivery {
        let index = (self.built % self.agents.len() as u64) as usize;
        let second = self.built as f64 / self.agents.len() as f64;
        self.built += 1;
        let report = self.agents[index].report(at(second));
        // Received 2 ms after it was taken.
        (index, report, at(second + 0.002))
    }

    fn batch(&mut self, count: u64) -> Vec<Delivery> {
        (0..count).map(|_| self.next()).collect()
    }
}

/// An engine with its fleet, and how many reports it has taken.
struct Bench {
    engine: Engine,
    fleet: Fleet,
    processed: u64,
    /// New epochs (verdicts) that came out of the timed reports.
    timed_verdicts: u64,
    timed_reports: u64,
}

impl Bench {
    /// READY: the candidate has been healthy for longer than `ready_after`.
    fn ready() -> Self {
        let settings = settings();
        let configured = BTreeMap::from([(NAME.to_string(), settings.clone())]);
        let mut engine =
            Engine::new(settings, configured, &BTreeMap::new(), at(0.0)).expect("a fresh engine");
        let fleet = Fleet::new();
        for (connection, agent) in fleet.agents.iter().enumerate() {
            engine
                .hello(&agent.hello(), connection as u64, at(0.0))
                .expect("a valid hello");
        }
        engine.take_outputs();
        let mut bench = Bench {
            engine,
            fleet,
            processed: 0,
            timed_verdicts: 0,
            timed_reports: 0,
        };
        bench.feed(WARM_UP_SECONDS * AGENTS.len() as u64);
        bench.expect_phase(Phase::Ready);
        bench
    }

    /// Baking: READY, then a cutover.
    fn baking() -> Self {
        let mut bench = Bench::ready();
        let now = at(bench.fleet.built as f64 / AGENTS.len() as f64);
        bench
            .engine
            .cutover(NAME, false, "bench", now)
            .expect("cutover of a READY candidate");
        bench.engine.take_outputs();
        bench.expect_phase(Phase::Baking);
        bench
    }

    /// Baking, after `history` reports since the engine started.
    fn with_history(history: u64) -> Self {
        let mut bench = Bench::baking();
        let left = history.saturating_sub(bench.processed);
        bench.feed(left);
        bench.expect_phase(Phase::Baking);
        bench
    }

    fn expect_phase(&self, phase: Phase) {
        let verdict = self.engine.latest_verdict(NAME).expect("a verdict");
        assert_eq!(
            verdict.phase(),
            phase,
            "after {} reports: {:?}",
            self.processed,
            verdict.reasons
        );
    }

    /// Reports handed in without timing.
    fn feed(&mut self, count: u64) {
        let mut left = count;
        while left > 0 {
            let chunk = left.min(CHUNK);
            for (index, report, now) in self.fleet.batch(chunk) {
                let outcome = self
                    .engine
                    .report(&self.fleet.agents[index].key, report, now);
                assert_eq!(outcome, ReportOutcome::Accepted);
                self.engine.take_outputs();
            }
            self.processed += chunk;
            left -= chunk;
        }
    }

    /// `count` reports built ahead, then handed in under the clock.
    fn timed(&mut self, count: u64) -> Duration {
        let batch = self.fleet.batch(count);
        let keys: Vec<&AgentKey> = self.fleet.agents.iter().map(|agent| &agent.key).collect();
        let mut accepted = 0u64;
        let mut verdicts = 0usize;
        let start = Instant::now();
        for (index, report, now) in batch {
            let outcome = self.engine.report(keys[index], report, now);
            accepted += u64::from(outcome == ReportOutcome::Accepted);
            let outputs = black_box(self.engine.take_outputs());
            verdicts += outputs.verdicts.len();
        }
        let elapsed = start.elapsed();
        assert_eq!(accepted, count, "every report is accepted");
        self.processed += count;
        self.timed_reports += count;
        self.timed_verdicts += verdicts as u64;
        elapsed
    }

    fn summary(&self, name: &str) {
        let phase = self
            .engine
            .latest_verdict(NAME)
            .map(|verdict| verdict.phase())
            .unwrap_or(Phase::Unspecified);
        eprintln!(
            "{name}: {} reports timed, {} new verdicts among them; {} reports in all; phase {phase:?}",
            self.timed_reports, self.timed_verdicts, self.processed,
        );
    }
}

/// Times `iters` reports in chunks of at most `CHUNK`.
fn run(bench: &mut Bench, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let chunk = left.min(CHUNK);
        total += bench.timed(chunk);
        left -= chunk;
    }
    total
}

/// Like [`run`], keeping the history within [n, 2n): an engine that
/// reaches 2n reports is replaced by a fresh one with n behind it.
fn run_with_history(
    slot: &mut Option<Bench>,
    n: u64,
    iters: u64,
    totals: &mut (u64, u64),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let bench = match slot {
            Some(bench) if bench.processed < 2 * n => bench,
            _ => {
                retire(slot, totals);
                slot.insert(Bench::with_history(n))
            }
        };
        let chunk = left.min(CHUNK).min(2 * n - bench.processed);
        total += bench.timed(chunk);
        left -= chunk;
    }
    total
}

/// Counts what a replaced engine did.
fn retire(slot: &mut Option<Bench>, totals: &mut (u64, u64)) {
    if let Some(done) = slot.take() {
        totals.0 += done.timed_reports;
        totals.1 += done.timed_verdicts;
    }
}

fn report(c: &mut Criterion) {
    let mut group = c.benchmark_group("report");
    group.throughput(Throughput::Elements(1));

    let mut pre_cutover: Option<Bench> = None;
    group.bench_function("pre_cutover", |b| {
        let bench = pre_cutover.get_or_insert_with(Bench::ready);
        b.iter_custom(|iters| run(bench, iters));
    });
    if let Some(bench) = &pre_cutover {
        bench.expect_phase(Phase::Ready);
        bench.summary("report/pre_cutover");
    }
    drop(pre_cutover);

    let mut baking: Option<Bench> = None;
    group.bench_function("baking", |b| {
        let bench = baking.get_or_insert_with(Bench::baking);
        b.iter_custom(|iters| run(bench, iters));
    });
    if let Some(bench) = &baking {
        bench.expect_phase(Phase::Baking);
        bench.summary("report/baking");
    }
    drop(baking);

    for n in HISTORIES {
        let name = format!("history_{n}");
        let mut slot: Option<Bench> = None;
        let mut totals = (0u64, 0u64);
        group.bench_function(&name, |b| {
            // Built here, not under `iter_custom`: criterion's warm-up
            // clocks the whole of `iter_custom`, and would take a fresh
            // engine's n reports for the cost of a few.
            if slot.as_ref().is_none_or(|bench| bench.processed >= 2 * n) {
                retire(&mut slot, &mut totals);
                slot = Some(Bench::with_history(n));
            }
            b.iter_custom(|iters| run_with_history(&mut slot, n, iters, &mut totals));
        });
        if let Some(bench) = &slot {
            bench.expect_phase(Phase::Baking);
            eprintln!(
                "report/{name}: {} reports timed, {} new verdicts among them, history kept within [{n}, {})",
                totals.0 + bench.timed_reports,
                totals.1 + bench.timed_verdicts,
                2 * n
            );
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = report
}
criterion_main!(benches);
