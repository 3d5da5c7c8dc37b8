//! What a flood run recorded, phase by phase, and how it is shown: the
//! others' delays as count, p50, p99 and max, the flooder's tally, and the
//! phases side by side with the ratio of the others' p99 to no flood's.

use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::time::Duration;

/// What one of the others saw in one phase.
pub struct OtherRun {
    pub instance: String,
    /// The sequences it sent.
    pub sequences: RangeInclusive<u64>,
    /// Send to Ack, on the client (the aggregator's own figure is in its log).
    pub round_trips: Vec<Duration>,
    /// Answers other than an Ack, described.
    pub not_acked: Vec<String>,
}

/// What the flooder sent and was answered.
#[derive(Default)]
pub struct Flood {
    pub instance: String,
    pub sent: u64,
    pub acked: u64,
    pub rate_limited: u64,
    /// Any other answer, described.
    pub other: Vec<String>,
    pub lasted: Duration,
}

/// Count, p50, p99 and max of some durations (nearest rank).
pub struct Spread {
    pub count: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Spread {
    /// None when there is no sample.
    pub fn of(mut samples: Vec<Duration>) -> Option<Spread> {
        if samples.is_empty() {
            return None;
        }
        samples.sort();
        let rank = |p: f64| {
            let rank = (p * samples.len() as f64).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1]
        };
        Some(Spread {
            count: samples.len(),
            p50: rank(0.50),
            p99: rank(0.99),
            max: *samples.last().expect("not empty"),
        })
    }
}

pub fn us(duration: Duration) -> String {
    format!("{} µs", duration.as_micros())
}

/// A spread's figure in µs, or "-" when there were no samples.
fn us_of(spread: Option<&Spread>, figure: fn(&Spread) -> Duration) -> String {
    spread.map_or_else(|| "-".into(), |spread| us(figure(spread)))
}

/// One phase's figures.
pub struct PhaseResult {
    pub name: &'static str,
    pub others: Vec<OtherRun>,
    pub flood: Option<Flood>,
    /// The aggregator's CPU over the phase, as a share of one core.
    pub aggregator_cpu: f64,
    /// The others' delays, from the aggregator's log (filled in at the
    /// end; None when none was logged).
    pub delay: Option<Spread>,
}

/// Every instance with the number of reports it had acknowledged.
pub fn others_and_flooders(phases: &[PhaseResult]) -> Vec<(String, usize)> {
    let mut wanted: Vec<(String, usize)> = Vec::new();
    for phase in phases {
        for run in &phase.others {
            match wanted
                .iter_mut()
                .find(|(instance, _)| *instance == run.instance)
            {
                Some((_, acked)) => *acked += run.round_trips.len(),
                None => wanted.push((run.instance.clone(), run.round_trips.len())),
            }
        }
        if let Some(flood) = &phase.flood {
            wanted.push((flood.instance.clone(), flood.acked as usize));
        }
    }
    wanted
}

/// The phases side by side, with the others' p99 delay against no flood.
pub fn table(phases: &[PhaseResult], count: u64) -> String {
    let mut out = format!(
        "{} agents reporting once a second, {count} reports each per phase; \
         delay = read off the stream to the engine's answer (aggregator's log); \
         round trip = send to Ack (client)\n\
         {:<13} {:>7} {:>10} {:>10} {:>10} {:>15} {:>8} | {:>7} {:>7} {:>7} {:>8}\n",
        phases.first().map_or(0, |phase| phase.others.len()),
        "phase",
        "reports",
        "delay p50",
        "delay p99",
        "delay max",
        "round trip p99",
        "agg. CPU",
        "flooder",
        "taken",
        "refused",
        "rate"
    );
    for phase in phases {
        let delay = phase.delay.as_ref();
        let trips = Spread::of(
            phase
                .others
                .iter()
                .flat_map(|run| run.round_trips.iter().copied())
                .collect(),
        );
        let flood = match &phase.flood {
            Some(flood) => format!(
                "{:>7} {:>7} {:>7} {:>6.1}/s",
                flood.sent,
                flood.acked,
                flood.rate_limited,
                flood.sent as f64 / flood.lasted.as_secs_f64()
            ),
            None => format!("{:>7}", "-"),
        };
        let _ = writeln!(
            out,
            "{:<13} {:>7} {:>10} {:>10} {:>10} {:>15} {:>7.1}% | {flood}",
            phase.name,
            delay.map_or(0, |delay| delay.count),
            us_of(delay, |s| s.p50),
            us_of(delay, |s| s.p99),
            us_of(delay, |s| s.max),
            us_of(trips.as_ref(), |s| s.p99),
            100.0 * phase.aggregator_cpu,
        );
    }
    let p99 = |phase: &PhaseResult| phase.delay.as_ref().map(|delay| delay.p99.as_secs_f64());
    if let Some(base) = p99(&phases[0]) {
        for phase in &phases[1..] {
            if let Some(p99) = p99(phase) {
                let _ = writeln!(
                    out,
                    "others' p99 delay, {} / no flood: {:.2}",
                    phase.name,
                    p99 / base.max(1e-6)
                );
            }
        }
    }
    out
}
