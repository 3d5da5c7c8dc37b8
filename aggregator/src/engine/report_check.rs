//! Checking a report's values before the engine reads them. A value the
//! aggregator does not know (a status, a kind added by a newer agent, or
//! sent by a client that lies) is never read as passing: the report is
//! refused with the field named, and the check it belongs to counts as
//! failing, so nothing stale or made up keeps a verdict green.

use greenlight_proto::names::{check_kind_name, parse_check_kind};
use greenlight_proto::v1::{CheckKind, CheckResult, CheckStatus, Report};

/// A report that cannot be taken at all (no sequence, a nameless check).
pub fn malformed(report: &Report) -> Option<String> {
    if report.sequence == 0 {
        return Some("report.sequence: must start at 1".into());
    }
    if let Some((index, bad)) = report
        .checks
        .iter()
        .enumerate()
        .find(|(_, check)| check.check.is_empty() && check.kind == 0)
    {
        return Some(format!(
            "report.checks[{index}].check: empty check name and no kind (component {:?})",
            bad.component
        ));
    }
    None
}

/// Makes every check's values known: a check with an unknown status or
/// kind becomes a failing check whose error says what was refused.
/// Returns the refusals, each naming its field; empty = all known.
pub fn refuse_unknown_values(report: &mut Report) -> Vec<String> {
    let mut refused = Vec::new();
    for (index, check) in report.checks.iter_mut().enumerate() {
        if let Some(problem) = unknown_value(index, check) {
            check.status = CheckStatus::Fail as i32;
            check.error = format!("refused by the aggregator: {problem}");
            if check.check.is_empty() {
                check.check = format!("unknown_kind_{}", check.kind);
            }
            refused.push(problem);
        }
    }
    refused
}

fn unknown_value(index: usize, check: &mut CheckResult) -> Option<String> {
    let field = |name: &str| format!("report.checks[{index}].{name}");
    match CheckStatus::try_from(check.status) {
        Ok(
            CheckStatus::Pass | CheckStatus::Warn | CheckStatus::Fail | CheckStatus::Inconclusive,
        ) => {}
        Ok(CheckStatus::Unspecified) => {
            return Some(format!(
                "{}: not set (check {:?})",
                field("status"),
                check.check
            ));
        }
        Err(_) => {
            return Some(format!(
                "{}: unknown value {} (check {:?})",
                field("status"),
                check.status,
                check.check
            ));
        }
    }
    let named = parse_check_kind(&check.check);
    match CheckKind::try_from(check.kind) {
        Ok(CheckKind::Unspecified) if named.is_some() => None,
        Ok(CheckKind::Unspecified) => Some(format!(
            "{}: unknown check {:?} (known: postgres, redis, websocket, http, traffic, process)",
            field("check"),
            check.check
        )),
        Ok(kind) if check.check.is_empty() => {
            check.check = check_kind_name(kind).to_string();
            None
        }
        Ok(kind) if named == Some(kind) => None,
        Ok(kind) => Some(format!(
            "{}: {} disagrees with check {:?}",
            field("kind"),
            check_kind_name(kind),
            check.check
        )),
        Err(_) => Some(format!(
            "{}: unknown value {} (check {:?})",
            field("kind"),
            check.kind,
            check.check
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, status: i32, kind: i32) -> CheckResult {
        CheckResult {
            check: name.into(),
            status,
            kind,
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

    #[test]
    fn known_values_pass_untouched() {
        let mut ok = report(vec![
            check("postgres", CheckStatus::Pass as i32, 0),
            check(
                "http",
                CheckStatus::Inconclusive as i32,
                CheckKind::Http as i32,
            ),
            check("", CheckStatus::Warn as i32, CheckKind::Redis as i32),
        ]);
        assert!(refuse_unknown_values(&mut ok).is_empty());
        assert_eq!(ok.checks[2].check, "redis");
    }

    #[test]
    fn an_unknown_status_is_refused_and_fails_the_check() {
        let mut bad = report(vec![check("http", 7, 0)]);
        let refused = refuse_unknown_values(&mut bad);
        assert_eq!(refused.len(), 1);
        assert!(
            refused[0].starts_with("report.checks[0].status: unknown value 7"),
            "{refused:?}"
        );
        assert_eq!(bad.checks[0].status(), CheckStatus::Fail);
        assert!(bad.checks[0].error.contains("unknown value 7"));
    }

    #[test]
    fn unknown_kinds_and_names_are_refused_by_field() {
        let cases = [
            (
                check("http", 1, 42),
                "report.checks[0].kind: unknown value 42",
            ),
            (
                check("telepathy", 1, 0),
                "report.checks[0].check: unknown check",
            ),
            (
                check("http", 1, CheckKind::Postgres as i32),
                "report.checks[0].kind: postgres disagrees",
            ),
            (check("http", 0, 0), "report.checks[0].status: not set"),
        ];
        for (check, expected) in cases {
            let mut bad = report(vec![check]);
            let refused = refuse_unknown_values(&mut bad);
            assert!(refused[0].starts_with(expected), "{refused:?}");
            assert_eq!(bad.checks[0].status(), CheckStatus::Fail);
        }
    }

    #[test]
    fn malformed_reports_name_the_field() {
        assert!(
            malformed(&Report::default())
                .unwrap()
                .contains("report.sequence")
        );
        let nameless = report(vec![check("", 1, 0)]);
        assert!(
            malformed(&nameless)
                .unwrap()
                .contains("report.checks[0].check")
        );
    }
}
