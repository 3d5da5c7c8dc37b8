//! What a poller says about its reads: a line when what it reads changes,
//! one warning per streak of failed reads, one line when it reads again.
//! Never a line per poll, so a load balancer down for an hour is one
//! warning, not 3600.

use super::reading::{ReadError, Reading};

/// Something worth a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The first reading, or one different from the last.
    Changed(Reading),
    /// The first failed read of a streak, with its error.
    Failing(String),
    /// A read succeeded after `failures` that did not.
    Recovered { failures: u64, reading: Reading },
}

/// The reads so far, as far as logging needs them.
#[derive(Debug, Default)]
pub struct Streak {
    last: Option<Reading>,
    failures: u64,
}

impl Streak {
    pub fn observe(&mut self, outcome: Result<&Reading, &ReadError>) -> Option<Note> {
        match outcome {
            Err(error) => {
                self.failures += 1;
                (self.failures == 1).then(|| Note::Failing(error.to_string()))
            }
            Ok(reading) => {
                let failures = std::mem::take(&mut self.failures);
                let changed = self.last.as_ref() != Some(reading);
                self.last = Some(reading.clone());
                if failures > 0 {
                    Some(Note::Recovered {
                        failures,
                        reading: reading.clone(),
                    })
                } else {
                    changed.then(|| Note::Changed(reading.clone()))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use greenlight_proto::v1::Color;

    use super::*;

    fn timeout() -> ReadError {
        ReadError::Timeout {
            what: "HAProxy".into(),
            timeout: Duration::from_secs(2),
        }
    }

    #[test]
    fn one_line_per_change_one_warning_per_failing_streak() {
        let blue = Reading::One(Color::Blue);
        let green = Reading::One(Color::Green);
        let both = Reading::NotOne("both".into());
        let failed = timeout();
        let mut streak = Streak::default();
        let table: Vec<(Result<&Reading, &ReadError>, Option<Note>)> = vec![
            (Ok(&blue), Some(Note::Changed(blue.clone()))),
            (Ok(&blue), None),
            (Ok(&both), Some(Note::Changed(both.clone()))),
            (Ok(&green), Some(Note::Changed(green.clone()))),
            (
                Err(&failed),
                Some(Note::Failing("HAProxy did not answer within 2s".into())),
            ),
            (Err(&failed), None),
            (Err(&failed), None),
            (
                Ok(&green),
                Some(Note::Recovered {
                    failures: 3,
                    reading: green.clone(),
                }),
            ),
            (Ok(&green), None),
            (
                Err(&failed),
                Some(Note::Failing("HAProxy did not answer within 2s".into())),
            ),
            (
                Ok(&blue),
                Some(Note::Recovered {
                    failures: 1,
                    reading: blue.clone(),
                }),
            ),
            (Ok(&blue), None),
        ];
        for (step, (outcome, expected)) in table.into_iter().enumerate() {
            assert_eq!(streak.observe(outcome), expected, "step {step}");
        }
    }
}
