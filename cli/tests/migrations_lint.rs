//! Issue 13: `greenlight migrations lint`, the real binary. The guide's
//! sample migration (deploy/migrations/) lints clean with its warnings
//! printed; the guide's emergency SQL and one statement per dangerous rule
//! are flagged with the right rule and line, in text and JSON; malformed
//! SQL is a parse error with file and line, never a panic; allow comments;
//! directories; the exit codes.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const SAMPLE: &str = "deploy/migrations/20250127_add_processing_status.sql";
const EMERGENCY: &str = "migrations/testdata/emergency_rollback.sql";
const DANGEROUS: &str = "migrations/testdata/dangerous.sql";
const MALFORMED: &str = "migrations/testdata/malformed.sql";

/// The workspace root: paths in findings are as given, relative to it.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ is inside the workspace")
        .to_path_buf()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn greenlight(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_greenlight"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("greenlight runs");
    let run = Run {
        code: output.status.code().expect("an exit code, not a signal"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "greenlight {args:?} panicked:\n{}",
        run.stderr
    );
    run
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut args = args.to_vec();
    args.push("--json");
    let run = greenlight(&args);
    let value = serde_json::from_str(&run.stdout).unwrap_or_else(|error| {
        panic!("{args:?}: not JSON ({error}):\n{}", run.stdout);
    });
    (run.code, value)
}

/// (line, rule, severity) of every finding that is not safe.
fn flagged(document: &Value) -> Vec<(u64, String, String)> {
    document["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|finding| finding["severity"] != "safe")
        .map(|finding| {
            (
                finding["line"].as_u64().unwrap(),
                finding["rule"].as_str().unwrap().to_owned(),
                finding["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn triple(line: u64, rule: &str, severity: &str) -> (u64, String, String) {
    (line, rule.to_owned(), severity.to_owned())
}

#[test]
fn the_guides_sample_migration_lints_clean_and_prints_its_warnings() {
    let run = greenlight(&["migrations", "lint", "deploy/migrations"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for line in [
        format!("{SAMPLE}:5: warning enum_value_added_in_transaction"),
        format!("{SAMPLE}:12: warning index_not_concurrent"),
        format!("{SAMPLE}:12: warning enum_value_used_before_commit"),
        "    ALTER TYPE queue_status_enum ADD VALUE IF NOT EXISTS 'processing'".to_owned(),
        "1 file, 5 statements: 0 dangerous, 3 warnings, 0 info, 0 allowed, 0 errors. nothing dangerous"
            .to_owned(),
    ] {
        assert!(run.stdout.contains(&line), "no {line:?} in:\n{}", run.stdout);
    }
    assert!(!run.stdout.contains("dangerous "), "{}", run.stdout);

    let (code, document) = json(&["migrations", "lint", SAMPLE]);
    assert_eq!(code, 0);
    assert_eq!(document["summary"]["dangerous"], 0);
    assert_eq!(document["summary"]["outcome"], "clean");
    assert_eq!(document["summary"]["statements"], 5);
    let added = &document["findings"][1];
    assert_eq!(added["file"], SAMPLE);
    assert_eq!(added["line"], 5);
    assert_eq!(added["rule"], "enum_value_added");
    assert_eq!(added["severity"], "safe");
    assert_eq!(
        flagged(&document),
        vec![
            triple(5, "enum_value_added_in_transaction", "warning"),
            triple(12, "index_not_concurrent", "warning"),
            triple(12, "enum_value_used_before_commit", "warning"),
        ]
    );
}

#[test]
fn the_guides_emergency_sql_is_flagged_in_text_and_json() {
    let run = greenlight(&["migrations", "lint", EMERGENCY]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    for line in [
        format!("{EMERGENCY}:5: info table_copied"),
        "    CREATE TABLE customers_backup AS SELECT * FROM customers".to_owned(),
        format!("{EMERGENCY}:9: dangerous enum_value_removed"),
        "    ALTER TYPE queue_status_enum DROP VALUE 'processing'".to_owned(),
        "    why: PostgreSQL has no DROP VALUE".to_owned(),
        "    instead: Keep the value".to_owned(),
    ] {
        assert!(
            run.stdout.contains(&line),
            "no {line:?} in:\n{}",
            run.stdout
        );
    }

    let (code, document) = json(&["migrations", "lint", EMERGENCY]);
    assert_eq!(code, 1);
    assert_eq!(
        flagged(&document),
        vec![
            triple(5, "table_copied", "info"),
            triple(9, "enum_value_removed", "dangerous"),
        ]
    );
    let removed = &document["findings"][3];
    assert_eq!(
        removed["statement"],
        "ALTER TYPE queue_status_enum DROP VALUE 'processing'"
    );
    assert!(removed["why"].as_str().unwrap().contains("no DROP VALUE"));
    assert_eq!(document["summary"]["outcome"], "dangerous");
}

#[test]
fn every_dangerous_rule_is_flagged_on_its_line() {
    let expected = [
        (2, "column_dropped"),
        (3, "table_dropped"),
        (4, "object_dropped"),
        (5, "table_truncated"),
        (6, "table_renamed"),
        (7, "column_renamed"),
        (8, "type_renamed"),
        (9, "object_renamed"),
        (10, "enum_value_renamed"),
        (11, "enum_value_removed"),
        (12, "column_type_changed"),
        (13, "not_null_set"),
        (15, "not_null_column_without_default"),
    ];
    let run = greenlight(&["migrations", "lint", DANGEROUS]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    for (line, rule) in expected {
        let heading = format!("{DANGEROUS}:{line}: dangerous {rule}\n");
        assert!(
            run.stdout.contains(&heading),
            "no {heading:?} in:\n{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains("13 dangerous"), "{}", run.stdout);

    let (code, document) = json(&["migrations", "lint", DANGEROUS]);
    assert_eq!(code, 1);
    let expected: Vec<_> = expected
        .iter()
        .map(|(line, rule)| triple(*line, rule, "dangerous"))
        .collect();
    assert_eq!(flagged(&document), expected);
    assert_eq!(document["summary"]["dangerous"], 13);
}

#[test]
fn malformed_sql_is_a_parse_error_with_file_and_line_and_exit_2() {
    let run = greenlight(&["migrations", "lint", MALFORMED]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    for line in [
        format!("{MALFORMED}:4: error parse_error"),
        "    (line 4: Expected: identifier, found: EOF)".to_owned(),
        format!("{MALFORMED}:6: error parse_error"),
        "    (line 6, column 1: Expected: an SQL statement, found: SELEC)".to_owned(),
        "NOT JUDGED".to_owned(),
    ] {
        assert!(
            run.stdout.contains(&line),
            "no {line:?} in:\n{}",
            run.stdout
        );
    }

    let (code, document) = json(&["migrations", "lint", MALFORMED]);
    assert_eq!(code, 2);
    assert_eq!(
        flagged(&document),
        vec![
            triple(4, "parse_error", "error"),
            triple(6, "parse_error", "error")
        ]
    );
    assert_eq!(document["summary"]["outcome"], "error");
}

#[test]
fn an_unterminated_string_is_a_parse_error_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.sql");
    std::fs::write(
        &file,
        "BEGIN;\nALTER TABLE t ADD COLUMN c text DEFAULT 'x;\nCOMMIT;\n",
    )
    .unwrap();
    let run = greenlight(&["migrations", "lint", file.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let heading = format!("{}:2: error parse_error", file.display());
    assert!(run.stdout.contains(&heading), "{}", run.stdout);
}

#[test]
fn an_allow_comment_with_a_reason_passes_and_one_without_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("0001_drop.sql");
    std::fs::write(
        &file,
        "-- greenlight: allow column_dropped because no version since v3.0 reads it (OPS-142)\n\
         ALTER TABLE customers DROP COLUMN notes;\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let run = greenlight(&["migrations", "lint", path]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!(
            "{path}:2: allowed (dangerous) column_dropped\n    ALTER TABLE customers DROP COLUMN notes\n    (customers.notes)\n    allowed because: no version since v3.0 reads it (OPS-142)\n"
        )),
        "{}",
        run.stdout
    );
    let (code, document) = json(&["migrations", "lint", path]);
    assert_eq!(code, 0);
    assert_eq!(
        document["findings"][0]["allowed_because"],
        "no version since v3.0 reads it (OPS-142)"
    );
    assert_eq!(document["summary"]["allowed"], 1);

    std::fs::write(
        &file,
        "-- greenlight: allow column_dropped\nALTER TABLE customers DROP COLUMN notes;\n",
    )
    .unwrap();
    let run = greenlight(&["migrations", "lint", path]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains(&format!("{path}:1: error allow_without_reason")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("{path}:2: dangerous column_dropped")),
        "{}",
        run.stdout
    );
}

#[test]
fn a_directory_is_its_sql_files_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("0002_b.sql"), "DROP TABLE b;\n").unwrap();
    std::fs::write(dir.path().join("0001_a.sql"), "DROP TABLE a;\n").unwrap();
    std::fs::write(dir.path().join("README.txt"), "DROP TABLE not_sql;\n").unwrap();
    let (code, document) = json(&["migrations", "lint", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let files: Vec<&str> = document["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["file"].as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 2, "{document:#}");
    assert!(
        files[0].ends_with("0001_a.sql") && files[1].ends_with("0002_b.sql"),
        "{files:?}"
    );
    assert_eq!(document["summary"]["files"], 2);
}

#[test]
fn what_cannot_be_read_is_a_usage_error() {
    let empty = tempfile::tempdir().unwrap();
    let run = greenlight(&["migrations", "lint", empty.path().to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no *.sql files in"), "{}", run.stderr);

    let run = greenlight(&["migrations", "lint", "no/such/file.sql"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot read no/such/file.sql"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    let (code, document) = json(&["migrations", "lint", "no/such/file.sql"]);
    assert_eq!(code, 2);
    assert_eq!(document["error"], "usage");
    assert_eq!(document["exit_code"], 2);

    let run = greenlight(&["migrations", "lint"]);
    assert_eq!(run.code, 2, "no path at all: {}", run.stderr);
}

#[test]
fn help_explains_the_exit_codes_and_the_allow_comment() {
    let run = greenlight(&["migrations", "lint", "--help"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .contains("-- greenlight: allow <rule> because <reason>"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Exit 0: nothing dangerous"),
        "{}",
        run.stdout
    );
}
