//! `greenlight wait` into a pipe (not a terminal) says on stderr, one line
//! per change, what the verdict says while green goes from NOT_READY
//! through its readiness window to READY; stdout gets the final verdict.

use crate::bed::{Bed, DEPLOYMENT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_shows_each_change_on_stderr_until_ready() {
    let bed = Bed::new();
    // A readiness window long enough to be seen, short enough to wait out.
    let _aggregator = bed.aggregator(None, "5s").await;
    // The wait starts first (no verdict yet); the pair comes while it waits.
    let ((code, stdout, stderr), _pair) = tokio::join!(
        bed.cli(&["wait", DEPLOYMENT, "--until", "ready", "--timeout", "120s"]),
        bed.pair(None),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("{DEPLOYMENT}: READY")), "{stdout}");
    assert!(
        !stdout.contains("greenlight: "),
        "progress stays off stdout: {stdout}"
    );

    let progress: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("greenlight: "))
        .filter(|line| line.starts_with(&format!("{DEPLOYMENT}: ")))
        .collect();
    println!("wait's progress:\n{}", progress.join("\n"));
    let ready_at = progress
        .iter()
        .position(|line| line.starts_with(&format!("{DEPLOYMENT}: READY,")))
        .unwrap_or_else(|| panic!("a progress line for READY: {stderr}"));
    assert_eq!(ready_at, progress.len() - 1, "READY is the last: {stderr}");
    assert!(
        progress[..ready_at]
            .iter()
            .any(|line| line.contains("NOT_READY") && line.contains("readiness_window")),
        "a line for the readiness window before READY: {stderr}"
    );
    // One line per change: never the same twice in a row, and no line a
    // second (a terminal's countdown) in a pipe.
    assert!(
        progress.windows(2).all(|pair| pair[0] != pair[1]),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\r'),
        "no terminal redraws into a pipe: {stderr:?}"
    );
}
