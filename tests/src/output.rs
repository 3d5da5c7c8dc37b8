//! A child's stdout and stderr, captured line by line into one buffer.

use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

/// Everything a process printed, in the order the lines arrived.
#[derive(Default)]
pub(crate) struct Output {
    /// Lines from both streams, without their line endings.
    lines: Mutex<Vec<String>>,
    /// Streams still being read: once none are, no line can arrive any more.
    open_streams: AtomicUsize,
}

impl Output {
    /// Reads `stream` to its end on a thread of its own, a line at a time.
    ///
    /// A plain thread, not a task: it must keep reading whichever runtime (or
    /// none) the test uses, or a chatty child would block on a full pipe.
    pub(crate) fn capture(
        self: &Arc<Self>,
        stream: impl Read + Send + 'static,
        thread_name: String,
    ) -> std::io::Result<()> {
        self.open_streams.fetch_add(1, Ordering::SeqCst);
        let output = Arc::clone(self);
        let spawned = thread::Builder::new().name(thread_name).spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut line = Vec::new();
            // A read error means the pipe is gone: the same as its end.
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = String::from_utf8_lossy(&line);
                output.push(text.trim_end_matches(['\n', '\r']).to_owned());
                line.clear();
            }
            output.open_streams.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            self.open_streams.fetch_sub(1, Ordering::SeqCst);
        }
        spawned.map(drop)
    }

    /// The first line containing `pattern`.
    pub(crate) fn find(&self, pattern: &str) -> Option<String> {
        self.lines()
            .iter()
            .find(|line| line.contains(pattern))
            .cloned()
    }

    /// All lines so far, joined by newlines.
    pub(crate) fn text(&self) -> String {
        self.lines().join("\n")
    }

    /// True once every stream reached its end: the output is complete.
    pub(crate) fn is_complete(&self) -> bool {
        self.open_streams.load(Ordering::SeqCst) == 0
    }

    fn push(&self, line: String) {
        self.lines().push(line);
    }

    fn lines(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        // A panic elsewhere must not hide the output that explains it.
        self.lines.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_found() {
        let output = Arc::new(Output::default());
        output
            .capture(&b"first\r\nsecond line\nno newline"[..], "test".into())
            .unwrap();
        while !output.is_complete() {
            thread::yield_now();
        }
        assert_eq!(output.text(), "first\nsecond line\nno newline");
        assert_eq!(output.find("line").as_deref(), Some("second line"));
        assert_eq!(output.find("absent"), None);
    }
}
