//! One file linted: cut into statements, each parsed (or recognized from
//! its words when the parser refuses it), judged in the file's running
//! context, and matched with the allow comments above it.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};

use crate::allow::{self, Allow, Comment};
use crate::classify::classify;
use crate::context::Context;
use crate::fallback;
use crate::finding::{FileReport, Finding, Hit};
use crate::rule::Rule;
use crate::split::{self, Piece};

/// How many characters of a statement a finding shows.
const SHOWN: usize = 160;

/// Lints the SQL of one file; `file` is only its name in the findings.
pub fn lint(file: &str, sql: &str) -> FileReport {
    let pieces = match split::split(sql) {
        Ok(pieces) => pieces,
        Err(error) => {
            return FileReport {
                file: file.to_owned(),
                statements: 0,
                findings: vec![Finding {
                    file: file.to_owned(),
                    line: error.line,
                    statement: String::new(),
                    rule: Rule::ParseError,
                    detail: Some(format!(
                        "line {}, column {}: {}",
                        error.line, error.column, error.message
                    )),
                    allowed_because: None,
                }],
            };
        }
    };
    let lines: Vec<&str> = sql.lines().collect();
    let mut context = Context::default();
    let mut findings = Vec::new();
    let mut previous_end = 0;
    for piece in &pieces {
        let statement = split::one_line(&piece.tokens, SHOWN);
        let finding = |line: usize, hit: Hit, allowed_because: Option<String>| Finding {
            file: file.to_owned(),
            line,
            statement: statement.clone(),
            rule: hit.rule,
            detail: hit.detail,
            allowed_because,
        };

        let mut allows: Vec<(Allow, bool)> = Vec::new();
        for comment in allow::above(&lines, piece.line, previous_end) {
            match comment {
                Comment::Allow(allow) => allows.push((allow, false)),
                Comment::Broken { line, rule, detail } => {
                    findings.push(finding(line, Hit::with(rule, detail), None));
                }
            }
        }
        for (line, hit) in judge(piece, &mut context) {
            let allowed = allows
                .iter_mut()
                .find(|(allow, _)| allow.rule == hit.rule)
                .map(|(allow, used)| {
                    *used = true;
                    allow.reason.clone()
                });
            findings.push(finding(line, hit, allowed));
        }
        for (allow, _) in allows.into_iter().filter(|(_, used)| !used) {
            let detail = format!("allow {}", allow.rule.id());
            findings.push(finding(
                allow.line,
                Hit::with(Rule::AllowUnused, detail),
                None,
            ));
        }
        previous_end = piece.end_line;
    }
    FileReport {
        file: file.to_owned(),
        statements: pieces.len(),
        findings,
    }
}

/// The rules one statement hits, each with the line it points at.
fn judge(piece: &Piece, context: &mut Context) -> Vec<(usize, Hit)> {
    // Before classify, which records the values this statement adds.
    let uncommitted = context.uses_uncommitted_value(&piece.tokens);
    let parsed = Parser::new(&PostgreSqlDialect {})
        .with_tokens_with_locations(piece.tokens.clone())
        .parse_statements();
    let mut hits: Vec<(usize, Hit)> = match parsed {
        Ok(statements) => statements
            .iter()
            .flat_map(|statement| classify(statement, piece.line, context))
            .map(|hit| (piece.line, hit))
            .collect(),
        Err(error) => match fallback::recognize(&split::words(&piece.tokens)) {
            Some(hits) => hits.into_iter().map(|hit| (piece.line, hit)).collect(),
            None => {
                let (line, message) = parse_error(&error, piece);
                vec![(line, Hit::with(Rule::ParseError, message))]
            }
        },
    };
    if let Some((value, added_on)) = uncommitted {
        hits.push((
            piece.line,
            Hit::with(
                Rule::EnumValueUsedBeforeCommit,
                format!("'{value}' was added on line {added_on} in this transaction"),
            ),
        ));
    }
    hits
}

/// The parser's complaint as "line L, column C: what", and the line.
fn parse_error(error: &ParserError, piece: &Piece) -> (usize, String) {
    let text = error.to_string();
    let text = text.strip_prefix("sql parser error: ").unwrap_or(&text);
    let place = text.rsplit_once(" at Line: ").and_then(|(what, place)| {
        let (line, column) = place.split_once(", Column: ")?;
        Some((
            what,
            line.parse::<usize>().ok()?,
            column.parse::<usize>().ok()?,
        ))
    });
    match place {
        Some((what, line, column)) if line > 0 => {
            (line, format!("line {line}, column {column}: {what}"))
        }
        // No place: the statement ended too soon ("found: EOF").
        Some((what, ..)) => (piece.end_line, format!("line {}: {what}", piece.end_line)),
        None => (piece.end_line, format!("line {}: {text}", piece.end_line)),
    }
}
