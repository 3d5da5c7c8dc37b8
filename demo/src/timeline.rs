//! The demo's output: one line per event, stamped with the seconds since the
//! story began, so the reader sees how long each step took.

use std::time::Instant;

use greenlight_proto::names::{color_name, decision_name, other_color, phase_name};
use greenlight_proto::v1::{Phase, Verdict};

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
            "verdict #{} for {}: {} (phase {}; {})",
            verdict.epoch,
            verdict.deployment,
            decision_name(verdict.decision()),
            phase_name(verdict.phase()),
            sides(verdict),
        ));
        for reason in &verdict.reasons {
            println!("           why: {}", reason.message);
        }
    }
}

/// Which side is which, in words that stay right in every phase: while
/// baking, live and candidate are the same (new) color, and the other one
/// is what a rollback returns to.
fn sides(verdict: &Verdict) -> String {
    let health = |healthy: bool| if healthy { "healthy" } else { "not healthy" };
    let live = color_name(verdict.live());
    match verdict.phase() {
        Phase::Baking => format!(
            "live {live}, the new side, {}; rollback target {}, {}",
            health(verdict.live_healthy),
            color_name(other_color(verdict.live())),
            health(verdict.standby_healthy),
        ),
        _ => format!(
            "live {live} {}, candidate {}",
            health(verdict.live_healthy),
            color_name(verdict.candidate()),
        ),
    }
}
