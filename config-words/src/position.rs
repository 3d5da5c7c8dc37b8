//! Where in the file a bad value is: [`Position`], found from a byte offset
//! (TOML's own syntax errors) or from a dotted key ([`locate`]), so an
//! operator is sent to the line, not only to the key.

use std::fmt;

/// A place in a file, counted from 1 as editors count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    /// In characters, not bytes.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

impl Position {
    /// The position of byte `offset` in `text`.
    pub fn in_text(text: &str, offset: usize) -> Position {
        let offset = (0..=offset.min(text.len()))
            .rev()
            .find(|&at| text.is_char_boundary(at))
            .unwrap_or(0);
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// Where `key` (dotted: `deployments.escashop.ready_after`) is written in
/// `text`: the line `ready_after = ...` under `[deployments.escashop]`, or
/// the table's header when the key names a table (a missing key's place).
/// `None` when it is written another way (dotted keys, inline tables,
/// arrays of tables): a position is a help, never a guess.
pub fn locate(text: &str, key: &str) -> Option<Position> {
    let (table, field) = match key.rsplit_once('.') {
        Some((table, field)) => (table, field),
        None => ("", key),
    };
    let mut current = String::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with("[[") {
            // An array's entries are not named by a dotted key.
            current = "[[".into();
        } else if let Some(header) = trimmed.strip_prefix('[') {
            let Some((name, _)) = header.split_once(']') else {
                continue;
            };
            current = dotted(name);
            if current == key {
                return Some(Position::in_text(text, start + indent));
            }
        } else if current == table {
            let Some((name, _)) = trimmed.split_once('=') else {
                continue;
            };
            if dotted(name) == field {
                return Some(Position::in_text(text, start + indent));
            }
        }
    }
    None
}

/// A TOML key as the dotted path figment reports: quotes and spaces gone.
fn dotted(written: &str) -> String {
    written
        .split('.')
        .map(|part| part.trim().trim_matches(['"', '\'']))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Option<Position> {
        Some(Position { line, column })
    }

    #[test]
    fn positions_count_lines_and_characters_from_one() {
        let text = "a = 1\nbé = \"x\n";
        assert_eq!(Position::in_text(text, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::in_text(text, 6), Position { line: 2, column: 1 });
        // Characters, not bytes: é is two bytes, one column.
        assert_eq!(Position::in_text(text, 10), Position { line: 2, column: 4 });
        assert_eq!(Position::in_text(text, 99), Position { line: 3, column: 1 });
    }

    #[test]
    fn keys_are_found_under_their_table() {
        let text = "listen = \"x\"\n\n[defaults]\nready_after = \"0s\"\n\
                    [deployments.\"escashop\"]\n  ready_after = \"1s\"\n\
                    [[alerts.sink]]\nname = \"x\"\n";
        assert_eq!(locate(text, "listen"), at(1, 1));
        assert_eq!(locate(text, "defaults.ready_after"), at(4, 1));
        assert_eq!(locate(text, "deployments.escashop.ready_after"), at(6, 3));
        assert_eq!(locate(text, "deployments.escashop"), at(5, 1));
        assert_eq!(locate(text, "defaults.bake_for"), None);
        assert_eq!(locate(text, "alerts.sink.name"), None);
    }
}
