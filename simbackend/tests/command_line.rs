//! The binary as a person or a script types it: `--version` is clap's own,
//! and the version a backend plays is `--app-version`.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_greenlight-simbackend");

#[test]
fn version_prints_the_binarys_version_and_exits() {
    let output = Command::new(BINARY).arg("--version").output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout.trim(),
        format!("greenlight-simbackend {}", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn app_version_is_what_health_reports() {
    let mut child = Command::new(BINARY)
        .args(["--listen", "127.0.0.1:0", "--app-version", "v9.9.9"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("greenlight-simbackend listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let body = async {
        let response = client.get(format!("http://{addr}/health")).send().await?;
        response.error_for_status()?.text().await
    }
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let health: serde_json::Value = serde_json::from_str(&body.unwrap()).unwrap();
    assert_eq!(health["version"], "v9.9.9");
}
