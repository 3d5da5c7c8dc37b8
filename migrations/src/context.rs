//! What a file has done so far, as its statements run in order: the open
//! transaction block, the enum values added in it, the tables it created.

use std::collections::HashSet;

use sqlparser::ast::ObjectName;
use sqlparser::tokenizer::{Token, TokenWithSpan};

/// The state of one file, statement by statement.
#[derive(Debug, Default)]
pub struct Context {
    /// The line of the BEGIN of the open transaction block, if one is open.
    transaction: Option<usize>,
    /// Enum values added in the open block, with their lines: PostgreSQL
    /// refuses to use them before it commits.
    added_values: Vec<(String, usize)>,
    /// Tables this file created (lower-cased, unqualified): an index on a
    /// table nobody else can see yet locks nothing that matters.
    created_tables: HashSet<String>,
}

impl Context {
    pub fn begin(&mut self, line: usize) {
        self.transaction = Some(line);
    }

    pub fn end(&mut self) {
        self.transaction = None;
        self.added_values.clear();
    }

    pub fn in_transaction(&self) -> bool {
        self.transaction.is_some()
    }

    pub fn value_added(&mut self, value: &str, line: usize) {
        if self.in_transaction() {
            self.added_values.push((value.to_owned(), line));
        }
    }

    pub fn table_created(&mut self, name: &ObjectName) {
        self.created_tables.insert(table_key(name));
    }

    pub fn created_here(&self, name: &ObjectName) -> bool {
        self.created_tables.contains(&table_key(name))
    }

    /// The first string literal in `tokens` that is an enum value added in
    /// the open block, with the line it was added on.
    pub fn uses_uncommitted_value(&self, tokens: &[TokenWithSpan]) -> Option<(String, usize)> {
        tokens.iter().find_map(|token| match &token.token {
            Token::SingleQuotedString(text) => self
                .added_values
                .iter()
                .find(|(value, _)| value == text)
                .cloned(),
            _ => None,
        })
    }
}

/// `public."Customers"` and `customers` alike: the last part, unquoted.
fn table_key(name: &ObjectName) -> String {
    let text = name.to_string();
    let last = text.rsplit('.').next().unwrap_or(&text);
    last.trim_matches('"').to_lowercase()
}
