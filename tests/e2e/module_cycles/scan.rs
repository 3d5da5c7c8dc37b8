//! Reads one Rust source file for what the cycle check needs: the `mod x;`
//! declarations, and every `crate::` and `super::` path (in `use` trees and
//! inline), each with the module it appears in (inline `mod tests { .. }`
//! blocks are modules of their own) and its line. Comments, strings and
//! char literals are blanked first, so a URL or a doc line is not a path.

/// A module path inside one crate: `["engine", "core"]`; empty = the root.
pub type ModulePath = Vec<String>;

/// What one file says.
#[derive(Debug, Default)]
pub struct Scanned {
    /// `mod x;` declarations: the declaring module, and `x`.
    pub declared: Vec<(ModulePath, String)>,
    pub paths: Vec<PathUse>,
}

/// One `crate::` or `super::` path, made absolute but not yet resolved to
/// a module: `super::X` in `a::b` is `["a", "X"]`.
#[derive(Debug, Clone)]
pub struct PathUse {
    /// The module the path is written in.
    pub from: ModulePath,
    pub path: Vec<String>,
    pub line: usize,
}

/// Scans `text`, the file of module `module`.
pub fn scan(module: &ModulePath, text: &str) -> Scanned {
    let tokens = tokens(&blank_comments_and_literals(text));
    let mut scanned = Scanned::default();
    // Inline modules open here: (path inside them, brace depth outside).
    let mut inline: Vec<(ModulePath, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let here = inline.last().map_or(module, |(path, _)| path).clone();
        let (word, line) = (tokens[i].0.as_str(), tokens[i].1);
        let next = |k: usize| tokens.get(i + k).map(|t| t.0.as_str());
        match word {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, outside)| *outside == depth) {
                    inline.pop();
                }
            }
            "mod" if next(1).is_some_and(is_ident) => match next(2) {
                Some(";") => scanned.declared.push((here, tokens[i + 1].0.clone())),
                Some("{") => {
                    let mut inside = here;
                    inside.push(tokens[i + 1].0.clone());
                    inline.push((inside, depth));
                }
                _ => {}
            },
            "use" => {
                let end = (i..tokens.len())
                    .find(|&j| tokens[j].0 == ";")
                    .unwrap_or(tokens.len());
                let tree: Vec<&str> = tokens[i + 1..end].iter().map(|t| t.0.as_str()).collect();
                for path in expand(&tree) {
                    push_absolute(&mut scanned, &here, path, line);
                }
                i = end;
            }
            "crate" | "super" if next(1) == Some("::") && !after_path_or_macro(&tokens, i) => {
                let mut path = vec![word.to_owned()];
                let mut j = i + 1;
                while tokens.get(j).is_some_and(|t| t.0 == "::")
                    && tokens.get(j + 1).is_some_and(|t| is_ident(&t.0))
                {
                    path.push(tokens[j + 1].0.clone());
                    j += 2;
                }
                push_absolute(&mut scanned, &here, path, line);
                i = j - 1;
            }
            _ => {}
        }
        i += 1;
    }
    scanned
}

/// `$crate::x` (a macro's) and `a::crate` are not paths of this file.
fn after_path_or_macro(tokens: &[(String, usize)], i: usize) -> bool {
    i > 0 && matches!(tokens[i - 1].0.as_str(), "$" | "::")
}

/// Keeps `crate::`/`super::` paths, made absolute from `here`.
fn push_absolute(scanned: &mut Scanned, here: &ModulePath, path: Vec<String>, line: usize) {
    let mut absolute = here.clone();
    let mut rest = path.as_slice();
    match rest.first().map(String::as_str) {
        Some("crate") => {
            absolute.clear();
            rest = &rest[1..];
        }
        Some("super") => {
            while rest.first().is_some_and(|s| s == "super") {
                absolute.pop();
                rest = &rest[1..];
            }
        }
        _ => return,
    }
    absolute.extend(rest.iter().filter(|s| *s != "self").cloned());
    scanned.paths.push(PathUse {
        from: here.clone(),
        path: absolute,
        line,
    });
}

/// A `use` tree's tokens, flattened: `crate::{a::X, b::{self, Y as Z}}` is
/// `crate::a::X`, `crate::b::self`, `crate::b::Y`.
pub fn expand(tree: &[&str]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut i = 0;
    expand_into(tree, &mut i, Vec::new(), &mut out);
    out
}

/// Reads one use tree from `tree[*i]` on, leaving `*i` after it.
fn expand_into(tree: &[&str], i: &mut usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    while let Some(&token) = tree.get(*i) {
        match token {
            "::" => *i += 1,
            "*" => {
                *i += 1;
                break;
            }
            "{" => {
                *i += 1;
                while let Some(&token) = tree.get(*i) {
                    match token {
                        "}" => {
                            *i += 1;
                            return;
                        }
                        "," => *i += 1,
                        _ => {
                            let before = *i;
                            expand_into(tree, i, prefix.clone(), out);
                            if *i == before {
                                // Not a use tree: give up on this one.
                                return;
                            }
                        }
                    }
                }
                return;
            }
            word if is_ident(word) => {
                prefix.push(word.to_owned());
                *i += 1;
                match tree.get(*i) {
                    Some(&"::") => {}
                    Some(&"as") => {
                        *i += 2;
                        break;
                    }
                    _ => break,
                }
            }
            _ => return,
        }
    }
    if !prefix.is_empty() {
        out.push(prefix);
    }
}

fn is_ident(word: &str) -> bool {
    word.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Identifiers, `::`, and single punctuation characters, with their lines.
fn tokens(text: &str) -> Vec<(String, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
        }
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((chars[start..i].iter().collect(), line));
            continue;
        }
        if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push(("::".to_owned(), line));
            i += 2;
            continue;
        }
        if !c.is_whitespace() {
            out.push((c.to_string(), line));
        }
        i += 1;
    }
    out
}

/// The text with comments and the insides of string and char literals
/// replaced by spaces (newlines kept, so lines still count).
fn blank_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let skip_to = if c == '/' && next == Some('/') {
            chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |n| i + n)
        } else if c == '/' && next == Some('*') {
            find(&chars, i + 2, &['*', '/']).map_or(chars.len(), |n| n + 2)
        } else if c == '"' {
            closing_quote(&chars, i + 1)
        } else if c == 'r' && matches!(next, Some('"') | Some('#')) && !ident_before(&chars, i) {
            let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
            if chars.get(i + 1 + hashes) == Some(&'"') {
                let mut end: Vec<char> = vec!['"'];
                end.extend(std::iter::repeat_n('#', hashes));
                find(&chars, i + 2 + hashes, &end).map_or(chars.len(), |n| n + end.len())
            } else {
                i + 1
            }
        } else if c == '\'' && next == Some('\\') {
            // Past the escaped character, which may be a quote itself.
            find(&chars, i + 3, &['\'']).map_or(chars.len(), |n| n + 1)
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i + 3
        } else {
            i + 1
        };
        if skip_to == i + 1 {
            out.push(c);
        } else {
            out.extend(chars[i..skip_to].iter().map(|&c| blank(c)));
        }
        i = skip_to;
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// Just past the `"` closing a string whose text starts at `from`.
fn closing_quote(chars: &[char], from: usize) -> usize {
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

fn find(chars: &[char], from: usize, needle: &[char]) -> Option<usize> {
    (from..chars.len()).find(|&i| chars[i..].starts_with(needle))
}
