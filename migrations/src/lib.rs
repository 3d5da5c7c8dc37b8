//! Lints PostgreSQL migrations for a blue/green deployment: while both
//! colors run against one database, a migration may only add. Each
//! statement is judged by the guide's table (docs/migrations.md): safe,
//! dangerous (exit 1 in the CLI unless an allow comment with a reason
//! covers it), a warning for locking hazards, info for what no rule covers.
//!
//! The parser is sqlparser with its PostgreSQL dialect: pure Rust, so it
//! builds wherever cargo does, where pg_query (PostgreSQL's own parser)
//! needs libclang and a C build. What it does not know is either
//! recognized from its words (`fallback`) or a parse error with its line,
//! never a crash and never silently safe.
//!
//! Pure: SQL text in, findings out; the CLI reads files and prints.
//!
//! # Layout
//! - `split`: a file cut into statements, with their lines.
//! - `lint`: one file, statement by statement: parse, judge, allow.
//! - `classify`, `alter_table`: a parsed statement judged by the rules.
//! - `fallback`: what the parser rejects but must be judged anyway.
//! - `context`: what the file did so far (open transaction, new enum
//!   values, new tables).
//! - `allow`: `-- greenlight: allow <rule> because <reason>`.
//! - `rule`: the rules, their severity, why and what to do instead.
//! - `finding`: findings, the summary and the outcome.
//! - `render`: text and JSON.

mod allow;
mod alter_table;
mod classify;
mod context;
mod fallback;
mod finding;
mod lint;
mod render;
mod rule;
mod split;

pub use finding::{FileReport, Finding, Outcome, Summary};
pub use lint::lint;
pub use render::{json, text};
pub use rule::{Rule, Severity};

#[cfg(test)]
mod tests;
