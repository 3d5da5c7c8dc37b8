//! Figment's error kinds in plain words. Its own display nests backticks
//! inside backticks for an unknown key's alternatives, and says "field" for
//! what the file calls a key; these say which keys a table takes, each in
//! double quotes.

use figment::error::{Actual, Kind};

/// Why the value at `path` (dotted keys, the offending one last) was
/// refused.
pub fn reason(kind: &Kind, path: &[String]) -> String {
    let table = match path.split_last() {
        Some((_, parent)) if !parent.is_empty() => format!("[{}]", parent.join(".")),
        _ => "the top level".into(),
    };
    match kind {
        Kind::UnknownField(_, []) => format!("unknown key; {table} takes no keys"),
        Kind::UnknownField(_, expected) => {
            format!("unknown key; {table} takes {}", quoted(expected))
        }
        Kind::MissingField(_) => format!("missing: {table} needs it"),
        Kind::UnknownVariant(name, expected) => {
            format!("{name:?} is not one of {}", quoted(expected))
        }
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            format!("expected {}, found {}", unticked(expected), found(actual))
        }
        Kind::InvalidLength(length, expected) => {
            format!("expected {}, found {length} items", unticked(expected))
        }
        Kind::DuplicateField(name) => format!("{name:?} is given twice"),
        other => unticked(&other.to_string()),
    }
}

/// `"a", "b", "c"`.
fn quoted(words: &[&str]) -> String {
    let words: Vec<String> = words.iter().map(|word| format!("{word:?}")).collect();
    words.join(", ")
}

/// What was written, as a TOML reader would call it.
fn found(actual: &Actual) -> String {
    match actual {
        Actual::Bool(value) => format!("the boolean {value}"),
        Actual::Unsigned(value) => format!("the integer {value}"),
        Actual::Signed(value) => format!("the integer {value}"),
        Actual::Float(value) => format!("the number {value}"),
        Actual::Char(value) => format!("the string {:?}", value.to_string()),
        Actual::Str(value) => format!("the string {value:?}"),
        Actual::Seq => "an array".into(),
        Actual::Map => "a table".into(),
        other => unticked(&other.to_string()),
    }
}

/// serde's messages quote with backticks; ours with double quotes.
fn unticked(text: &str) -> String {
    text.replace('`', "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|key| key.to_string()).collect()
    }

    #[test]
    fn kinds_read_without_backticks() {
        let cases = [
            (
                Kind::UnknownField("lisen".into(), &["live", "ready_after"]),
                path(&["defaults", "lisen"]),
                "unknown key; [defaults] takes \"live\", \"ready_after\"",
            ),
            (
                Kind::UnknownField("colour".into(), &["listen"]),
                path(&["colour"]),
                "unknown key; the top level takes \"listen\"",
            ),
            (
                Kind::MissingField("command".into()),
                path(&["hooks", "cutover", "command"]),
                "missing: [hooks.cutover] needs it",
            ),
            (
                Kind::InvalidType(Actual::Signed(5), "a string".into()),
                path(&["listen"]),
                "expected a string, found the integer 5",
            ),
            (
                Kind::InvalidValue(Actual::Str("soon".into()), "a duration".into()),
                path(&["defaults", "ready_after"]),
                "expected a duration, found the string \"soon\"",
            ),
            (
                Kind::UnknownVariant("tcp".into(), &["haproxy", "nginx"]),
                path(&["deployments", "x", "traffic_source", "kind"]),
                "\"tcp\" is not one of \"haproxy\", \"nginx\"",
            ),
        ];
        for (kind, path, expected) in cases {
            let said = reason(&kind, &path);
            assert_eq!(said, expected);
            assert!(!said.contains('`'), "{said}");
        }
    }
}
