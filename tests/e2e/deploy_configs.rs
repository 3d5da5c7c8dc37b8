//! The configs shipped in deploy/ are valid: each passes its binary's
//! --check-config, including the agent config inside the Kubernetes
//! ConfigMap, and every file the compose file mounts exists.

use std::path::{Path, PathBuf};
use std::time::Duration;

use greenlight_testbed::{Process, binary};

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

async fn check(program: &str, file: &Path) -> String {
    let process = Process::spawn(
        binary(program),
        &["--check-config", file.to_str().unwrap()],
        &[],
    )
    .unwrap();
    let status = process
        .wait_exit(Duration::from_secs(30))
        .await
        .expect("it exits");
    let output = process.output_so_far();
    assert!(status.success(), "{} is invalid: {output}", file.display());
    output
}

#[tokio::test]
async fn every_shipped_config_passes_check_config() {
    let summary = check("greenlight-aggregator", &deploy().join("aggregator.toml")).await;
    assert!(summary.contains("deployment escashop"), "{summary}");
    assert!(summary.contains("rollback hook"), "{summary}");
    for color in ["blue", "green"] {
        check(
            "greenlight-agent",
            &deploy().join(format!("agent-{color}.toml")),
        )
        .await;
    }

    // The agent config embedded in the Kubernetes manifest.
    let manifest =
        std::fs::read_to_string(deploy().join("kubernetes/escashop-green.yaml")).unwrap();
    let start = manifest.find("agent.toml: |").expect("the ConfigMap") + "agent.toml: |".len();
    let embedded: String = manifest[start..]
        .lines()
        .skip(1)
        .take_while(|line| line.starts_with("    "))
        .map(|line| format!("{}\n", &line[4..]))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agent.toml");
    std::fs::write(&file, embedded).unwrap();
    check("greenlight-agent", &file).await;

    // Files the compose file mounts.
    let compose = std::fs::read_to_string(deploy().join("compose/docker-compose.yml")).unwrap();
    for line in compose
        .lines()
        .filter(|line| line.trim_start().starts_with("- ../"))
    {
        let relative = line
            .trim_start()
            .trim_start_matches("- ")
            .split(':')
            .next()
            .unwrap();
        let path = deploy().join("compose").join(relative);
        assert!(
            path.is_file(),
            "compose mounts {} which does not exist",
            path.display()
        );
    }
}
