//! A migration file cut into statements, each with the lines it spans.
//!
//! The file is tokenized once with PostgreSQL's rules (strings, quoted
//! names, `--` and `/* */` comments, `$$` bodies), then cut at each `;`
//! outside a `BEGIN ATOMIC ... END` function body. Each statement is
//! parsed on its own, so one the parser rejects hides none of the others.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

/// One statement of a file.
#[derive(Debug, Clone)]
pub struct Piece {
    /// The line (from 1) of its first token: where findings point.
    pub line: usize,
    /// The line its `;` (or its last token, at the end of the file) is on:
    /// comments after it belong to the next statement.
    pub end_line: usize,
    /// Its tokens without the `;`, from the first that is not whitespace
    /// or a comment (comments above it are allow comments, not SQL).
    pub tokens: Vec<TokenWithSpan>,
}

/// What the tokenizer refused (an unterminated string or comment): the
/// whole file cannot be cut into statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizeError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Cuts `sql` into statements.
pub fn split(sql: &str) -> Result<Vec<Piece>, TokenizeError> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .map_err(|error| TokenizeError {
            line: to_usize(error.location.line),
            column: to_usize(error.location.column),
            message: error.message,
        })?;
    let mut pieces = Vec::new();
    let mut current: Vec<TokenWithSpan> = Vec::new();
    // Nesting of BEGIN ATOMIC ... END (and CASE ... END inside it), whose
    // semicolons end statements of the body, not the CREATE FUNCTION.
    let mut atomic_depth = 0usize;
    let mut previous_word: Option<String> = None;
    for token in tokens {
        if let Token::Word(word) = &token.token
            && word.quote_style.is_none()
        {
            let upper = word.value.to_ascii_uppercase();
            match upper.as_str() {
                "ATOMIC" if previous_word.as_deref() == Some("BEGIN") => atomic_depth += 1,
                "CASE" if atomic_depth > 0 => atomic_depth += 1,
                "END" if atomic_depth > 0 => atomic_depth -= 1,
                _ => {}
            }
            previous_word = Some(upper);
        } else if !is_blank(&token.token) {
            previous_word = None;
        }
        if token.token == Token::SemiColon && atomic_depth == 0 {
            let end_line = to_usize(token.span.start.line);
            push_piece(&mut pieces, std::mem::take(&mut current), Some(end_line));
            continue;
        }
        if current.is_empty() && is_blank(&token.token) {
            continue;
        }
        current.push(token);
    }
    push_piece(&mut pieces, current, None);
    Ok(pieces)
}

/// `semicolon_line`: where its `;` is; `None` for a last statement without.
fn push_piece(
    pieces: &mut Vec<Piece>,
    mut tokens: Vec<TokenWithSpan>,
    semicolon_line: Option<usize>,
) {
    while tokens.last().is_some_and(|token| is_blank(&token.token)) {
        tokens.pop();
    }
    if let (Some(first), Some(last)) = (tokens.first(), tokens.last()) {
        pieces.push(Piece {
            line: to_usize(first.span.start.line),
            end_line: semicolon_line.unwrap_or(to_usize(last.span.end.line)),
            tokens,
        });
    }
}

/// Whitespace or a comment: not part of what a statement says.
pub fn is_blank(token: &Token) -> bool {
    matches!(token, Token::Whitespace(_) | Token::EOF)
}

/// The statement on one line, comments dropped and whitespace collapsed,
/// cut to `limit` characters: what a finding shows.
pub fn one_line(tokens: &[TokenWithSpan], limit: usize) -> String {
    let mut text = String::new();
    for token in tokens {
        match &token.token {
            Token::Whitespace(
                Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_),
            ) => {}
            Token::Whitespace(_) => {
                if !text.ends_with(' ') {
                    text.push(' ');
                }
            }
            other => text.push_str(&other.to_string()),
        }
    }
    let text = text.trim();
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let cut: String = text.chars().take(limit.saturating_sub(3)).collect();
    format!("{}...", cut.trim_end())
}

/// Unquoted words, upper-cased, in order: what the fallback recognizer reads.
pub fn words(tokens: &[TokenWithSpan]) -> Vec<String> {
    tokens
        .iter()
        .filter_map(|token| match &token.token {
            Token::Word(word) if word.quote_style.is_none() => {
                Some(word.value.to_ascii_uppercase())
            }
            _ => None,
        })
        .collect()
}

pub fn to_usize(line: u64) -> usize {
    usize::try_from(line).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(sql: &str) -> Vec<(usize, usize, String)> {
        split(sql)
            .unwrap()
            .iter()
            .map(|piece| (piece.line, piece.end_line, one_line(&piece.tokens, 200)))
            .collect()
    }

    #[test]
    fn statements_keep_their_first_line_and_lose_comments_above() {
        let sql = "BEGIN;\n\n-- a comment\nALTER TABLE t\n  ADD COLUMN c int;\nCOMMIT;\n";
        assert_eq!(
            lines(sql),
            vec![
                (1, 1, "BEGIN".to_owned()),
                (4, 5, "ALTER TABLE t ADD COLUMN c int".to_owned()),
                (6, 6, "COMMIT".to_owned()),
            ]
        );
    }

    #[test]
    fn semicolons_in_strings_bodies_and_comments_do_not_cut() {
        let sql = "INSERT INTO t VALUES ('a;b'); -- c;d\n\
                   CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n\
                   /* x; y */ SELECT \"odd;name\" FROM t";
        let pieces = lines(sql);
        assert_eq!(pieces.len(), 3, "{pieces:?}");
        assert_eq!(pieces[2], (3, 3, "SELECT \"odd;name\" FROM t".to_owned()));
    }

    #[test]
    fn a_begin_atomic_body_is_one_statement() {
        let sql = "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN true THEN 1 END;\n  SELECT 2;\nEND;\nSELECT 3;";
        let pieces = lines(sql);
        assert_eq!(pieces.len(), 2, "{pieces:?}");
        assert_eq!((pieces[0].0, pieces[0].1), (1, 5));
        assert_eq!(pieces[1].0, 6);
    }

    #[test]
    fn a_last_statement_without_semicolon_counts_and_empty_ones_do_not() {
        assert_eq!(
            lines(";;\n  ;\nSELECT 1\n"),
            vec![(3, 3, "SELECT 1".to_owned())]
        );
        assert!(lines("-- only a comment\n").is_empty());
    }

    #[test]
    fn an_unterminated_string_is_an_error_with_its_place() {
        let error = split("SELECT 1;\nSELECT 'oops;\n").unwrap_err();
        assert_eq!(error.line, 2, "{error:?}");
        assert!(error.message.contains("Unterminated"), "{error:?}");
    }

    #[test]
    fn long_statements_are_cut() {
        let sql = format!("SELECT {}", "a, ".repeat(100));
        let piece = &split(&sql).unwrap()[0];
        let shown = one_line(&piece.tokens, 40);
        assert!(shown.chars().count() <= 40, "{shown}");
        assert!(shown.ends_with("..."));
    }
}
