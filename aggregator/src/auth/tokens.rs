//! The tokens file: one caller per line, `role name sha256`, the hash of
//! the token as 64 hex digits (`printf %s "$TOKEN" | sha256sum`). Only
//! hashes are kept, so the file (and a copy of it) does not let anyone in.
//!
//! ```text
//! # role    name                 sha256 of the token
//! operator  alice                2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
//! viewer    grafana              486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7
//! agent     escashop/green/*     ...
//! ```
//!
//! An agent's name is the identity it may report for (see `binding`).
//! Lookup is by the hash of what was presented, so comparing hashes
//! leaks nothing about a token (finding a token from its hash is the
//! preimage problem).

use std::collections::HashMap;

use ring::digest::{SHA256, digest};

use super::binding::AgentBinding;
use super::role::{Principal, Proof, Role};

#[derive(Debug, Clone, Default)]
pub struct TokenTable {
    by_hash: HashMap<[u8; 32], Principal>,
}

impl TokenTable {
    /// Reads the file's text; an error names the line.
    pub fn parse(text: &str) -> Result<TokenTable, String> {
        let mut by_hash = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [role, name, hash] = fields[..] else {
                return Err(format!(
                    "line {number}: expected `role name sha256`, got {} fields",
                    fields.len()
                ));
            };
            let role = Role::parse(role).ok_or_else(|| {
                format!("line {number}: role {role:?}; viewer, operator or agent")
            })?;
            let binding = match role {
                Role::Agent => Some(
                    AgentBinding::parse(name)
                        .map_err(|reason| format!("line {number}: {reason}"))?,
                ),
                _ => None,
            };
            let hash = parse_hash(hash).ok_or_else(|| {
                format!(
                    "line {number}: the hash is not 64 hex digits (write the SHA-256 of the token: printf %s \"$TOKEN\" | sha256sum)"
                )
            })?;
            let principal = Principal {
                name: name.to_string(),
                role,
                binding,
                proof: Proof::Token,
            };
            if let Some(earlier) = by_hash.insert(hash, principal) {
                return Err(format!(
                    "line {number}: the same token as {} ({}): one token, one caller",
                    earlier.name,
                    earlier.role.name()
                ));
            }
        }
        Ok(TokenTable { by_hash })
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Who presented `token`, if anyone.
    pub fn find(&self, token: &str) -> Option<&Principal> {
        self.by_hash.get(&hash(token))
    }
}

pub fn hash(token: &str) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    out
}

fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let text = text.strip_prefix("sha256:").unwrap_or(text);
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // printf %s hello | sha256sum
    const HELLO: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn a_token_is_found_by_its_hash() {
        let table = TokenTable::parse(&format!(
            "# who\noperator alice {HELLO}  # rotated 2026-12\n\nagent escashop/green/* sha256:{}\n",
            "ab".repeat(32)
        ))
        .unwrap();
        assert_eq!(table.len(), 2);
        let alice = table.find("hello").unwrap();
        assert_eq!((alice.name.as_str(), alice.role), ("alice", Role::Operator));
        assert!(table.find("hello ").is_none());
        assert!(table.find("").is_none());
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, says) in [
            ("operator alice".to_string(), "line 1: expected"),
            (format!("\nroot alice {HELLO}"), "line 2: role"),
            ("viewer v 12ab".to_string(), "64 hex"),
            (
                format!("agent escashop {HELLO}"),
                "deployment/color/instance",
            ),
            (
                format!("viewer a {HELLO}\noperator b {HELLO}"),
                "line 2: the same token as a",
            ),
        ] {
            let error = TokenTable::parse(&text).unwrap_err();
            assert!(error.contains(says), "{text:?}: {error}");
        }
    }
}
