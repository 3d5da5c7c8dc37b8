//! Redis errors in words that say what to fix when the fix is ours: a
//! password refused or missing, a certificate not trusted, a server that
//! does not speak TLS. Anything else is the redis crate's own message.

use redis::{ErrorKind, RedisError};

/// `error`, with what to do about it when that is known.
pub fn describe(error: &RedisError) -> String {
    let text = error.to_string();
    // The server's code may come wrapped (a reply of the wrong type that
    // was an error), so the text is searched too.
    let hint = if error.kind() == ErrorKind::AuthenticationFailed
        || error.code() == Some("WRONGPASS")
        || text.contains("WRONGPASS")
    {
        Some(
            "Redis refused the credentials: check the password in redis.url \
             (redis://:password@host or redis://user:password@host)",
        )
    } else if error.code() == Some("NOAUTH") || text.contains("NOAUTH") {
        Some("Redis wants a password: put it in redis.url (redis://:password@host)")
    } else if text.contains("UnknownIssuer") || text.contains("invalid peer certificate") {
        Some(
            "the Redis server's TLS certificate is not trusted: set redis.ca to the CA \
             that signed it",
        )
    } else if text.contains("InvalidContentType") || text.contains("corrupt message") {
        Some(
            "the server did not answer in TLS: is this its TLS port, or should the URL be redis://?",
        )
    } else {
        None
    };
    match hint {
        Some(hint) => format!("{hint} ({text})"),
        None => text,
    }
}
