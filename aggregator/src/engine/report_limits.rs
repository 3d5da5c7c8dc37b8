//! The ranges a report's values must keep (docs/protocol.md, "Limits and
//! ranges"). A value no honest agent sends (NaN, a negative duration, more
//! errors than requests, a name longer than any name) refuses the whole
//! report, naming the field and the value: nothing in it is taken, so a
//! lying or broken agent goes stale and holds the verdict instead of
//! steering it. Free text over its limit is clamped with a marker instead:
//! the start of an error message still says what went wrong.

use greenlight_proto::limits::{MAX_CHECKS, MAX_NAME_BYTES, clamp_text, name_problem};
use greenlight_proto::v1::check_result::Detail;
use greenlight_proto::v1::{CheckResult, Report, TrafficCounters};

/// Refuses a report outside the ranges (the text names field and value),
/// or clamps its free text. `previous`: the counters of the agent's latest
/// accepted report, which a counter may only pass or reset below.
pub fn check_ranges(report: &mut Report, previous: Option<&TrafficCounters>) -> Result<(), String> {
    if report.checks.len() > MAX_CHECKS {
        return Err(format!(
            "report.checks: {} checks; at most {MAX_CHECKS}",
            report.checks.len()
        ));
    }
    if let Some(observed_at) = &report.observed_at {
        if !(0..1_000_000_000).contains(&observed_at.nanos) {
            return Err(format!(
                "report.observed_at.nanos: {} is outside 0..1e9",
                observed_at.nanos
            ));
        }
        // Years 1970 to 9999: anything else is no clock at all.
        if !(0..253_402_300_800).contains(&observed_at.seconds) {
            return Err(format!(
                "report.observed_at.seconds: {} is not a time between 1970 and 9999",
                observed_at.seconds
            ));
        }
    }
    for index in 0..report.checks.len() {
        let check = &report.checks[index];
        let field = |name: &str| format!("report.checks[{index}].{name}");
        check_names(check).map_err(|(name, problem)| format!("{}: {problem}", field(name)))?;
        check_numbers(check).map_err(|(name, problem)| format!("{}: {problem}", field(name)))?;
        // At most 64 checks: comparing with the earlier ones allocates nothing.
        let same =
            |other: &CheckResult| other.check == check.check && other.component == check.component;
        if let Some(first) = report.checks[..index].iter().position(same) {
            return Err(format!(
                "{}: check {:?} component {:?} is also report.checks[{first}]; each check once per report",
                field("check"),
                check.check,
                check.component
            ));
        }
        clamp_text(&mut report.checks[index].error);
    }
    if let Some(counters) = &report.traffic {
        check_counters(counters, previous)?;
    }
    Ok(())
}

/// A field's name within its check, and what is wrong with its value:
/// the text is written only for a report that is refused.
type Problem = (&'static str, String);

fn check_names(check: &CheckResult) -> Result<(), Problem> {
    let role = match &check.detail {
        Some(Detail::Redis(redis)) => redis.role.as_str(),
        _ => "",
    };
    for (name, value) in [
        ("check", check.check.as_str()),
        ("component", check.component.as_str()),
        ("observed_unit", check.observed_unit.as_str()),
        ("redis.role", role),
    ] {
        if let Some(problem) = name_problem(value, MAX_NAME_BYTES) {
            return Err((name, problem));
        }
    }
    Ok(())
}

fn check_numbers(check: &CheckResult) -> Result<(), Problem> {
    let finite = |name: &'static str, value: f64| match non_negative_finite(value) {
        Some(problem) => Err((name, problem)),
        None => Ok(()),
    };
    finite("duration_seconds", check.duration_seconds)?;
    finite("observed_value", check.observed_value)?;
    finite("threshold", check.threshold)?;
    match &check.detail {
        Some(Detail::Postgres(detail)) => {
            finite("postgres.connect_seconds", detail.connect_seconds)?;
            finite("postgres.round_trip_seconds", detail.round_trip_seconds)?;
        }
        Some(Detail::Redis(detail)) => {
            finite("redis.round_trip_seconds", detail.round_trip_seconds)?;
        }
        Some(Detail::Http(detail)) => {
            finite("http.latency_seconds", detail.latency_seconds)?;
            if detail.status_code > 999 {
                return Err((
                    "http.status_code",
                    format!("{} is no HTTP status", detail.status_code),
                ));
            }
        }
        Some(Detail::Websocket(detail)) => {
            finite("websocket.handshake_seconds", detail.handshake_seconds)?;
            finite(
                "websocket.ping_round_trip_seconds",
                detail.ping_round_trip_seconds,
            )?;
        }
        Some(Detail::Process(detail)) => {
            finite("process.cpu_ratio", detail.cpu_ratio)?;
            finite("process.host_load_1m", detail.host_load_1m)?;
        }
        Some(Detail::Traffic(detail)) => {
            finite("traffic.error_ratio", detail.error_ratio)?;
            finite("traffic.window_seconds", detail.window_seconds)?;
            finite("traffic.mean_latency_seconds", detail.mean_latency_seconds)?;
            finite("traffic.p95_latency_seconds", detail.p95_latency_seconds)?;
            finite("traffic.p99_latency_seconds", detail.p99_latency_seconds)?;
            if detail.error_ratio > 1.0 {
                return Err((
                    "traffic.error_ratio",
                    format!("{} is above 1", detail.error_ratio),
                ));
            }
            if detail.window_errors > detail.window_requests {
                return Err((
                    "traffic.window_errors",
                    format!(
                        "{} errors above {} requests",
                        detail.window_errors, detail.window_requests
                    ),
                ));
            }
        }
        None => {}
    }
    Ok(())
}

fn non_negative_finite(value: f64) -> Option<String> {
    if value.is_finite() && value >= 0.0 {
        None
    } else {
        Some(format!("{value} (must be a finite number, 0 or more)"))
    }
}

/// Cumulative counters only grow, or all start again from zero when the
/// backend restarts (the traffic window restarts with them).
fn check_counters(
    counters: &TrafficCounters,
    previous: Option<&TrafficCounters>,
) -> Result<(), String> {
    if counters.errors_total > counters.requests_total {
        return Err(format!(
            "report.traffic.errors_total: {} errors above {} requests",
            counters.errors_total, counters.requests_total
        ));
    }
    if let Some(problem) = non_negative_finite(counters.request_duration_seconds_sum) {
        return Err(format!(
            "report.traffic.request_duration_seconds_sum: {problem}"
        ));
    }
    let Some(previous) = previous else {
        return Ok(());
    };
    let reset = counters.requests_total < previous.requests_total;
    if !reset && counters.errors_total < previous.errors_total {
        return Err(format!(
            "report.traffic.errors_total: went back from {} to {} while requests_total grew from {} to {}; \
             counters only go back when the backend restarts, and then they all do",
            previous.errors_total,
            counters.errors_total,
            previous.requests_total,
            counters.requests_total
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenlight_proto::v1::{HttpDetail, TrafficDetail};

    fn check(name: &str) -> CheckResult {
        CheckResult {
            check: name.into(),
            status: 1,
            ..Default::default()
        }
    }

    fn report(checks: Vec<CheckResult>) -> Report {
        Report {
            sequence: 1,
            checks,
            ..Default::default()
        }
    }

    fn refusal(mut report: Report, previous: Option<&TrafficCounters>) -> String {
        check_ranges(&mut report, previous).expect_err("refused")
    }

    #[test]
    fn an_honest_report_passes_untouched() {
        let mut honest = report(vec![check("postgres"), check("http")]);
        let before = honest.clone();
        check_ranges(&mut honest, None).unwrap();
        assert_eq!(honest, before);
    }

    #[test]
    fn each_impossible_number_is_refused_naming_field_and_value() {
        let cases: [(f64, &str); 4] = [
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-0.5, "-0.5"),
        ];
        for (value, shown) in cases {
            let mut bad = check("http");
            bad.duration_seconds = value;
            let refused = refusal(report(vec![check("postgres"), bad]), None);
            assert!(
                refused.starts_with(&format!("report.checks[1].duration_seconds: {shown} ")),
                "{refused}"
            );
        }
    }

    #[test]
    fn detail_values_are_checked_too() {
        let mut bad = check("http");
        bad.detail = Some(Detail::Http(HttpDetail {
            status_code: 200,
            latency_seconds: f64::NAN,
        }));
        assert!(
            refusal(report(vec![bad]), None)
                .starts_with("report.checks[0].http.latency_seconds: NaN")
        );
        let mut bad = check("traffic");
        bad.detail = Some(Detail::Traffic(TrafficDetail {
            window_requests: 10,
            window_errors: 11,
            ..Default::default()
        }));
        assert!(refusal(report(vec![bad]), None).contains("11 errors above 10 requests"));
    }

    #[test]
    fn a_long_name_is_refused_and_a_long_error_clamped() {
        let long = check(&"x".repeat(MAX_NAME_BYTES + 1));
        assert!(refusal(report(vec![long]), None).starts_with("report.checks[0].check: 129 bytes"));
        let mut noisy = check("http");
        noisy.error = "e".repeat(256 * 1024);
        let mut taken = report(vec![noisy]);
        check_ranges(&mut taken, None).unwrap();
        assert!(taken.checks[0].error.ends_with("[clamped: 262144 bytes]"));
    }

    #[test]
    fn a_control_character_in_a_name_is_refused() {
        let bad = check("http\u{1b}[2J");
        assert!(refusal(report(vec![bad]), None).contains("control character"));
    }

    #[test]
    fn the_same_check_twice_is_refused() {
        let refused = refusal(
            report(vec![check("http"), check("redis"), check("http")]),
            None,
        );
        assert!(refused.starts_with("report.checks[2].check"), "{refused}");
        assert!(refused.contains("report.checks[0]"), "{refused}");
    }

    #[test]
    fn too_many_checks_are_refused() {
        let many = (0..=MAX_CHECKS).map(|i| check(&format!("c{i}"))).collect();
        assert!(refusal(report(many), None).starts_with("report.checks: 65 checks"));
    }

    #[test]
    fn counters_errors_above_requests_or_going_back_alone_are_refused() {
        let counters = |requests, errors| TrafficCounters {
            requests_total: requests,
            errors_total: errors,
            ..Default::default()
        };
        let with = |traffic| Report {
            traffic: Some(traffic),
            ..report(vec![])
        };
        assert!(refusal(with(counters(5, 6)), None).contains("6 errors above 5 requests"));
        assert!(refusal(with(counters(u64::MAX - 1, u64::MAX)), None).contains("errors above"));
        let before = counters(1000, 50);
        assert!(
            refusal(with(counters(1100, 40)), Some(&before)).contains("went back from 50 to 40")
        );
        // A backend restart: everything starts again.
        check_ranges(&mut with(counters(10, 0)), Some(&before)).unwrap();
        // Counters at the top of their range are still counters.
        check_ranges(&mut with(counters(u64::MAX, 50)), Some(&before)).unwrap();
    }

    #[test]
    fn an_observation_time_outside_any_clock_is_refused() {
        let mut bad = report(vec![]);
        bad.observed_at = Some(prost_types::Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        });
        assert!(refusal(bad.clone(), None).starts_with("report.observed_at.seconds"));
        bad.observed_at = Some(prost_types::Timestamp {
            seconds: 1,
            nanos: -1,
        });
        assert!(refusal(bad, None).starts_with("report.observed_at.nanos"));
    }
}
