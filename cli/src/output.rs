//! Writing to stdout and stderr without `println!`'s panic: a reader that
//! went away (`greenlight watch escashop --json | head -1`) ends the CLI
//! quietly with 141, as SIGPIPE ends any Unix tool; stderr is best effort.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::exit::{Failure, PIPE_CLOSED, USAGE};

/// Set once anything reached stdout: a failure after that is not printed
/// as a JSON error object too (one JSON document per answer).
static WROTE_STDOUT: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout, as is, and flushes it (watch lines go out as
/// they are decided, even into a pipe).
pub fn print(text: &str) -> Result<(), Failure> {
    WROTE_STDOUT.store(true, Ordering::Relaxed);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| match error.kind() {
            ErrorKind::BrokenPipe => Failure::new(PIPE_CLOSED, ""),
            _ => Failure::new(USAGE, format!("cannot write to stdout: {error}")),
        })
}

/// `text` and a newline on stdout.
pub fn println(text: &str) -> Result<(), Failure> {
    print(&format!("{text}\n"))
}

/// Whether anything was written to stdout.
pub fn wrote_stdout() -> bool {
    WROTE_STDOUT.load(Ordering::Relaxed)
}

/// `greenlight: <text>` and a newline on stderr; a closed stderr is ignored
/// (the answer on stdout matters more than the commentary).
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "greenlight: {text}");
}

/// Raw text on stderr, flushed (the countdown rewrites its line with \r).
pub fn stderr_raw(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_all(text.as_bytes())
        .and_then(|()| stderr.flush());
}
