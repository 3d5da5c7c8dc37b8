//! The demo's output: one line per event, stamped with the seconds since the
//! story began, so the reader sees how long each step took.

use std::time::Instant;

use greenlight_proto::names::{color_name, decision_name, phase_name};
use greenlight_proto::v1::Verdict;

pub struct Timeline {
    start: Instant,
}

impl Timeline {
    pub fn start() -> Self {
        Timeline {
            start: Instant::now(),
        }
    }

    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    pub fn say(&self, text: impl AsRef<str>) {
        println!("[{:6.1}s] {}", self.elapsed(), text.as_ref());
    }

    pub fn step(&self, number: u32, text: impl AsRef<str>) {
        println!();
        self.say(format!("STEP {number}: {}", text.as_ref()));
    }

    pub fn verdict(&self, verdict: &Verdict) {
        self.say(format!(
            "verdict #{} for {}: {} (phase {}; live {} {}, candidate {})",
            verdict.epoch,
            verdict.deployment,
            decision_name(verdict.decision()),
            phase_name(verdict.phase()),
            color_name(verdict.live()),
            if verdict.live_healthy {
                "healthy"
            } else {
                "not healthy"
            },
            color_name(verdict.candidate()),
        ));
        for reason in &verdict.reasons {
            println!("           why: {}", reason.message);
        }
    }
}
