//! `prometheus_intake`: the agent's reading of a backend's `/metrics`
//! (Prometheus text), scrape after scrape through the traffic check's
//! sliding window. Whatever the pages say, each round's result and
//! counters must make a report the aggregator takes (finite, in range,
//! errors within requests, counters that only go back all together).
//!
//! The input: pages separated by NUL bytes, scraped 10 s apart (the
//! window is 30 s, so it slides). A page that is not UTF-8 reads as no
//! metrics, as the probe reads it.

use std::time::Duration;

use greenlight_agent::fuzzing::TrafficIntake;

use crate::aggregator::Gate;

/// Pages read from one input at most.
const MAX_PAGES: usize = 32;

pub fn run(data: &[u8]) {
    let mut intake = TrafficIntake::default();
    let mut gate = Gate::default();
    for (index, page) in data.split(|&b| b == 0).take(MAX_PAGES).enumerate() {
        let text = std::str::from_utf8(page).unwrap_or("");
        let at = Duration::from_secs(10 * index as u64);
        let (result, counters) = intake.scrape(text, at);
        gate.must_accept(vec![result], Some(counters), &text);
    }
}
