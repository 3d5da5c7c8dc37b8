//! Statements the parser rejects but that must still be judged, read from
//! their words: `ALTER TYPE ... DROP VALUE` (which PostgreSQL rejects too,
//! yet the guide's emergency SQL uses it, so it is an enum value removed,
//! not a mere parse error), PostgreSQL-only forms the parser does not know
//! (CREATE PROCEDURE with a `$$` body, DROP INDEX CONCURRENTLY, DO), and
//! any other ALTER ... RENAME. Everything else stays a parse error.

use crate::finding::Hit;
use crate::rule::Rule;

/// The rules an unparsed statement hits, from its unquoted words
/// (upper-cased); `None` when they say nothing we can judge.
pub fn recognize(words: &[String]) -> Option<Vec<Hit>> {
    let word = |index: usize| words.get(index).map(String::as_str);
    let has_pair = |first: &str, second: &str| {
        words
            .windows(2)
            .any(|pair| pair[0] == first && pair[1] == second)
    };
    match (word(0), word(1)) {
        (Some("ALTER"), Some("TYPE")) if has_pair("DROP", "VALUE") => Some(vec![Hit::with(
            Rule::EnumValueRemoved,
            "PostgreSQL rejects DROP VALUE itself, a syntax error: as written this statement fails",
        )]),
        (Some("ALTER"), _) if words.iter().any(|word| word == "RENAME") => {
            let object = word(1).unwrap_or("object").to_lowercase();
            Some(vec![Hit::with(Rule::ObjectRenamed, object)])
        }
        (Some("CREATE"), Some("PROCEDURE")) => Some(vec![Hit::new(Rule::FunctionCreated)]),
        (Some("CREATE"), Some("OR")) if word(3) == Some("PROCEDURE") => Some(vec![
            Hit::new(Rule::FunctionCreated),
            Hit::new(Rule::FunctionReplaced),
        ]),
        (Some("DROP"), Some("INDEX")) if word(2) == Some("CONCURRENTLY") => {
            Some(vec![Hit::new(Rule::IndexDropped)])
        }
        (Some("DO"), _) => Some(vec![Hit::with(
            Rule::NotClassified,
            "a DO block runs code the linter cannot see into",
        )]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(sql: &str) -> Option<Vec<Rule>> {
        let words: Vec<String> = sql.split_whitespace().map(str::to_owned).collect();
        recognize(&words).map(|hits| hits.into_iter().map(|hit| hit.rule).collect())
    }

    #[test]
    fn what_it_recognizes() {
        assert_eq!(
            rules("ALTER TYPE QUEUE_STATUS_ENUM DROP VALUE"),
            Some(vec![Rule::EnumValueRemoved])
        );
        assert_eq!(
            rules("ALTER SEQUENCE S RENAME TO T"),
            Some(vec![Rule::ObjectRenamed])
        );
        assert_eq!(
            rules("CREATE PROCEDURE P LANGUAGE SQL AS"),
            Some(vec![Rule::FunctionCreated])
        );
        assert_eq!(
            rules("CREATE OR REPLACE PROCEDURE P LANGUAGE PLPGSQL AS"),
            Some(vec![Rule::FunctionCreated, Rule::FunctionReplaced])
        );
        assert_eq!(
            rules("DROP INDEX CONCURRENTLY I"),
            Some(vec![Rule::IndexDropped])
        );
        assert_eq!(rules("DO"), Some(vec![Rule::NotClassified]));
    }

    #[test]
    fn anything_else_stays_unjudged() {
        assert_eq!(rules("ALTER TABLE T ADD COLUMN"), None);
        assert_eq!(rules("SELEC 1"), None);
        assert_eq!(rules("DROP VALUE"), None);
        assert_eq!(rules(""), None);
    }
}
