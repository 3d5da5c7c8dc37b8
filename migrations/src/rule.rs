//! The rules: each one's id (what allow comments and `--json` name), its
//! severity, why it matters while both colors run, and what to do instead.
//! docs/migrations.md is this table in prose; a test keeps them together.

/// How much a finding matters; the order is by weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Known and harmless while both colors run.
    Safe,
    /// Worth a look, never fails the lint (e.g. a statement no rule covers).
    Info,
    /// A locking hazard or a migration that will fail; printed, not failed.
    Warning,
    /// Breaks the old color (or a rollback to it): fails the lint.
    Dangerous,
    /// The input could not be judged (unparseable SQL, a broken allow
    /// comment): fails the lint, as a usage error.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Safe => "safe",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Dangerous => "dangerous",
            Severity::Error => "error",
        }
    }
}

macro_rules! rules {
    ($($(#[$doc:meta])* $variant:ident = $id:literal, $severity:ident, $why:literal, $instead:literal;)*) => {
        /// One thing a statement can be judged to do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Rule {
            $($(#[$doc])* $variant,)*
        }

        impl Rule {
            /// Every rule, in the order of docs/migrations.md.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The id that allow comments and `--json` use.
            pub fn id(self) -> &'static str {
                match self { $(Rule::$variant => $id,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Rule::$variant => Severity::$severity,)* }
            }

            /// One sentence for a tired operator: what goes wrong.
            pub fn why(self) -> &'static str {
                match self { $(Rule::$variant => $why,)* }
            }

            /// What to do instead; `None` for safe rules.
            pub fn instead(self) -> Option<&'static str> {
                match self { $(Rule::$variant => Some($instead).filter(|text: &&str| !text.is_empty()),)* }
            }
        }
    };
}

rules! {
    // Safe: additive changes the old color does not notice.
    ColumnAdded = "column_added", Safe,
        "A new column that is nullable or has a default: the old color does not know it and keeps working.", "";
    TableCreated = "table_created", Safe,
        "A new table: the old color never touches it.", "";
    IndexCreated = "index_created", Safe,
        "A new index changes no result the old color sees.", "";
    IndexDropped = "index_dropped", Safe,
        "DROP INDEX CONCURRENTLY changes no result and does not block writes.", "";
    EnumValueAdded = "enum_value_added", Safe,
        "A new enum value is appended: the old color never writes it (it must still read rows that carry it).", "";
    FunctionCreated = "function_created", Safe,
        "A new function or procedure: the old color does not call it.", "";
    ObjectCreated = "object_created", Safe,
        "A new view, type, sequence, schema, extension or domain: the old color does not use it.", "";
    ColumnRelaxed = "column_relaxed", Safe,
        "DROP NOT NULL or SET DEFAULT: what the old color writes still fits.", "";
    NoSchemaChange = "no_schema_change", Safe,
        "Transaction control, a setting, a comment or a query: nothing the old color relies on changes.", "";

    // Info: shown, never failed.
    NotClassified = "not_classified", Info,
        "No rule covers this statement, so it is neither passed nor failed: review it by hand.",
        "If it can break the old color, treat it as dangerous; otherwise nothing to do.";
    DataChanged = "data_changed", Info,
        "Rows change, not the schema; one big UPDATE or DELETE locks every row it touches until it commits.",
        "Backfill in batches of a few thousand rows per transaction, outside the schema migration.";
    ConstraintAdded = "constraint_added", Info,
        "Rows the old color writes from now on must satisfy the new constraint.",
        "Check that the old color's writes satisfy it before adding it.";
    TableCopied = "table_copied", Info,
        "CREATE TABLE ... AS copies every row in one statement: a long transaction on a big table, and the copy is stale as soon as writes go on.",
        "Back up with pg_dump (or COPY) before the migration, not inside it.";
    FunctionReplaced = "function_replaced", Info,
        "OR REPLACE changes a function the old color may already call.",
        "Keep its signature and behaviour compatible, or create a function with a new name and switch code to it.";

    // Warnings: locking hazards and migrations that will fail; printed, not failed.
    IndexNotConcurrent = "index_not_concurrent", Warning,
        "CREATE INDEX without CONCURRENTLY blocks every write to the table until the index is built, minutes on a big table.",
        "CREATE INDEX CONCURRENTLY, outside a transaction block (on a table created in the same file it does not matter).";
    IndexDropNotConcurrent = "index_drop_not_concurrent", Warning,
        "DROP INDEX without CONCURRENTLY locks the table: reads and writes wait.",
        "DROP INDEX CONCURRENTLY, outside a transaction block.";
    ConcurrentlyInTransaction = "concurrently_in_transaction", Warning,
        "CONCURRENTLY cannot run inside a transaction block: PostgreSQL refuses it and the migration fails.",
        "Give it a migration of its own, outside BEGIN/COMMIT (and check that your migration tool does not wrap files in a transaction).";
    EnumValueAddedInTransaction = "enum_value_added_in_transaction", Warning,
        "Before PostgreSQL 12 ALTER TYPE ... ADD VALUE fails inside a transaction block; from 12 on it runs, but the new value cannot be used until that transaction commits.",
        "Run ADD VALUE on its own, outside BEGIN/COMMIT, or at least commit before anything uses the value.";
    EnumValueUsedBeforeCommit = "enum_value_used_before_commit", Warning,
        "This statement uses an enum value added earlier in the same transaction: PostgreSQL refuses it (\"unsafe use of new value\") and the whole migration rolls back.",
        "COMMIT after ADD VALUE and use the value in a later transaction or migration.";
    ColumnDefaultRewritesTable = "column_default_rewrites_table", Warning,
        "A volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval(), a serial type) or a stored generated column rewrites the whole table under an exclusive lock.",
        "Add the column without that default, set the default afterwards, and backfill existing rows in batches.";
    ConstraintWithoutNotValid = "constraint_without_not_valid", Warning,
        "Adding a FOREIGN KEY or CHECK constraint checks every existing row while holding a lock that blocks writes.",
        "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later statement, which takes a weaker lock.";
    ConstraintBuildsIndex = "constraint_builds_index", Warning,
        "A PRIMARY KEY or UNIQUE constraint builds its index while holding an exclusive lock on the table.",
        "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX.";
    AllowUnused = "allow_unused", Warning,
        "An allow comment names a rule this statement does not break, so it allows nothing.",
        "Remove it, or fix the rule's name.";

    // Dangerous: breaks the old color, or a rollback to it.
    ColumnDropped = "column_dropped", Dangerous,
        "The old color still reads or writes this column and fails as soon as it is gone, so a rollback would fail too.",
        "Expand/contract: stop using the column in code, ship that, and drop it in a later release once no running version needs it.";
    TableDropped = "table_dropped", Dangerous,
        "The old color still uses this table and fails as soon as it is gone, and its data goes with it.",
        "Expand/contract: stop using the table in code, ship that, keep a backup, and drop it in a later release.";
    ObjectDropped = "object_dropped", Dangerous,
        "A view, function, type, sequence, schema or extension the old color may use disappears under it.",
        "Drop it in a release after the last version that uses it is gone.";
    TableTruncated = "table_truncated", Dangerous,
        "Every row of the table is deleted, under the old color and the new.",
        "Delete only what must go, in batches, with a backup, and not in a migration both colors share.";
    TableRenamed = "table_renamed", Dangerous,
        "The old color still queries the old name and fails the moment the table is renamed.",
        "Expand/contract: create the new table (or a view under the new name), write to both, switch code, drop the old one later.";
    ColumnRenamed = "column_renamed", Dangerous,
        "The old color still queries the old column name and fails the moment it is renamed.",
        "Expand/contract: add the new column, backfill, switch code to it, and drop the old column in a later release.";
    TypeRenamed = "type_renamed", Dangerous,
        "Casts and declarations in the old color's SQL name the old type and fail.",
        "Create the new type, move columns to it expand/contract, drop the old type later.";
    ObjectRenamed = "object_renamed", Dangerous,
        "The old color may still use the old name (of a view, index, sequence, constraint or schema) and fails once it is gone.",
        "Create the new object beside the old one, switch code, and drop the old name in a later release.";
    EnumValueRenamed = "enum_value_renamed", Dangerous,
        "The old color still writes and compares the old value, and fails once it is renamed.",
        "Add the new value, switch code and backfill rows, and keep the old value.";
    EnumValueRemoved = "enum_value_removed", Dangerous,
        "PostgreSQL has no DROP VALUE: removing a value means recreating the type (a table rewrite), and every row and every running version that still holds or writes the value breaks.",
        "Keep the value (it breaks no code) and stop writing it in the new code.";
    ColumnTypeChanged = "column_type_changed", Dangerous,
        "Changing a column's type rewrites the table under an exclusive lock, and the old color may write values the new type refuses.",
        "Expand/contract: add a column of the new type, backfill, switch code, and drop the old column later.";
    NotNullSet = "not_null_set", Dangerous,
        "The old color's inserts that leave this column empty start failing, and every row is checked under an exclusive lock.",
        "Make the new code always write it and backfill; add CHECK (column IS NOT NULL) NOT VALID and VALIDATE it; set NOT NULL once the old color is gone.";
    NotNullColumnWithoutDefault = "not_null_column_without_default", Dangerous,
        "The old color's inserts do not know this column and fail on NOT NULL (and on a table with rows PostgreSQL refuses the statement).",
        "Add it nullable or with a DEFAULT, and tighten it to NOT NULL in a later release.";

    // Errors: the input could not be judged; exit 2.
    ParseError = "parse_error", Error,
        "This statement could not be parsed, so nothing about it is known.",
        "Fix the SQL; if PostgreSQL accepts it and the parser does not, review it and put `-- greenlight: allow parse_error because <reason>` right above it.";
    AllowWithoutReason = "allow_without_reason", Error,
        "An allow comment must say why the statement is acceptable.",
        "Write `-- greenlight: allow <rule> because <reason>`.";
    AllowInvalid = "allow_invalid", Error,
        "This `-- greenlight:` comment is not `allow <rule> because <reason>` with a rule that can be allowed.",
        "Fix it; docs/migrations.md lists the rules.";
}

impl Rule {
    /// The rule with this id.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|rule| rule.id() == id)
    }

    /// Whether an allow comment may name it: not the allow comments' own
    /// errors, which would allow themselves.
    pub fn allowable(self) -> bool {
        !matches!(self, Rule::AllowWithoutReason | Rule::AllowInvalid)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_unique_snake_case_and_round_trip() {
        let mut seen = HashSet::new();
        for rule in Rule::ALL {
            let id = rule.id();
            assert!(seen.insert(id), "{id} twice");
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{id}"
            );
            assert_eq!(Rule::from_id(id), Some(*rule));
        }
        assert_eq!(Rule::from_id("no_such_rule"), None);
    }

    #[test]
    fn every_rule_above_safe_says_what_to_do_instead() {
        for rule in Rule::ALL {
            assert!(rule.why().ends_with('.'), "{}", rule.id());
            match rule.severity() {
                Severity::Safe => assert_eq!(rule.instead(), None, "{}", rule.id()),
                _ => assert!(rule.instead().is_some(), "{}", rule.id()),
            }
        }
    }

    /// docs/migrations.md has a row for every rule, with its severity.
    #[test]
    fn the_documentation_lists_every_rule() {
        let doc = include_str!("../../docs/migrations.md");
        for rule in Rule::ALL {
            let row = format!("| `{}` | {} |", rule.id(), rule.severity().as_str());
            assert!(doc.contains(&row), "docs/migrations.md lacks {row}");
        }
    }

    #[test]
    fn allow_comments_cannot_allow_their_own_errors() {
        assert!(Rule::ColumnDropped.allowable());
        assert!(Rule::ParseError.allowable());
        assert!(!Rule::AllowWithoutReason.allowable());
        assert!(!Rule::AllowInvalid.allowable());
    }
}
