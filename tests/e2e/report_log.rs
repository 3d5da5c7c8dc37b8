//! What an aggregator logged of the reports it accepted: its agent stream
//! writes one debug line per accepted report, `report accepted sequence=N
//! delay_us=D`, inside a span naming the deployment and the instance.
//! Tests read the sequences (none lost, none counted twice) and the delays
//! (from reading a report off the stream to the engine's answer).

use std::time::Duration;

use greenlight_testbed::Process;

/// `RUST_LOG` for an aggregator whose accepted reports a test reads.
pub const ACCEPTED_REPORTS_LOG: &str = "info,greenlight_aggregator::grpc::agent_stream=debug";

/// One accepted report of one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub sequence: u64,
    /// From reading the report off the stream to the engine's answer,
    /// waiting for the engine's lock included.
    pub delay: Duration,
}

/// `instance`'s accepted reports, in log order.
pub fn accepted_reports(aggregator: &Process, instance: &str) -> Vec<Accepted> {
    strip_ansi(&aggregator.output_so_far())
        .lines()
        .filter(|line| {
            line.contains("report accepted") && text_field(line, "instance") == Some(instance)
        })
        .filter_map(|line| {
            Some(Accepted {
                sequence: number_field(line, "sequence")?,
                delay: Duration::from_micros(number_field(line, "delay_us")?),
            })
        })
        .collect()
}

/// Sequences of `instance`'s accepted reports, in log order.
pub fn accepted_sequences(aggregator: &Process, instance: &str) -> Vec<u64> {
    accepted_reports(aggregator, instance)
        .iter()
        .map(|accepted| accepted.sequence)
        .collect()
}

/// The value of `name=value` in `line` (span fields end at a space, `}`
/// or `:`), so `instance=green-1` does not match `green-10`.
fn text_field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("{name}=");
    let start = line
        .match_indices(&key)
        // The whole name, not the end of a longer one.
        .find(|(at, _)| !line[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))?
        .0
        + key.len();
    let rest = &line[start..];
    let end = rest.find([' ', '}', ':']).unwrap_or(rest.len());
    Some(&rest[..end])
}

fn number_field(line: &str, name: &str) -> Option<u64> {
    text_field(line, name)?.parse().ok()
}

/// Log text without terminal colour codes.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ ... letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "2026-12-02T07:00:00.000001Z DEBUG serve_reports{deployment=escashop instance=green-10}: \
        greenlight_aggregator::grpc::agent_stream: report accepted sequence=42 delay_us=1234";

    #[test]
    fn fields_are_read_whole() {
        assert_eq!(text_field(LINE, "instance"), Some("green-10"));
        assert_eq!(number_field(LINE, "sequence"), Some(42));
        assert_eq!(number_field(LINE, "delay_us"), Some(1234));
        assert_eq!(text_field(LINE, "us"), None);
    }

    #[test]
    fn colour_codes_are_stripped() {
        let coloured = "report accepted \u{1b}[3msequence\u{1b}[0m\u{1b}[2m=\u{1b}[0m7";
        assert_eq!(strip_ansi(coloured), "report accepted sequence=7");
    }
}
