//! A reader that goes away (`| head -1`) ends the CLI quietly, exit 0 or
//! 141, never a panic about a broken pipe: `watch` (which writes on every
//! new verdict), `history` (more than a pipe holds) and the plain reads.

use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;
use std::time::Duration;

use greenlight_testbed::{RedisServer, binary};

use super::{assert_quiet_end, head_pipeline_status, piped_into_head};
use crate::bed::{Bed, DEPLOYMENT, SETTLE, set_switches};

/// Enough history that its JSON cannot sit in a pipe (64 KiB) waiting.
const FILLER: usize = 3_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_and_history_into_head_end_quietly() {
    let redis = RedisServer::start().await.expect("Redis");
    let bed = Bed::new();
    let _aggregator = bed
        .aggregator_with(Some(&redis.url()), "ready_after = \"1s\"")
        .await;
    let pair = bed.pair(None).await;
    bed.verdict_where("a verdict with both agents", SETTLE, |v| {
        v.agents.len() == 2
    })
    .await;

    // watch: head leaves after the first verdict; the watch finds out at
    // its next write, when the world changes (green's /health flapping).
    let watch = piped_into_head(&bed, &["watch", DEPLOYMENT, "--json"], &["-n", "1"]);
    let first = watch.wait_for_line("\"epoch\"", SETTLE).await;
    serde_json::from_str::<serde_json::Value>(&first).expect("head passed one JSON line");
    let mut failing = false;
    for _ in 0..12 {
        failing = !failing;
        set_switches(&pair.green, &format!(r#"{{"health_failing": {failing}}}"#)).await;
        if watch.wait_exit(Duration::from_secs(5)).await.is_some() {
            break;
        }
    }
    let (code, output) = head_pipeline_status(&watch).await;
    assert_quiet_end("watch --json | head -n 1", code, &output);
    println!("watch --json | head -n 1: exit {code}");
    set_switches(&pair.green, r#"{"health_failing": false}"#).await;

    // history: more entries than a pipe holds, so the CLI is still writing
    // when head leaves.
    crate::bed::fill_history(&redis.url(), FILLER).await;
    let (code, whole, stderr) = bed.cli(&["history", DEPLOYMENT, "--json"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(whole.len() > 256 * 1024, "only {} bytes", whole.len());
    let history = piped_into_head(&bed, &["history", DEPLOYMENT, "--json"], &["-n", "1"]);
    let (code, output) = head_pipeline_status(&history).await;
    assert_quiet_end("history --json | head -n 1", code, &output);
    assert!(output.lines().any(|line| line == "["), "{output}");
    println!(
        "history --json ({} bytes) | head -n 1: exit {code}",
        whole.len()
    );

    // A plain read, as the issue has it: status --json | head -c 1.
    let status = piped_into_head(&bed, &["status", "--json"], &["-c", "1"]);
    let (code, output) = head_pipeline_status(&status).await;
    assert_quiet_end("status --json | head -c 1", code, &output);
    assert!(output.lines().any(|line| line == "["), "{output}");

    // A reader gone before the first byte: every read command exits 141,
    // the code args.rs promises, and says nothing.
    for args in [
        vec!["status", "--json"],
        vec!["status"],
        vec!["verdict", DEPLOYMENT],
        vec!["verdict", DEPLOYMENT, "--json"],
        vec!["history", DEPLOYMENT, "--json"],
    ] {
        let (code, stderr) = into_closed_pipe(&bed, &args).await;
        assert_eq!(code, 141, "{args:?} into a closed pipe: {stderr}");
        assert!(stderr.trim().is_empty(), "{args:?} said: {stderr}");
    }
}

/// Runs the CLI with stdout a pipe whose reader is already closed: (exit
/// code, stderr).
async fn into_closed_pipe(bed: &Bed, args: &[&str]) -> (i32, String) {
    let output = tokio::time::timeout(
        SETTLE,
        tokio::process::Command::new(binary("greenlight"))
            .arg("--aggregator")
            .arg(bed.aggregator_url())
            .args(args)
            .env_remove("GREENLIGHT_TOKEN")
            .stdin(Stdio::null())
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Not `output()`: it would pipe stdout to us after all.
            .spawn()
            .expect("running greenlight")
            .wait_with_output(),
    )
    .await
    .expect("the CLI ended in time")
    .expect("waiting for greenlight");
    (
        output.status.code().expect("the CLI exited, not killed"),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The writing end of a pipe nobody reads any more.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) writes two descriptors into the array it is given.
    let made = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(made, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just made and belong to nothing else.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    Stdio::from(writer)
}
