//! A flooding agent does not delay the others (issue 10). Eight raw agents
//! of one deployment report once a second, spread over the second; the
//! aggregator logs, with each report it accepts, the delay from reading it
//! off the stream to the engine's answer (`delay_us`). The others' delays
//! are compared across three phases of one run: no flood; one more agent
//! at 10x the normal rate (10 reports a second, under
//! `limits.max_reports_per_second` = 20, so the engine itself takes every
//! one); and at 100x (over it: refused in part once the burst is spent).
//!
//! `FLOOD_REPORTS` (default 20) is how many reports each of the others
//! sends per phase; docs/BENCHMARKS.md runs it longer.

use std::time::{Duration, Instant};

use futures::future::join_all;
use greenlight_proto::v1::aggregator_message::Body as Answer;
use greenlight_proto::v1::{Color, Hello, RejectReason};
use greenlight_testbed::eventually;
use tokio_util::sync::CancellationToken;

use super::flood_figures::{Flood, OtherRun, PhaseResult, Spread, others_and_flooders, table, us};
use super::support::{RawStream, honest};
use crate::bed::{Bed, SETTLE};
use crate::report_log::{ACCEPTED_REPORTS_LOG, accepted_reports};

const DEPLOYMENT: &str = "flooded";
/// The well-behaved agents.
const OTHERS: u32 = 8;
/// The normal report interval, as every Hello (the flooder's too) says.
const INTERVAL: Duration = Duration::from_secs(1);

/// One phase: the flooder's rate as a multiple of the normal one, if any.
const PHASES: [(&str, Option<u32>); 3] = [
    ("no flood", None),
    ("10x (10/s)", Some(10)),
    ("100x (100/s)", Some(100)),
];

fn hello(instance: &str, color: Color) -> Hello {
    Hello {
        deployment: DEPLOYMENT.into(),
        color: color as i32,
        instance_id: instance.into(),
        run_id: format!("run-{instance}"),
        report_interval_ms: INTERVAL.as_millis() as u32,
        ..Default::default()
    }
}

/// One of the well-behaved agents.
struct Other {
    instance: String,
    stream: RawStream,
    /// Where in each interval it reports, so the others spread out.
    offset: Duration,
}

impl Other {
    /// Sends `count` reports, one per interval.
    async fn report(&mut self, count: u64) -> OtherRun {
        let first = self.stream.sequence + 1;
        let start = tokio::time::Instant::now() + self.offset;
        let mut ticks = tokio::time::interval_at(start, INTERVAL);
        let mut round_trips = Vec::new();
        let mut not_acked = Vec::new();
        for _ in 0..count {
            ticks.tick().await;
            let sequence = self.stream.sequence + 1;
            let sent = Instant::now();
            match self.stream.send(honest(100 * sequence, 0)).await {
                Ok(answer) if matches!(answer.body, Some(Answer::Ack(_))) => {
                    round_trips.push(sent.elapsed());
                }
                other => not_acked.push(format!("{} #{sequence}: {other:?}", self.instance)),
            }
        }
        OtherRun {
            instance: self.instance.clone(),
            sequences: first..=self.stream.sequence,
            round_trips,
            not_acked,
        }
    }
}

/// Sends `per_second` reports a second on `stream` until `stop` (at most
/// `cap` reports), each answer read before the next is sent.
async fn flood(
    instance: String,
    mut stream: RawStream,
    per_second: u32,
    cap: u64,
    stop: CancellationToken,
) -> Flood {
    let started = Instant::now();
    let mut ticks = tokio::time::interval(INTERVAL / per_second);
    let mut tally = Flood {
        instance,
        ..Flood::default()
    };
    while tally.sent < cap {
        tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            _ = ticks.tick() => {}
        }
        tally.sent += 1;
        let sequence = stream.sequence + 1;
        match stream.send(honest(100 * sequence, 0)).await {
            Ok(answer) => match answer.body {
                Some(Answer::Ack(_)) => tally.acked += 1,
                Some(Answer::Reject(reject)) if reject.reason() == RejectReason::RateLimited => {
                    tally.rate_limited += 1
                }
                other => tally.other.push(format!("#{sequence}: {other:?}")),
            },
            Err(status) => {
                tally.other.push(format!("#{sequence}: {status:?}"));
                break;
            }
        }
    }
    tally.lasted = started.elapsed();
    tally
}

fn reports_per_phase() -> u64 {
    match std::env::var("FLOOD_REPORTS") {
        Ok(text) => text
            .parse()
            .ok()
            .filter(|count| *count > 0)
            .unwrap_or_else(|| panic!("FLOOD_REPORTS={text:?}: a count of reports, at least 1")),
        Err(_) => 20,
    }
}

/// CPU time (user and system) `pid` has used so far, from /proc.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("(comm)") + 2..]
        .split(' ')
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .map(|&at| fields[at].parse::<u64>().expect("utime and stime"))
        .sum();
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    assert!(per_second > 0, "sysconf(_SC_CLK_TCK)");
    Duration::from_secs_f64(ticks as f64 / per_second as f64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_at_10x_the_report_rate_does_not_delay_the_other_agents() {
    let count = reports_per_phase();
    let bed = Bed::new();
    let aggregator = bed
        .aggregator_toml(
            "[defaults]\nready_after = \"1s\"\n",
            &[("RUST_LOG", ACCEPTED_REPORTS_LOG)],
        )
        .await;
    let mut others = Vec::new();
    for n in 0..OTHERS {
        let instance = format!("steady-{}", n + 1);
        let color = if n % 2 == 0 {
            Color::Blue
        } else {
            Color::Green
        };
        others.push(Other {
            stream: RawStream::open(&bed, hello(&instance, color)).await,
            instance,
            offset: INTERVAL * n / OTHERS,
        });
    }

    let mut phases = Vec::new();
    for (name, times) in PHASES {
        let (started, cpu_before) = (Instant::now(), cpu_time(aggregator.pid()));
        let stop = CancellationToken::new();
        let flooder = match times {
            Some(times) => {
                let instance = format!("flood-{times}x");
                let stream = RawStream::open(&bed, hello(&instance, Color::Green)).await;
                // Bounded even if never stopped: three times the phase.
                let cap = 3 * count * u64::from(times);
                Some(tokio::spawn(flood(
                    instance,
                    stream,
                    times,
                    cap,
                    stop.clone(),
                )))
            }
            None => None,
        };
        let runs = join_all(others.iter_mut().map(|other| other.report(count))).await;
        stop.cancel();
        let flood = match flooder {
            Some(task) => Some(task.await.expect("the flooding task")),
            None => None,
        };
        let cpu = cpu_time(aggregator.pid()).saturating_sub(cpu_before);
        phases.push(PhaseResult {
            name,
            others: runs,
            flood,
            aggregator_cpu: cpu.as_secs_f64() / started.elapsed().as_secs_f64(),
            delay: None,
        });
    }

    // The log lines of every acknowledged report, read once all are in.
    let wanted: Vec<(String, usize)> = others_and_flooders(&phases);
    eventually(
        "every acknowledged report in the aggregator's log",
        SETTLE,
        || async {
            let missing: Vec<String> = wanted
                .iter()
                .filter_map(|(instance, acked)| {
                    let logged = accepted_reports(&aggregator, instance).len();
                    (logged < *acked).then(|| format!("{instance}: {logged} of {acked}"))
                })
                .collect();
            missing.is_empty().then_some(()).ok_or(missing.join(", "))
        },
    )
    .await;

    // The others' delays per phase, and every sequence sent logged once.
    let mut lost = Vec::new();
    for phase in &mut phases {
        let mut delays = Vec::new();
        for run in &phase.others {
            let mut logged: Vec<_> = accepted_reports(&aggregator, &run.instance)
                .into_iter()
                .filter(|accepted| run.sequences.contains(&accepted.sequence))
                .collect();
            logged.sort_by_key(|accepted| accepted.sequence);
            let sequences: Vec<u64> = logged.iter().map(|accepted| accepted.sequence).collect();
            if sequences != run.sequences.clone().collect::<Vec<_>>() {
                lost.push(format!(
                    "{} in {}: sent {:?}, logged {sequences:?}",
                    run.instance, phase.name, run.sequences
                ));
            }
            delays.extend(logged.iter().map(|accepted| accepted.delay));
        }
        phase.delay = Spread::of(delays);
    }

    let table = table(&phases, count);
    println!("{table}");
    assert!(aggregator.is_running(), "the aggregator died\n{table}");
    let not_acked: Vec<&String> = phases
        .iter()
        .flat_map(|phase| phase.others.iter().flat_map(|run| &run.not_acked))
        .collect();
    assert!(
        not_acked.is_empty(),
        "the others' reports must all be taken: {not_acked:?}\n{table}"
    );
    assert!(lost.is_empty(), "logged once each: {lost:?}\n{table}");
    for phase in &phases {
        let delay = phase
            .delay
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no delay logged\n{table}", phase.name));
        // Generous: a flood that starved the others would push their delay
        // past the interval they report at.
        assert!(
            delay.p99 < INTERVAL,
            "{}: the others' p99 delay {} is not under the report interval\n{table}",
            phase.name,
            us(delay.p99)
        );
        if let Some(flood) = &phase.flood {
            assert!(
                flood.other.is_empty(),
                "{}: answers other than Ack or RATE_LIMITED: {:?}\n{table}",
                flood.instance,
                flood.other
            );
        }
    }
    let ten = phases[1].flood.as_ref().expect("phase 2 floods");
    assert!(
        ten.acked == ten.sent && ten.rate_limited == 0,
        "10 a second is under the rate limit: the engine takes every report\n{table}"
    );
    assert!(
        ten.sent >= 5 * count,
        "the 10x flood ran at least at half its rate\n{table}"
    );
}
