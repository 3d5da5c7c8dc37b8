//! The bearer token a client sends, as the aggregator reads it:
//! `authorization: Bearer <token>`. One way for the CLI and the agent to
//! turn a token file's text into that header.

use tonic::metadata::{Ascii, MetadataValue};

/// The `authorization` value for the token in `text` (a file's contents or
/// an environment variable; surrounding whitespace and the newline are
/// not part of it). The error says what is wrong, for the caller to name
/// where the text came from.
pub fn authorization(text: &str) -> Result<MetadataValue<Ascii>, &'static str> {
    let token = text.trim();
    if token.is_empty() {
        return Err("the token is empty");
    }
    if token.contains(char::is_whitespace) {
        return Err("the token must be one word on one line");
    }
    // HTTP would carry other bytes, but then two sides may read them apart.
    if !token.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err("the token must be printable ASCII on one line");
    }
    MetadataValue::try_from(format!("Bearer {token}"))
        .map_err(|_| "the token must be printable ASCII on one line")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_becomes_a_bearer_header() {
        assert_eq!(authorization("s3cret\n").unwrap(), "Bearer s3cret");
        assert!(authorization(" \n").is_err());
        assert!(authorization("two\nlines").is_err());
        assert!(authorization("caf\u{e9}").is_err());
    }
}
