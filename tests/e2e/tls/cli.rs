//! Acceptance: `--aggregator` takes `host:port`, `http://` and `https://`
//! and nothing else (exit 2, saying what is accepted); `https://` against
//! a plaintext aggregator is an error that says so, never plaintext.

use crate::bed::Bed;

#[tokio::test]
async fn the_cli_takes_host_port_http_and_https_and_never_falls_back_to_plaintext() {
    let bed = Bed::new();
    let _aggregator = bed.aggregator(None, "1s").await;
    let port = bed.aggregator_port;

    let (code, stdout, stderr) = bed.cli_at(&format!("localhost:{port}"), &["status"]).await;
    assert_eq!(code, 0, "host:port is http://: {stderr}");
    assert!(stdout.contains("no deployments yet"), "{stdout}");

    let (code, _, stderr) = bed
        .cli_at(&format!("https://127.0.0.1:{port}"), &["status"])
        .await;
    assert_eq!(code, 2, "https:// to a plaintext aggregator: {stderr}");
    assert!(stderr.contains("did not answer in TLS"), "{stderr}");

    let (code, _, stderr) = bed.cli_at("ftp://x", &["status"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("ftp:// is not accepted"), "{stderr}");
    assert!(stderr.contains("https://host:port"), "{stderr}");

    let (code, stdout, _) = bed.cli_at("localhost:1", &["--help"]).await;
    assert_eq!(code, 0);
    for named in [
        "--ca",
        "--cert",
        "--key",
        "--token-file",
        "GREENLIGHT_TOKEN",
    ] {
        assert!(stdout.contains(named), "--help names {named}:\n{stdout}");
    }
}
