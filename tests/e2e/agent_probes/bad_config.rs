//! A bad agent config file (unknown key, negative interval, malformed URL,
//! in the new keys too) exits 2 naming the file and the key; a good one
//! passes `--check-config` and says what it means.

use std::time::Duration;

use greenlight_testbed::{Process, binary};

use crate::bed::Bed;

const HEAD: &str = "deployment = \"escashop\"\ncolor = \"green\"\ninstance_id = \"green-1\"\n";

async fn run_agent(args: &[&str]) -> (Option<i32>, String) {
    let process = Process::spawn(binary("greenlight-agent"), args, &[]).unwrap();
    let status = process
        .wait_exit(Duration::from_secs(30))
        .await
        .expect("a config check exits at once");
    (status.code(), process.output_so_far())
}

#[tokio::test]
async fn bad_new_keys_exit_2_naming_file_and_key() {
    let bed = Bed::new();
    let cases = [
        (
            "[checks.websocket]\nurl = \"http://127.0.0.1:5001/ws\"\n",
            "checks.websocket.url",
            "ws://",
        ),
        (
            "[checks.redis]\nurl = \"redis://127.0.0.1:6379\"\ninterval = \"-2s\"\n",
            "checks.redis.interval",
            "",
        ),
        (
            "[checks.process]\nport = 5001\npidfile = \"/run/x.pid\"\n",
            "checks.process.pidfile",
            "unknown key",
        ),
        (
            "listen = \"nowhere\"\n[checks.http]\nurl = \"http://127.0.0.1:5001/health\"\n",
            "listen",
            "not an address",
        ),
        (
            "[checks.traffic]\nurl = \"http://127.0.0.1:5001/metrics\"\nsource = \"both\"\n",
            "checks.traffic.source",
            "",
        ),
        (
            "[checks.http]\nurl = \"http://127.0.0.1:5001/health\"\ndetailed_url = \"health/detailed\"\n",
            "checks.http.detailed_url",
            "relative URL",
        ),
        (
            "[checks.http]\nurl = \"http://127.0.0.1:5001/health\"\ninterval = \"1s\"\ntimeout = \"3s\"\n",
            "checks.http.timeout",
            "longer than",
        ),
    ];
    for (text, key, reason) in cases {
        let path = bed.dir.path().join("agent-bad.toml");
        std::fs::write(&path, format!("{HEAD}{text}")).unwrap();
        for flag in ["--config", "--check-config"] {
            let (code, output) = run_agent(&[flag, path.to_str().unwrap()]).await;
            assert_eq!(code, Some(2), "{flag} {text}: {output}");
            assert!(
                output.contains("agent-bad.toml"),
                "names the file: {output}"
            );
            assert!(
                output.contains(&format!("\"{key}\"")),
                "names {key}: {output}"
            );
            assert!(output.contains(reason), "says why ({reason}): {output}");
        }
    }
}

#[tokio::test]
async fn check_config_says_what_a_good_file_means() {
    let bed = Bed::new();
    let path = bed.dir.path().join("agent-good.toml");
    std::fs::write(
        &path,
        format!(
            "{HEAD}listen = \"127.0.0.1:7072\"\n\
             [checks.websocket]\nurl = \"ws://127.0.0.1:5001/ws\"\ninterval = \"5s\"\n\
             [checks.process]\nport = 5001\n"
        ),
    )
    .unwrap();
    let (code, output) = run_agent(&["--check-config", path.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "{output}");
    assert!(output.starts_with("config OK"), "{output}");
    assert!(
        output.contains("check websocket: every 5s, timeout 800ms"),
        "{output}"
    );
    assert!(
        output.contains("/health and /metrics on http://127.0.0.1:7072"),
        "{output}"
    );
}
