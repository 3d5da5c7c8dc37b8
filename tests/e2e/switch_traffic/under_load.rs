//! Acceptance: 30 blue/green switches under keep-alive load through HAProxy
//! fail no request, and every request sent after a switch returned is
//! answered by the new color. The same load and switches through nginx's
//! config swap + reload are counted the same way and printed beside it, as
//! the reference (not asserted).
//!
//! "After a switch" means: sent after `switch-traffic` exited and before the
//! next switch started. A request sent while the script ran may be answered
//! by either color: the drained server finishes what it already has.

use std::time::{Duration, Instant};

use crate::bed::Bed;

use super::haproxy::Haproxy;
use super::load::{Answer, Load, Sample};
use super::nginx::Nginx;
use super::script::Script;

const SWITCHES: usize = 30;
/// Concurrent keep-alive clients, each one request at a time.
const CLIENTS: usize = 8;
/// Load between two switches, so each color serves its share.
const DWELL: Duration = Duration::from_millis(300);
/// The load stops by itself after this, whatever becomes of the test.
const LOAD_LIMIT: Duration = Duration::from_secs(150);

/// One switch: when the script started and exited, and the color it chose.
struct Switched {
    started: Instant,
    returned: Instant,
    to: &'static str,
}

/// What one load balancer did under the load.
struct Tally {
    backend: &'static str,
    requests: usize,
    /// Non-2xx and transport errors.
    failed: Vec<String>,
    /// Sent after a switch returned, answered by the color switched away from.
    late: Vec<String>,
    /// The longest a late answer came after its switch returned.
    late_by: Duration,
    /// Sent while a switch ran (either color is right).
    during_switch: usize,
    /// Switches after which no request was answered by the new color: the
    /// load would not have seen a missed switch.
    unobserved_switches: usize,
    durations: Vec<Duration>,
}

impl Tally {
    fn of(backend: &'static str, samples: &[Sample], switches: &[Switched]) -> Tally {
        let mut tally = Tally {
            backend,
            requests: samples.len(),
            failed: Vec::new(),
            late: Vec::new(),
            late_by: Duration::ZERO,
            during_switch: 0,
            unobserved_switches: 0,
            durations: switches.iter().map(|s| s.returned - s.started).collect(),
        };
        let mut observed = vec![false; switches.len()];
        for sample in samples {
            if sample.answer.failed() {
                tally.failed.push(format!("{:?}", sample.answer));
                continue;
            }
            // The last switch started before this request was sent.
            let index = switches.partition_point(|switch| switch.started <= sample.sent);
            let expected = match index.checked_sub(1) {
                None => "blue",
                Some(last) if sample.sent <= switches[last].returned => {
                    tally.during_switch += 1;
                    continue;
                }
                Some(last) => switches[last].to,
            };
            match &sample.answer {
                Answer::Served(color) if color == expected => {
                    if let Some(last) = index.checked_sub(1) {
                        observed[last] = true;
                    }
                }
                other => {
                    if let Some(last) = index.checked_sub(1) {
                        tally.late_by = tally.late_by.max(sample.sent - switches[last].returned);
                    }
                    tally.late.push(format!(
                        "switch {index}: expected {expected}, got {other:?}"
                    ));
                }
            }
        }
        tally.unobserved_switches = observed.iter().filter(|seen| !**seen).count();
        tally
    }

    fn line(&self) -> String {
        let mut durations = self.durations.clone();
        durations.sort();
        let ms = |d: Option<&Duration>| d.map_or(0, Duration::as_millis);
        format!(
            "{:<8} {:>9} {:>7} {:>7} (<= {:>4} ms) {:>14} {:>6}/{}/{} ms",
            self.backend,
            self.requests,
            self.failed.len(),
            self.late.len(),
            self.late_by.as_millis(),
            self.during_switch,
            ms(durations.first()),
            ms(durations.get(durations.len() / 2)),
            ms(durations.last()),
        )
    }

    fn examples(&self) -> String {
        let mut text = String::new();
        for (what, list) in [("failed", &self.failed), ("late", &self.late)] {
            for example in list.iter().take(3) {
                text.push_str(&format!("  {} {what}: {example}\n", self.backend));
            }
        }
        text
    }
}

/// Runs the load, switches `SWITCHES` times with `--force` (the gate has its
/// own test), stops the load and counts.
async fn switch_under_load(backend: &'static str, url: &str, script: &Script) -> Tally {
    let load = Load::start(url, CLIENTS, LOAD_LIMIT);
    tokio::time::sleep(DWELL).await;
    let mut switches = Vec::new();
    for number in 1..=SWITCHES {
        let (direction, to) = if number % 2 == 1 {
            ("blue-to-green", "green")
        } else {
            ("green-to-blue", "blue")
        };
        let outcome = script.run(&[direction, "--force"]).await;
        outcome.expect_code(0, &format!("{backend} switch {number} ({direction})"));
        switches.push(Switched {
            started: outcome.started,
            returned: outcome.returned,
            to,
        });
        tokio::time::sleep(DWELL).await;
    }
    let samples = load.stop().await;
    Tally::of(backend, &samples, &switches)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_switches_under_keep_alive_load_fail_no_request_through_haproxy() {
    let bed = Bed::new();
    let (_blue_backend, blue) = bed.backend("blue", "v3.0.0").await;
    let (_green_backend, green) = bed.backend("green", "v3.1.0").await;

    let haproxy = Haproxy::start(&blue, &green).await;
    let script = haproxy.script(Script::new(bed.dir.path()));
    let through_haproxy = switch_under_load("haproxy", &haproxy.url(), &script).await;
    assert_eq!(haproxy.live().await, "blue", "30 switches end on blue");
    drop(haproxy);

    let nginx = Nginx::start(&blue, &green).await;
    let script = nginx.script(Script::new(bed.dir.path()));
    let through_nginx = switch_under_load("nginx", &nginx.url(), &script).await;

    println!(
        "{SWITCHES} switches under keep-alive load ({CLIENTS} clients, {} ms between switches):\n\
         backend   requests  failed  late: old color after return  during switch  switch min/p50/max\n{}\n{}\n{}{}",
        DWELL.as_millis(),
        through_haproxy.line(),
        through_nginx.line(),
        through_haproxy.examples(),
        through_nginx.examples(),
    );

    assert!(
        through_haproxy.failed.is_empty(),
        "HAProxy failed {} of {} requests, e.g. {:?}",
        through_haproxy.failed.len(),
        through_haproxy.requests,
        &through_haproxy.failed[..through_haproxy.failed.len().min(5)]
    );
    assert!(
        through_haproxy.late.is_empty(),
        "through HAProxy, {} requests sent after a switch returned came from the wrong color, e.g. {:?}",
        through_haproxy.late.len(),
        &through_haproxy.late[..through_haproxy.late.len().min(5)]
    );
    assert_eq!(
        through_haproxy.unobserved_switches, 0,
        "every switch is followed by requests answered by the new color"
    );
}
