//! An error and its sources on one line, each layer said once. Client
//! libraries hide the useful part ("connection refused") in the sources, and
//! their layers often repeat their source's words ("tcp connect error" above
//! "tcp connect error: connection refused"). The CLI and the agent both say
//! errors this way.

use std::error::Error;

/// `"transport error: tcp connect error: connection refused"`: the chain
/// joined by `": "`, a layer already said skipped, and a source that says
/// its layer's words and more put in that layer's place.
pub fn error_chain(error: &dyn Error) -> String {
    let mut text = String::new();
    // The part appended last: a source that says it and more replaces it.
    let mut last = String::new();
    let mut current = Some(error);
    while let Some(cause) = current {
        let message = cause.to_string();
        if message.is_empty() || text.contains(&message) {
            // Said already.
        } else if !last.is_empty() && message.contains(&last) {
            text.truncate(text.len() - last.len());
            text.push_str(&message);
            last = message;
        } else {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
            last = message;
        }
        current = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::fmt;
    use std::io;

    use super::*;

    /// A layer as client libraries write them: its own words, its source.
    #[derive(Debug)]
    struct Layer(&'static str, io::Error);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.1)
        }
    }

    #[test]
    fn a_chain_that_repeats_itself_is_said_once() {
        // "transport error" -> "tcp connect error" -> "tcp connect error:
        // Connection refused": the middle layer is said by the last.
        let refused = io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "tcp connect error: Connection refused (os error 111)",
        );
        let error = Layer(
            "transport error",
            io::Error::other(Layer("tcp connect error", refused)),
        );
        assert_eq!(
            error_chain(&error),
            "transport error: tcp connect error: Connection refused (os error 111)"
        );
        // The same words twice in a row, and a source its layer quoted.
        let error = Layer(
            "tcp connect error",
            io::Error::other(Layer(
                "tcp connect error",
                io::Error::other("connection refused"),
            )),
        );
        assert_eq!(error_chain(&error), "tcp connect error: connection refused");
        let error = Layer(
            "error trying to connect: connection refused",
            io::Error::other("connection refused"),
        );
        assert_eq!(
            error_chain(&error),
            "error trying to connect: connection refused"
        );
    }

    #[test]
    fn distinct_layers_are_all_kept_and_an_empty_one_is_skipped() {
        let error = Layer(
            "transport error",
            io::Error::new(io::ErrorKind::ConnectionRefused, "Connection refused"),
        );
        assert_eq!(error_chain(&error), "transport error: Connection refused");
        let error = Layer("", io::Error::other("connection refused"));
        assert_eq!(error_chain(&error), "connection refused");
    }
}
