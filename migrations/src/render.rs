//! Findings for people (text) and for scripts (one JSON document).
//!
//! Text leaves safe statements out (the summary counts them); JSON has
//! every finding, safe ones included, with the same fields.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::finding::{FileReport, Finding, Outcome, Summary};
use crate::rule::Severity;

/// One block per finding that is not safe, then the summary line.
pub fn text(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for finding in reports.iter().flat_map(|report| &report.findings) {
        if finding.severity() == Severity::Safe {
            continue;
        }
        let rule = finding.rule;
        let label = match &finding.allowed_because {
            Some(_) => format!("allowed ({})", rule.severity().as_str()),
            None => rule.severity().as_str().to_owned(),
        };
        let _ = writeln!(
            out,
            "{}:{}: {label} {}",
            finding.file,
            finding.line,
            rule.id()
        );
        if !finding.statement.is_empty() {
            let _ = writeln!(out, "    {}", finding.statement);
        }
        if let Some(detail) = &finding.detail {
            let _ = writeln!(out, "    ({detail})");
        }
        if let Some(reason) = &finding.allowed_because {
            let _ = writeln!(out, "    allowed because: {reason}");
            continue;
        }
        let _ = writeln!(out, "    why: {}", rule.why());
        if let Some(instead) = rule.instead() {
            let _ = writeln!(out, "    instead: {instead}");
        }
    }
    let summary = Summary::of(reports);
    let _ = writeln!(out, "{}", summary_line(&summary));
    out
}

fn summary_line(summary: &Summary) -> String {
    let counts = format!(
        "{} {}, {} {}: {} dangerous, {} {}, {} info, {} allowed, {} {}",
        summary.files,
        plural(summary.files, "file"),
        summary.statements,
        plural(summary.statements, "statement"),
        summary.dangerous,
        summary.warnings,
        plural(summary.warnings, "warning"),
        summary.info,
        summary.allowed,
        summary.errors,
        plural(summary.errors, "error"),
    );
    let verdict = match summary.outcome() {
        Outcome::Clean => "nothing dangerous".to_owned(),
        Outcome::Dangerous => "DANGEROUS: change the migration, or put \
             `-- greenlight: allow <rule> because <reason>` right above the statement"
            .to_owned(),
        Outcome::Broken => "NOT JUDGED: fix the errors above".to_owned(),
    };
    format!("{counts}. {verdict}")
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

/// `{"findings": [...], "summary": {...}}`.
pub fn json(reports: &[FileReport]) -> Value {
    let findings: Vec<Value> = reports
        .iter()
        .flat_map(|report| &report.findings)
        .map(finding_json)
        .collect();
    let summary = Summary::of(reports);
    let outcome = match summary.outcome() {
        Outcome::Clean => "clean",
        Outcome::Dangerous => "dangerous",
        Outcome::Broken => "error",
    };
    json!({
        "findings": findings,
        "summary": {
            "files": summary.files,
            "statements": summary.statements,
            "dangerous": summary.dangerous,
            "warnings": summary.warnings,
            "info": summary.info,
            "allowed": summary.allowed,
            "errors": summary.errors,
            "outcome": outcome,
        },
    })
}

fn finding_json(finding: &Finding) -> Value {
    json!({
        "file": finding.file,
        "line": finding.line,
        "statement": finding.statement,
        "rule": finding.rule.id(),
        "severity": finding.severity().as_str(),
        "why": finding.rule.why(),
        "instead": finding.rule.instead(),
        "detail": finding.detail,
        "allowed_because": finding.allowed_because,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::lint;

    const SQL: &str = "CREATE TABLE t (id int);\n\
        ALTER TABLE customers DROP COLUMN notes;\n\
        -- greenlight: allow table_dropped because the backup is restored elsewhere\n\
        DROP TABLE customers_backup;\n";

    #[test]
    fn text_shows_what_is_not_safe_with_why_and_instead() {
        let text = text(&[lint("m.sql", SQL)]);
        assert!(!text.contains("CREATE TABLE"), "{text}");
        assert!(
            text.contains(
                "m.sql:2: dangerous column_dropped\n    ALTER TABLE customers DROP COLUMN notes\n    (customers.notes)\n    why: The old color"
            ),
            "{text}"
        );
        assert!(text.contains("    instead: Expand/contract"), "{text}");
        assert!(
            text.contains(
                "m.sql:4: allowed (dangerous) table_dropped\n    DROP TABLE customers_backup\n    (customers_backup)\n    allowed because: the backup is restored elsewhere\n"
            ),
            "{text}"
        );
        assert!(
            text.ends_with(
                "1 file, 3 statements: 1 dangerous, 0 warnings, 0 info, 1 allowed, 0 errors. DANGEROUS: change the migration, or put `-- greenlight: allow <rule> because <reason>` right above the statement\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn json_has_every_finding_and_the_summary() {
        let value = json(&[lint("m.sql", SQL)]);
        let findings = value["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 3, "{value:#}");
        assert_eq!(findings[0]["rule"], "table_created");
        assert_eq!(findings[0]["severity"], "safe");
        assert_eq!(findings[0]["instead"], Value::Null);
        assert_eq!(findings[1]["line"], 2);
        assert_eq!(findings[1]["rule"], "column_dropped");
        assert_eq!(findings[1]["severity"], "dangerous");
        assert_eq!(
            findings[1]["statement"],
            "ALTER TABLE customers DROP COLUMN notes"
        );
        assert_eq!(findings[1]["allowed_because"], Value::Null);
        assert_eq!(
            findings[2]["allowed_because"],
            "the backup is restored elsewhere"
        );
        assert_eq!(value["summary"]["dangerous"], 1);
        assert_eq!(value["summary"]["allowed"], 1);
        assert_eq!(value["summary"]["outcome"], "dangerous");
    }

    #[test]
    fn a_clean_run_says_so() {
        let text = text(&[lint("a.sql", "CREATE TABLE t (id int);"), lint("b.sql", "")]);
        assert_eq!(
            text,
            "2 files, 1 statement: 0 dangerous, 0 warnings, 0 info, 0 allowed, 0 errors. nothing dangerous\n"
        );
    }
}
