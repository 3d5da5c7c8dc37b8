//! The rules end to end through [`lint`]: statement in, (line, rule) out.

use crate::finding::{Outcome, Summary};
use crate::lint::lint;
use crate::rule::Rule;

const SAMPLE: &str = include_str!("../../deploy/migrations/20250127_add_processing_status.sql");
const EMERGENCY: &str = include_str!("../testdata/emergency_rollback.sql");
const DANGEROUS: &str = include_str!("../testdata/dangerous.sql");
const MALFORMED: &str = include_str!("../testdata/malformed.sql");

/// Every (line, rule id) of a file, in order.
fn hits(sql: &str) -> Vec<(usize, &'static str)> {
    lint("m.sql", sql)
        .findings
        .iter()
        .map(|finding| (finding.line, finding.rule.id()))
        .collect()
}

/// The rule ids of a one-statement file.
fn rules(sql: &str) -> Vec<&'static str> {
    hits(sql).into_iter().map(|(_, rule)| rule).collect()
}

fn outcome(sql: &str) -> Outcome {
    Summary::of(&[lint("m.sql", sql)]).outcome()
}

#[test]
fn the_guides_sample_migration_has_nothing_dangerous() {
    assert_eq!(
        hits(SAMPLE),
        vec![
            (2, "no_schema_change"),
            (5, "enum_value_added"),
            (5, "enum_value_added_in_transaction"),
            (8, "column_added"),
            (12, "index_created"),
            (12, "index_not_concurrent"),
            // PostgreSQL 15 refuses it: "unsafe use of new value".
            (12, "enum_value_used_before_commit"),
            (15, "no_schema_change"),
        ]
    );
    assert_eq!(outcome(SAMPLE), Outcome::Clean);
}

#[test]
fn the_guides_emergency_sql_is_flagged() {
    assert_eq!(
        hits(EMERGENCY),
        vec![
            (2, "no_schema_change"),
            (5, "table_created"),
            (5, "table_copied"),
            (9, "enum_value_removed"),
            (11, "no_schema_change"),
        ]
    );
    assert_eq!(outcome(EMERGENCY), Outcome::Dangerous);
}

#[test]
fn every_dangerous_rule_on_its_line() {
    assert_eq!(
        hits(DANGEROUS),
        vec![
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
        ]
    );
    let dangerous: Vec<&str> = Rule::ALL
        .iter()
        .filter(|rule| rule.severity() == crate::rule::Severity::Dangerous)
        .map(|rule| rule.id())
        .collect();
    let found: Vec<&str> = rules(DANGEROUS);
    assert_eq!(
        found, dangerous,
        "testdata/dangerous.sql covers every dangerous rule"
    );
}

#[test]
fn malformed_sql_is_a_parse_error_with_its_line_and_the_rest_is_still_judged() {
    let report = lint("m.sql", MALFORMED);
    let found: Vec<(usize, &str)> = report
        .findings
        .iter()
        .map(|finding| (finding.line, finding.rule.id()))
        .collect();
    assert_eq!(
        found,
        vec![(1, "table_created"), (4, "parse_error"), (6, "parse_error")]
    );
    let detail = report.findings[2].detail.as_deref().unwrap();
    assert!(detail.starts_with("line 6, column 1: Expected"), "{detail}");
    assert_eq!(outcome(MALFORMED), Outcome::Broken);
}

#[test]
fn an_unterminated_string_is_a_parse_error_not_a_crash() {
    let report = lint("m.sql", "SELECT 1;\n\nSELECT 'never closed;\n");
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].line, 3);
    assert_eq!(report.findings[0].rule, Rule::ParseError);
}

#[test]
fn garbage_never_panics() {
    for sql in [
        "",
        ";",
        "$$",
        "'",
        "\"",
        "/*",
        "--",
        "((((((((((",
        "BEGIN ATOMIC",
        "END;",
        "\u{0}",
        "ALTER",
        "ALTER TYPE",
        "CREATE INDEX ON",
        "DROP",
        "é;ü;",
    ] {
        let _ = lint("m.sql", sql);
    }
    let deep = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(rules(&deep), vec!["parse_error"]);
}

#[test]
fn safe_statements() {
    for (sql, expected) in [
        ("ALTER TABLE c ADD COLUMN a text", vec!["column_added"]),
        (
            "ALTER TABLE c ADD COLUMN a int NOT NULL DEFAULT 0",
            vec!["column_added"],
        ),
        (
            "ALTER TABLE c ADD COLUMN a timestamptz DEFAULT now()",
            vec!["column_added"],
        ),
        (
            "CREATE TABLE t (id bigint PRIMARY KEY)",
            vec!["table_created"],
        ),
        (
            "CREATE INDEX CONCURRENTLY i ON c (a)",
            vec!["index_created"],
        ),
        ("DROP INDEX CONCURRENTLY i", vec!["index_dropped"]),
        (
            "ALTER TYPE e ADD VALUE 'x' AFTER 'y'",
            vec!["enum_value_added"],
        ),
        (
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
            vec!["function_created"],
        ),
        (
            "CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$",
            vec!["function_created"],
        ),
        ("CREATE TYPE e AS ENUM ('a', 'b')", vec!["object_created"]),
        ("CREATE VIEW v AS SELECT 1", vec!["object_created"]),
        (
            "CREATE EXTENSION IF NOT EXISTS pgcrypto",
            vec!["object_created"],
        ),
        (
            "ALTER TABLE c ALTER COLUMN a DROP NOT NULL",
            vec!["column_relaxed"],
        ),
        (
            "ALTER TABLE c ALTER COLUMN a SET DEFAULT 1",
            vec!["column_relaxed"],
        ),
        ("SET lock_timeout = '5s'", vec!["no_schema_change"]),
        ("COMMENT ON COLUMN c.a IS 'why'", vec!["no_schema_change"]),
    ] {
        assert_eq!(rules(sql), expected, "{sql}");
        assert_eq!(outcome(sql), Outcome::Clean, "{sql}");
    }
}

#[test]
fn warnings_and_info_do_not_fail() {
    for (sql, expected) in [
        (
            "ALTER TABLE c ADD COLUMN id uuid DEFAULT gen_random_uuid()",
            vec!["column_added", "column_default_rewrites_table"],
        ),
        (
            "ALTER TABLE c ADD COLUMN n bigserial",
            vec!["column_added", "column_default_rewrites_table"],
        ),
        (
            "ALTER TABLE c ADD COLUMN d int GENERATED ALWAYS AS (a * 2) STORED",
            vec!["column_added", "column_default_rewrites_table"],
        ),
        (
            "ALTER TABLE c ADD COLUMN code text UNIQUE",
            vec!["column_added", "constraint_builds_index"],
        ),
        (
            "ALTER TABLE c ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES b (id)",
            vec!["constraint_added", "constraint_without_not_valid"],
        ),
        (
            "ALTER TABLE c ADD CONSTRAINT ck CHECK (a > 0)",
            vec!["constraint_added", "constraint_without_not_valid"],
        ),
        (
            "ALTER TABLE c ADD CONSTRAINT ck CHECK (a > 0) NOT VALID",
            vec!["constraint_added"],
        ),
        (
            "ALTER TABLE c ADD CONSTRAINT u UNIQUE (a)",
            vec!["constraint_added", "constraint_builds_index"],
        ),
        (
            "ALTER TABLE c ADD CONSTRAINT u UNIQUE USING INDEX i",
            vec!["constraint_added"],
        ),
        ("DROP INDEX i", vec!["index_drop_not_concurrent"]),
        ("UPDATE c SET a = 1 WHERE a IS NULL", vec!["data_changed"]),
        (
            "CREATE TRIGGER t BEFORE INSERT ON c FOR EACH ROW EXECUTE FUNCTION f()",
            vec!["not_classified"],
        ),
        ("DO $$ BEGIN NULL; END $$", vec!["not_classified"]),
        (
            "CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 2 $$ LANGUAGE sql",
            vec!["function_created", "function_replaced"],
        ),
    ] {
        assert_eq!(rules(sql), expected, "{sql}");
        assert_eq!(outcome(sql), Outcome::Clean, "{sql}");
    }
}

#[test]
fn one_alter_table_with_several_operations_is_judged_per_operation() {
    assert_eq!(
        rules("ALTER TABLE c ADD COLUMN b text, DROP COLUMN a, ALTER COLUMN d TYPE text"),
        vec!["column_added", "column_dropped", "column_type_changed"]
    );
}

#[test]
fn a_table_created_in_the_same_file_needs_no_concurrent_index_nor_care_for_not_null() {
    let sql = "CREATE TABLE public.t (a int);\n\
               CREATE INDEX i ON t (a);\n\
               ALTER TABLE t ALTER COLUMN a SET NOT NULL;\n\
               CREATE INDEX j ON other (a);";
    assert_eq!(
        hits(sql),
        vec![
            (1, "table_created"),
            (2, "index_created"),
            (3, "table_created"),
            (4, "index_created"),
            (4, "index_not_concurrent"),
        ]
    );
}

#[test]
fn transaction_blocks_are_followed() {
    let sql = "BEGIN;\n\
               ALTER TYPE e ADD VALUE 'new';\n\
               CREATE INDEX CONCURRENTLY i ON c (a);\n\
               COMMIT;\n\
               ALTER TYPE e ADD VALUE 'later';\n\
               UPDATE c SET s = 'new';\n\
               START TRANSACTION;\n\
               UPDATE c SET s = 'later';\n\
               ROLLBACK;";
    assert_eq!(
        hits(sql),
        vec![
            (1, "no_schema_change"),
            (2, "enum_value_added"),
            (2, "enum_value_added_in_transaction"),
            (3, "index_created"),
            (3, "concurrently_in_transaction"),
            (4, "no_schema_change"),
            // Outside a block: no warning, and a later use is committed.
            (5, "enum_value_added"),
            (6, "data_changed"),
            (7, "no_schema_change"),
            (8, "data_changed"),
            (9, "no_schema_change"),
        ]
    );
}

#[test]
fn an_allow_comment_with_a_reason_allows_the_rule_it_names() {
    let sql = "-- greenlight: allow column_dropped because v3.0 no longer runs anywhere (OPS-7)\n\
               ALTER TABLE c DROP COLUMN legacy;\n";
    let report = lint("m.sql", sql);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].line, 2);
    assert_eq!(
        report.findings[0].allowed_because.as_deref(),
        Some("v3.0 no longer runs anywhere (OPS-7)")
    );
    assert_eq!(Summary::of(&[report]).outcome(), Outcome::Clean);
}

#[test]
fn an_allow_covers_only_its_rule_and_statement() {
    let sql = "-- greenlight: allow column_dropped because retired\n\
               ALTER TABLE c DROP COLUMN a, RENAME COLUMN b TO x;\n\
               ALTER TABLE c DROP COLUMN d;\n";
    let report = lint("m.sql", sql);
    let allowed: Vec<(usize, &str, bool)> = report
        .findings
        .iter()
        .map(|f| (f.line, f.rule.id(), f.allowed_because.is_some()))
        .collect();
    assert_eq!(
        allowed,
        vec![
            (2, "column_dropped", true),
            (2, "column_renamed", false),
            (3, "column_dropped", false),
        ]
    );
    assert_eq!(Summary::of(&[report]).outcome(), Outcome::Dangerous);
}

#[test]
fn broken_and_unused_allows_are_reported_on_their_own_lines() {
    let sql = "-- greenlight: allow column_dropped\n\
               ALTER TABLE c DROP COLUMN a;\n\
               -- greenlight: allow table_dropped because wrong rule\n\
               ALTER TABLE c ADD COLUMN b text;\n\
               -- greenlight: allow parse_error because psql takes it\n\
               SELEC 1;\n";
    assert_eq!(
        hits(sql),
        vec![
            (1, "allow_without_reason"),
            (2, "column_dropped"),
            (4, "column_added"),
            (3, "allow_unused"),
            (6, "parse_error"),
        ]
    );
    let report = lint("m.sql", sql);
    assert!(report.findings[4].allowed_because.is_some());
    // The allow without a reason is an error, whatever else is there.
    assert_eq!(Summary::of(&[report]).outcome(), Outcome::Broken);
}
