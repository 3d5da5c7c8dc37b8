//! Errors in the words a check result carries ("connection refused",
//! "timed out after 800ms"): short, lower case, without the wrapping layers
//! every client library adds.

use std::error::Error;
use std::io;
use std::time::Duration;

/// `"timed out after 800ms"`.
pub(crate) fn timed_out(after: Duration) -> String {
    format!("timed out after {}", humantime::format_duration(after))
}

/// Describes `error` by the most telling cause in its chain: a well-known I/O
/// failure in plain words, otherwise the whole chain, each layer said once.
pub(crate) fn describe(error: &(dyn Error + 'static)) -> String {
    let mut current = Some(error);
    while let Some(cause) = current {
        if let Some(words) = cause.downcast_ref::<io::Error>().and_then(io_words) {
            return words.to_string();
        }
        current = cause.source();
    }
    greenlight_proto::error_chain::error_chain(error)
}

fn io_words(error: &io::Error) -> Option<&'static str> {
    use io::ErrorKind::*;
    Some(match error.kind() {
        ConnectionRefused => "connection refused",
        ConnectionReset => "connection reset by peer",
        ConnectionAborted => "connection aborted",
        NotConnected => "not connected",
        TimedOut => "timed out",
        UnexpectedEof => "connection closed by peer",
        BrokenPipe => "connection closed by peer (broken pipe)",
        AddrNotAvailable => "address not available",
        HostUnreachable => "host unreachable",
        NetworkUnreachable => "network unreachable",
        PermissionDenied => "permission denied",
        NotFound => "not found",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error connecting to server")]
    struct Wrapper(#[source] io::Error);

    /// A layer with its own words over an I/O error.
    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Layer(&'static str, #[source] io::Error);

    #[test]
    fn a_chain_that_repeats_itself_is_said_once() {
        // io::Error hides its payload's own source, so each layer is one
        // `Layer` over one io::Error, as client libraries nest them.
        let error = Layer(
            "transport error",
            io::Error::other(Layer(
                "tcp connect error",
                io::Error::other("tcp connect error: handshake refused"),
            )),
        );
        assert_eq!(
            describe(&error),
            "transport error: tcp connect error: handshake refused"
        );
        let error = Layer(
            "tcp connect error",
            io::Error::other(Layer(
                "tcp connect error",
                io::Error::other("handshake refused"),
            )),
        );
        assert_eq!(describe(&error), "tcp connect error: handshake refused");
    }

    #[test]
    fn finds_the_io_cause() {
        let error = Wrapper(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(describe(&error), "connection refused");
        let error = Wrapper(io::Error::other("tls handshake eof"));
        assert_eq!(
            describe(&error),
            "error connecting to server: tls handshake eof"
        );
        assert_eq!(
            timed_out(Duration::from_millis(800)),
            "timed out after 800ms"
        );
    }
}
