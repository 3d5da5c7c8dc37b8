//! `greenlight completions <shell>` and `greenlight man` need no
//! aggregator and print what they promise: scripts that know every
//! subcommand (bash's loads and registers), and a roff page.

use std::process::Command;

use crate::bed::{Bed, path_str};

/// Every subcommand (cli/src/args.rs).
const SUBCOMMANDS: [&str; 11] = [
    "status",
    "verdict",
    "wait",
    "watch",
    "cutover",
    "rollback",
    "pause",
    "resume",
    "history",
    "completions",
    "man",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_the_man_page_come_out_whole() {
    // Nothing listens on a fresh bed's port: none of this needs it.
    let bed = Bed::new();
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, stderr) = bed.cli(&["completions", shell]).await;
        assert_eq!(code, 0, "completions {shell}: {stderr}");
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "completions {shell} lack {sub}");
        }
        assert!(script.contains("--rpc-timeout") || script.contains("rpc-timeout"));
        assert!(stderr.is_empty(), "completions {shell}: {stderr}");
    }

    // bash can load it, and it then completes greenlight.
    let (_, script, _) = bed.cli(&["completions", "bash"]).await;
    let file = bed.dir.path().join("greenlight.bash");
    std::fs::write(&file, script).unwrap();
    let loaded = Command::new("bash")
        .arg("-c")
        .arg("source \"$1\" && complete -p greenlight")
        .arg("bash")
        .arg(path_str(&file))
        .output()
        .expect("running bash");
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    assert!(String::from_utf8_lossy(&loaded.stdout).contains("greenlight"));

    let (code, page, stderr) = bed.cli(&["man"]).await;
    assert_eq!(code, 0, "man: {stderr}");
    assert!(page.starts_with(".TH"), "{}", &page[..page.len().min(80)]);
    assert!(page.contains(".SH NAME"), "{page}");
    for sub in SUBCOMMANDS {
        let heading = format!(".SH \"GREENLIGHT {}\"", sub.to_uppercase());
        assert!(page.contains(&heading), "man lacks {heading}");
    }
    // The exit codes, a contract, are in the page.
    assert!(page.contains("141"), "man names the exit codes");
}
