//! What the rollback trials measured: each trial, the spread (p50, p90,
//! max) of fault-to-decision and fault-to-hook, and the expectation the
//! rules give, as a table or one JSON object.

use serde::Serialize;

use crate::figures::percentile;
use crate::simulated::Fault;

#[derive(Debug, Serialize)]
pub struct RollbackFigures {
    pub trials_requested: u32,
    pub fault: Fault,
    /// Seconds between two reports of an agent (the probe interval).
    pub interval_seconds: f64,
    /// Samples the rule needs in a row (`--consecutive-samples`).
    pub consecutive_samples: u32,
    /// (samples - 1) x interval: the last sample the rule needs is sent
    /// that long after the first faulty one.
    pub expected_decision_ms: f64,
    /// samples x interval: from the fault's onset in the backend, which
    /// may come up to one interval before the first report that shows it.
    pub expected_from_onset_ms: f64,
    pub trials: Vec<Trial>,
    /// First faulty report queued -> ROLLBACK verdict read on the channel.
    pub decision: Spread,
    /// First faulty report queued -> the rollback hook's start (its own
    /// timestamp); only with `--hook-log`.
    pub hook_start: Option<Spread>,
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Trial {
    pub deployment: String,
    pub decision_ms: Option<f64>,
    pub hook_start_ms: Option<f64>,
    /// The rules the ROLLBACK verdict gave as its reasons.
    pub rules: Vec<String>,
    pub epoch: Option<u64>,
    /// Why the trial did not finish, if it did not.
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Spread {
    pub samples: usize,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl Spread {
    pub fn of(millis: impl Iterator<Item = f64>) -> Spread {
        let mut micros: Vec<u64> = millis.map(|ms| (ms * 1000.0).round() as u64).collect();
        micros.sort_unstable();
        Spread {
            samples: micros.len(),
            p50_ms: percentile(&micros, 0.50),
            p90_ms: percentile(&micros, 0.90),
            max_ms: micros.last().map(|&max| max as f64 / 1000.0),
        }
    }

    fn line(&self) -> String {
        let ms = |value: Option<f64>| value.map_or("-".into(), |v| format!("{v:.0} ms"));
        format!(
            "p50 {}, p90 {}, max {} ({} trials)",
            ms(self.p50_ms),
            ms(self.p90_ms),
            ms(self.max_ms),
            self.samples
        )
    }
}

impl RollbackFigures {
    pub fn table(&self) -> String {
        let fault = match self.fault {
            Fault::ErrorRatio => "every request a 5xx (error_ratio)",
            Fault::Database => "postgres check failing (database_lost)",
        };
        let mut out = format!(
            "greenlight-bench: {} rollback trial(s), fault: {fault}, reports every {:.1} s\n",
            self.trials_requested, self.interval_seconds
        );
        out += &format!(
            "expected: {} samples in a row, the last sent {:.0} ms after the first faulty report \
             (up to {:.0} ms after the fault's onset), plus the aggregator's reaction\n\n",
            self.consecutive_samples, self.expected_decision_ms, self.expected_from_onset_ms
        );
        out += &format!(
            "{:<36} {:>12} {:>12}  rules\n",
            "trial", "decision", "hook start"
        );
        let ms = |value: Option<f64>| value.map_or("-".into(), |v| format!("{v:.0} ms"));
        for trial in &self.trials {
            match &trial.error {
                Some(error) => out += &format!("{:<36} failed: {error}\n", trial.deployment),
                None => {
                    out += &format!(
                        "{:<36} {:>12} {:>12}  {}\n",
                        trial.deployment,
                        ms(trial.decision_ms),
                        ms(trial.hook_start_ms),
                        trial.rules.join(", ")
                    )
                }
            }
        }
        out += &format!(
            "\nfault to ROLLBACK published: {}   expected ~{:.0} ms\n",
            self.decision.line(),
            self.expected_decision_ms
        );
        if let Some(hook) = &self.hook_start {
            out += &format!("fault to rollback hook start: {}\n", hook.line());
        }
        for note in &self.notes {
            out += &format!("note: {note}\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_nearest_rank_with_the_max() {
        let spread = Spread::of((1..=20).map(f64::from));
        assert_eq!(
            (spread.p50_ms, spread.p90_ms, spread.max_ms),
            (Some(10.0), Some(18.0), Some(20.0))
        );
        assert_eq!(Spread::of(std::iter::empty()).max_ms, None);
    }
}
