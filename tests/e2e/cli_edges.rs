//! Issue 12, the CLI at its edges, end to end: the real `greenlight`
//! against a real aggregator. A reader that leaves (`| head -1`) ends it
//! quietly; a refused or unanswered `--json` call still prints one JSON
//! object on stdout; `watch` outlives aggregator restarts; `wait` shows
//! its progress into a pipe; completions and the man page come out whole.

mod closed_pipe;
mod json_errors;
mod manual;
mod wait_progress;
mod watch_restart;

use std::process::Command;

use greenlight_testbed::{Process, binary};

use crate::bed::{Bed, SETTLE};

/// Runs `greenlight --aggregator <bed's> <args> | head <head>` in bash, the
/// way a person pipes it; bash then says `greenlight exited <status>` on
/// stderr. stdout (head's) and stderr (the CLI's) are both captured.
pub fn piped_into_head(bed: &Bed, args: &[&str], head: &[&str]) -> Process {
    let script = r#"n=$1; shift; "${@:n+1}" | head "${@:1:n}"; echo "greenlight exited ${PIPESTATUS[0]}" >&2"#;
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(script)
        .arg("bash")
        .arg(head.len().to_string())
        .args(head)
        .arg(binary("greenlight"))
        .arg("--aggregator")
        .arg(bed.aggregator_url())
        .args(args)
        .env_remove("GREENLIGHT_TOKEN");
    Process::from_command("greenlight | head", command).expect("starting bash")
}

/// The CLI's exit status from a `piped_into_head` that has ended, and
/// everything printed.
pub async fn head_pipeline_status(pipeline: &Process) -> (i32, String) {
    let Some(status) = pipeline.wait_exit(SETTLE).await else {
        panic!(
            "the pipeline did not end within {SETTLE:?}: {}",
            pipeline.output_so_far()
        );
    };
    let output = pipeline.output_so_far();
    assert!(status.success(), "bash itself failed ({status}): {output}");
    let code = output
        .lines()
        .find_map(|line| line.strip_prefix("greenlight exited "))
        .unwrap_or_else(|| panic!("bash said no exit status: {output}"))
        .trim()
        .parse()
        .expect("an exit status is a number");
    (code, output)
}

/// Ended as a Unix tool does when its reader left: 0 (all was written
/// before) or 141 (128 + SIGPIPE), and not a word about it.
pub fn assert_quiet_end(what: &str, code: i32, output: &str) {
    assert!(
        code == 0 || code == 141,
        "{what}: exit {code}, not 0 or 141: {output}"
    );
    for noise in ["panicked", "Broken pipe", "broken pipe", "os error 32"] {
        assert!(!output.contains(noise), "{what} said {noise:?}: {output}");
    }
}
