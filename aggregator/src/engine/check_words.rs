//! A check's value in words, for a reason and the status page: "HTTP
//! 503", "0.120 error ratio, above 0.05", never "observed 200 status
//! against 0". A threshold of 0 means none and is not shown.

use greenlight_proto::v1::CheckResult;

/// Why a failing check fails: the agent's own words when it gave them,
/// else its value read for the kind of check it is.
pub fn failing_words(check: &CheckResult) -> String {
    if !check.error.is_empty() {
        return format!("failing: {}", check.error);
    }
    if check.observed_unit == "status" {
        let status = check.observed_value;
        return if (200.0..300.0).contains(&status) {
            format!(
                "failing: the health endpoint answered HTTP {status:.0}, but the agent judged it failing without saying why"
            )
        } else {
            format!("failing: the health endpoint answered HTTP {status:.0} (wanted 2xx)")
        };
    }
    if check.observed_unit.is_empty() && check.observed_value == 0.0 {
        return "failing (the agent said no more)".to_string();
    }
    let value = value_words(check);
    if check.threshold > 0.0 {
        format!(
            "failing: {value}, above the limit of {}",
            amount(check, check.threshold)
        )
    } else {
        format!("failing: {value}")
    }
}

/// The value a check judged, with its unit in words: `HTTP 200`,
/// `0.012 s`, `0.120 error ratio`, `CPU 0.50 of a core`, `12.0 MiB`; `—`
/// for a check that measures nothing (a /health component is up or down).
pub fn value_words(check: &CheckResult) -> String {
    let value = check.observed_value;
    match (check.check.as_str(), check.observed_unit.as_str()) {
        (_, "") if value == 0.0 => "—".to_string(),
        (_, "status") => format!("HTTP {value:.0}"),
        ("traffic", "ratio") => format!("{} error ratio", amount(check, value)),
        ("process", "ratio") => format!("CPU {}", amount(check, value)),
        _ => amount(check, value),
    }
}

/// A number in the check's unit, without what it measures.
fn amount(check: &CheckResult, value: f64) -> String {
    match (check.check.as_str(), check.observed_unit.as_str()) {
        (_, "seconds") => format!("{} s", short(value)),
        ("process", "ratio") => format!("{value:.2} of a core"),
        (_, "ratio") => format!("{value:.3}"),
        (_, "bytes") => bytes(value),
        (_, "") => short(value),
        (_, unit) => format!("{} {unit}", short(value)),
    }
}

/// Four significant decimals at most, trailing zeros dropped.
fn short(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

fn bytes(value: f64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = value;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: &str, value: f64, unit: &str, threshold: f64, error: &str) -> CheckResult {
        CheckResult {
            check: kind.into(),
            observed_value: value,
            observed_unit: unit.into(),
            threshold,
            error: error.into(),
            ..Default::default()
        }
    }

    #[test]
    fn every_kind_of_value_reads_naturally() {
        let cases = [
            (check("http", 200.0, "status", 0.0, ""), "HTTP 200"),
            (check("postgres", 0.0123, "seconds", 0.0, ""), "0.0123 s"),
            (
                check("traffic", 0.12, "ratio", 0.05, ""),
                "0.120 error ratio",
            ),
            (
                check("process", 1.5, "ratio", 1.0, ""),
                "CPU 1.50 of a core",
            ),
            (
                check("process", 512.0 * 1048576.0, "bytes", 0.0, ""),
                "512.0 MiB",
            ),
            (check("http", 12.0, "ms", 0.0, ""), "12 ms"),
            (check("http/database", 0.0, "", 0.0, ""), "—"),
        ];
        for (check, words) in cases {
            assert_eq!(value_words(&check), words);
        }
    }

    #[test]
    fn a_failing_check_says_why_without_a_threshold_of_nothing() {
        let cases = [
            (
                check("http", 503.0, "status", 0.0, ""),
                "failing: the health endpoint answered HTTP 503 (wanted 2xx)",
            ),
            (
                check("http", 200.0, "status", 0.0, ""),
                "failing: the health endpoint answered HTTP 200, but the agent judged it failing without saying why",
            ),
            (
                check("traffic", 0.12, "ratio", 0.05, ""),
                "failing: 0.120 error ratio, above the limit of 0.050",
            ),
            (
                check("process", 3.0 * 1048576.0, "bytes", 2.0 * 1048576.0, ""),
                "failing: 3.0 MiB, above the limit of 2.0 MiB",
            ),
            (check("redis", 0.8, "seconds", 0.0, ""), "failing: 0.8 s"),
            (
                check("websocket", 0.0, "", 0.0, ""),
                "failing (the agent said no more)",
            ),
            (
                check("http", 503.0, "status", 0.0, "HTTP 503 Service Unavailable"),
                "failing: HTTP 503 Service Unavailable",
            ),
        ];
        for (check, words) in cases {
            let text = failing_words(&check);
            assert_eq!(text, words);
            assert!(!text.contains("against 0"), "{text}");
        }
    }
}
