//! What `wait` shows on stderr while it waits (stdout stays for the
//! result). On a terminal: one line, rewritten every second, counting down
//! what the verdict says is next ("green ready in 12s") and the timeout.
//! Into a pipe or a file: one line per change of what the verdict says,
//! never the same line twice in a row, never one per poll.

use std::io::IsTerminal;
use std::time::{Duration, SystemTime};

use greenlight_proto::json::VerdictJson;
use greenlight_proto::time::from_timestamp;
use greenlight_proto::v1::{Phase, Verdict};

use crate::args::Until;
use crate::output::{note, stderr_raw};
use crate::render::sides;

/// How often the terminal line is redrawn.
pub const TICK: Duration = Duration::from_secs(1);

pub struct Progress {
    until: Until,
    /// Rewrite one line (a terminal), or print changes (anything else).
    terminal: bool,
    latest: Option<Verdict>,
    /// The last change line printed, so that it is not printed again.
    last_line: Option<String>,
    /// A terminal line is on screen and must be cleared before a note.
    drawn: bool,
}

impl Progress {
    pub fn new(until: Until) -> Progress {
        Progress {
            until,
            terminal: std::io::stderr().is_terminal(),
            latest: None,
            last_line: None,
            drawn: false,
        }
    }

    /// A new verdict from the stream.
    pub fn verdict(&mut self, verdict: &Verdict, remaining: Duration) {
        self.latest = Some(verdict.clone());
        if self.terminal {
            self.tick(remaining);
            return;
        }
        let line = change_line(&VerdictJson::from(verdict));
        if self.last_line.as_deref() != Some(line.as_str()) {
            note(&line);
            self.last_line = Some(line);
        }
    }

    /// A second passed: redraw the countdown (terminals only).
    pub fn tick(&mut self, remaining: Duration) {
        if !self.terminal {
            return;
        }
        if let Some(verdict) = &self.latest {
            let line = countdown(verdict, self.until, SystemTime::now(), remaining);
            stderr_raw(&format!("\r\x1b[2K{line}"));
            self.drawn = true;
        }
    }

    /// A note of its own (lost the aggregator...), on a line of its own.
    pub fn note(&mut self, text: &str) {
        self.finish();
        note(text);
    }

    /// Leaves the terminal line where it is, before the result is printed.
    pub fn finish(&mut self) {
        if self.drawn {
            stderr_raw("\n");
            self.drawn = false;
        }
    }
}

/// What changed, in one line: `escashop: NOT_READY, phase Testing: live
/// blue, candidate green healthy, readiness window running; green-1: ...`.
/// Only what makes a new epoch is in it (no epoch, no clock), so a line
/// repeats only if the verdict said the same again.
pub fn change_line(doc: &VerdictJson) -> String {
    let mut line = format!(
        "{}: {}, phase {}: {}",
        doc.deployment,
        doc.decision,
        doc.phase,
        sides(doc)
    );
    let rules: Vec<String> = doc
        .reasons
        .iter()
        .map(|reason| match reason.color.as_str() {
            "" | "unspecified" => reason.rule.clone(),
            color => format!("{} ({color})", reason.rule),
        })
        .collect();
    if !rules.is_empty() {
        line.push_str("; waiting on ");
        line.push_str(&rules.join(", "));
    }
    line
}

/// The terminal line: `escashop: NOT_READY — green ready in 12s
/// (ready_after 30s) … timeout in 4m48s`.
pub fn countdown(verdict: &Verdict, until: Until, now: SystemTime, remaining: Duration) -> String {
    let doc = VerdictJson::from(verdict);
    let next = next_step(verdict, &doc, until, now);
    format!(
        "{}: {} — {next} … timeout in {}",
        doc.deployment,
        doc.decision,
        short(remaining)
    )
}

/// What the verdict says comes next, with how long until it does.
fn next_step(verdict: &Verdict, doc: &VerdictJson, until: Until, now: SystemTime) -> String {
    let ready_after = Duration::from_secs_f64(verdict.ready_after_seconds.max(0.0));
    let healthy_since = verdict
        .candidate_healthy_since
        .as_ref()
        .and_then(from_timestamp);
    match (verdict.phase(), healthy_since) {
        (Phase::Testing, Some(since)) => {
            let healthy_for = now.duration_since(since).unwrap_or_default();
            let left = ready_after.saturating_sub(healthy_for);
            format!(
                "{} ready in {} (ready_after {})",
                doc.candidate,
                short(left),
                short(ready_after)
            )
        }
        (Phase::Baking, _) if !matches!(until, Until::Ready) => {
            match verdict.bake_deadline.as_ref().and_then(from_timestamp) {
                Some(deadline) => format!(
                    "{}: bake ends in {}",
                    sides(doc),
                    short(deadline.duration_since(now).unwrap_or_default())
                ),
                None => sides(doc),
            }
        }
        _ => match doc.reasons.first() {
            Some(reason) => format!("{}: {}", doc.phase, reason.message),
            None => format!("{}: {}", doc.phase, sides(doc)),
        },
    }
}

/// `4m48s`, `12s`: whole seconds, rounded up so 0.4 s left is not "0s".
fn short(duration: Duration) -> String {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use greenlight_proto::time::to_timestamp;
    use greenlight_proto::v1::{Color, Decision, Reason};

    use super::*;

    fn testing(since: SystemTime) -> Verdict {
        let mut verdict = Verdict {
            deployment: "escashop".into(),
            epoch: 3,
            ready_after_seconds: 30.0,
            candidate_healthy_since: Some(to_timestamp(since)),
            ..Verdict::default()
        };
        verdict.set_decision(Decision::NotReady);
        verdict.set_phase(Phase::Testing);
        verdict.set_live(Color::Blue);
        verdict.set_candidate(Color::Green);
        let mut reason = Reason {
            rule: "readiness_window".into(),
            message: "green healthy for 18s of 30s".into(),
            ..Reason::default()
        };
        reason.set_color(Color::Green);
        verdict.reasons.push(reason);
        verdict
    }

    #[test]
    fn the_countdown_says_what_is_next_and_the_timeout() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let verdict = testing(now - Duration::from_secs(18));
        assert_eq!(
            countdown(&verdict, Until::Ready, now, Duration::from_secs(288)),
            "escashop: NOT_READY — green ready in 12s (ready_after 30s) … timeout in 4m48s"
        );
    }

    #[test]
    fn a_change_line_has_no_clock_in_it() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut a = testing(now);
        let mut b = testing(now - Duration::from_secs(5));
        b.epoch = 4;
        b.reasons[0].message = "green healthy for 23s of 30s".into();
        let line = change_line(&VerdictJson::from(&a));
        assert_eq!(line, change_line(&VerdictJson::from(&b)));
        assert_eq!(
            line,
            "escashop: NOT_READY, phase Testing: live blue, candidate green healthy, readiness window running; waiting on readiness_window (green)"
        );
        a.set_decision(Decision::Ready);
        assert_ne!(line, change_line(&VerdictJson::from(&a)));
    }

    #[test]
    fn short_durations_read_at_a_glance() {
        assert_eq!(short(Duration::from_millis(400)), "1s");
        assert_eq!(short(Duration::from_secs(59)), "59s");
        assert_eq!(short(Duration::from_secs(288)), "4m48s");
        assert_eq!(short(Duration::from_secs(7260)), "2h01m");
    }
}
