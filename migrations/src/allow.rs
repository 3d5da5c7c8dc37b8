//! Allow comments: `-- greenlight: allow <rule> because <reason>` on the
//! lines directly above a statement (a block of `--` lines with no blank
//! line between it and the statement). One rule per comment; several
//! comments may stand above one statement.

use crate::rule::Rule;

/// What one `-- greenlight:` comment says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comment {
    /// A well-formed allow.
    Allow(Allow),
    /// A `-- greenlight:` comment that allows nothing: an error finding.
    Broken {
        line: usize,
        /// `AllowWithoutReason` or `AllowInvalid`.
        rule: Rule,
        /// What exactly is wrong, for the operator.
        detail: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    /// Where the comment is, for an unused allow.
    pub line: usize,
    pub rule: Rule,
    /// Shown beside the allowed finding, so the record says why.
    pub reason: String,
}

const PREFIX: &str = "greenlight:";

/// The `-- greenlight:` comments directly above `line` (1-based), looking no
/// higher than `after` (the last line of the statement before).
pub fn above(lines: &[&str], line: usize, after: usize) -> Vec<Comment> {
    let mut comments = Vec::new();
    let mut number = line;
    while number > after + 1 {
        number -= 1;
        let Some(text) = lines
            .get(number - 1)
            .and_then(|text| text.trim_start().strip_prefix("--"))
        else {
            break;
        };
        comments.extend(parse(text, number));
    }
    comments.reverse();
    comments
}

/// One comment's text (after `--`); `None` when it is not for greenlight.
pub fn parse(text: &str, line: usize) -> Option<Comment> {
    let rest = text.trim().strip_prefix(PREFIX)?.trim();
    let broken = |rule, detail: String| Comment::Broken { line, rule, detail };
    let Some(rest) = rest
        .strip_prefix("allow")
        .filter(|rest| rest.starts_with(' '))
    else {
        return Some(broken(
            Rule::AllowInvalid,
            format!("`-- greenlight: {rest}`: expected `allow <rule> because <reason>`"),
        ));
    };
    let rest = rest.trim_start();
    let (id, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let rule = match Rule::from_id(id) {
        Some(rule) if rule.allowable() => rule,
        Some(_) => {
            return Some(broken(
                Rule::AllowInvalid,
                format!("`{id}` cannot be allowed"),
            ));
        }
        None => {
            return Some(broken(
                Rule::AllowInvalid,
                format!("`{id}` is not a rule (docs/migrations.md lists them)"),
            ));
        }
    };
    let reason = reason.trim();
    let reason = match reason.strip_prefix("because") {
        Some(after) if after.is_empty() || after.starts_with(char::is_whitespace) => after.trim(),
        _ if reason.is_empty() => "",
        _ => {
            return Some(broken(
                Rule::AllowInvalid,
                format!("`{reason}`: expected `because <reason>` after the rule"),
            ));
        }
    };
    if reason.is_empty() {
        return Some(broken(
            Rule::AllowWithoutReason,
            format!("`allow {id}` says no reason"),
        ));
    }
    Some(Comment::Allow(Allow {
        line,
        rule,
        reason: reason.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(line: usize, rule: Rule, reason: &str) -> Comment {
        Comment::Allow(Allow {
            line,
            rule,
            reason: reason.to_owned(),
        })
    }

    fn broken_rule(text: &str) -> Rule {
        match parse(text, 1) {
            Some(Comment::Broken { rule, .. }) => rule,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn a_well_formed_allow() {
        assert_eq!(
            parse(
                " greenlight: allow column_dropped because v3.0 is retired (OPS-12)",
                7
            ),
            Some(allow(7, Rule::ColumnDropped, "v3.0 is retired (OPS-12)"))
        );
        assert_eq!(
            parse(
                "greenlight:   allow   parse_error   because   psql accepts it ",
                1
            ),
            Some(allow(1, Rule::ParseError, "psql accepts it"))
        );
    }

    #[test]
    fn other_comments_are_not_ours() {
        assert_eq!(parse(" Add new enum value (backward compatible)", 1), None);
        assert_eq!(parse(" see greenlight docs", 1), None);
    }

    #[test]
    fn an_allow_without_a_reason_is_an_error() {
        assert_eq!(
            broken_rule(" greenlight: allow column_dropped"),
            Rule::AllowWithoutReason
        );
        assert_eq!(
            broken_rule(" greenlight: allow column_dropped because "),
            Rule::AllowWithoutReason
        );
    }

    #[test]
    fn malformed_or_unknown_allows_are_errors() {
        for text in [
            " greenlight: ignore column_dropped",
            " greenlight: allow",
            " greenlight: allow colum_dropped because typo",
            " greenlight: allow column_dropped since it is old",
            " greenlight: allow column_dropped becausewhy",
            " greenlight: allow allow_invalid because meta",
        ] {
            assert_eq!(broken_rule(text), Rule::AllowInvalid, "{text}");
        }
    }

    #[test]
    fn only_the_block_directly_above_counts() {
        let lines = [
            "DROP TABLE a;",                                    // 1
            "-- greenlight: allow table_dropped because far",   // 2
            "",                                                 // 3
            "-- greenlight: allow column_dropped because near", // 4
            "-- an ordinary comment",                           // 5
            "-- greenlight: allow table_dropped because also",  // 6
            "ALTER TABLE t DROP COLUMN c; DROP TABLE u;",       // 7
        ];
        assert_eq!(
            above(&lines, 7, 1),
            vec![
                allow(4, Rule::ColumnDropped, "near"),
                allow(6, Rule::TableDropped, "also"),
            ]
        );
        // The second statement of line 7 has nothing directly above it.
        assert_eq!(above(&lines, 7, 7), vec![]);
        // Nor a statement on the first line.
        assert_eq!(above(&lines, 1, 0), vec![]);
    }
}
