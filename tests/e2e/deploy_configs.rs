//! Every config the deploy kit ships or embeds passes its binary's
//! `--check-config`, as it would be run: deploy/*.toml (the aggregator's with
//! its hook pointed at this repository's deploy/switch-traffic, since
//! /usr/local/bin/switch-traffic is not installed here), each Kubernetes
//! ConfigMap's toml, and each compose service's mounted toml with that
//! service's environment set. And the shipped aggregator config as it is,
//! on a machine without the switch script installed, fails
//! `--check-config` naming the script and how to install it.

use std::path::Path;
use std::time::Duration;

use greenlight_testbed::{Process, binary};

use crate::deploy_kit::kit::{
    COMPOSE, INSTALLED_HOOK, check_config, checker, compose, compose_source, configmap_files,
    deploy, read, runnable_here, yaml, yaml_files,
};

#[tokio::test]
async fn the_shipped_aggregator_config_fails_check_config_without_its_hook_installed() {
    // Where the hook is expected and is not: the installed path itself on
    // a machine without it, else a path that cannot exist.
    let missing = if Path::new(INSTALLED_HOOK).exists() {
        "/nonexistent/greenlight-e2e/switch-traffic"
    } else {
        INSTALLED_HOOK
    };
    let text = read("deploy/aggregator.toml").replace(INSTALLED_HOOK, missing);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aggregator.toml");
    std::fs::write(&file, text).unwrap();
    let process = Process::spawn(
        binary("greenlight-aggregator"),
        &["--check-config", file.to_str().unwrap()],
        &[],
    )
    .unwrap();
    let status = process
        .wait_exit(Duration::from_secs(30))
        .await
        .expect("--check-config exits");
    let output = process.output_so_far();
    assert_eq!(status.code(), Some(2), "not \"config OK\": {output}");
    assert!(!output.contains("config OK"), "{output}");
    for hook in ["cutover", "rollback"] {
        assert!(
            output.contains(&format!(
                "key \"hooks.{hook}.command\": the {hook} hook cannot run: {missing} does not exist"
            )),
            "names the {hook} hook and {missing}: {output}"
        );
    }
    assert!(
        output.contains(&format!("install -m 0755 deploy/switch-traffic {missing}")),
        "says how to install it: {output}"
    );
    assert!(output.contains("docs/deploy.md"), "{output}");
}

#[tokio::test]
async fn every_shipped_toml_passes_check_config() {
    let aggregator = runnable_here(&read("deploy/aggregator.toml"));
    let summary = check_config("greenlight-aggregator", "aggregator.toml", &aggregator, &[]).await;
    assert!(summary.contains("deployment escashop"), "{summary}");
    assert!(summary.contains("rollback hook"), "{summary}");
    assert!(summary.contains("listen: 127.0.0.1:7070"), "{summary}");
    for (color, listen) in [("blue", "127.0.0.1:7072"), ("green", "127.0.0.1:7073")] {
        let name = format!("agent-{color}.toml");
        let summary = check_config(
            "greenlight-agent",
            &name,
            &read(&format!("deploy/{name}")),
            &[],
        )
        .await;
        assert!(
            summary.contains(&format!("/health and /metrics on http://{listen}")),
            "{name} should serve its /health on {listen}: {summary}"
        );
    }
}

#[tokio::test]
async fn every_kubernetes_configmap_passes_check_config() {
    let mut checked = 0;
    for file in yaml_files()
        .into_iter()
        .filter(|f| f.contains("kubernetes"))
    {
        for (map, key, text) in configmap_files(&yaml(&file)) {
            let summary = check_config(checker(&key), &key, &text, &[]).await;
            assert!(summary.contains("OK"), "{file} ConfigMap {map}: {summary}");
            checked += 1;
        }
    }
    assert_eq!(
        checked, 3,
        "the aggregator's and both colors' agent configs"
    );
}

#[tokio::test]
async fn every_compose_service_config_passes_check_config_with_its_environment() {
    let mut checked = 0;
    for service in compose() {
        let command = service.command();
        let program = command.first().map(String::as_str).unwrap_or("");
        if !program.starts_with("greenlight-") {
            continue;
        }
        let config = command
            .iter()
            .skip_while(|w| *w != "--config")
            .nth(1)
            .unwrap_or_else(|| panic!("service {}: no --config", service.name));
        let (source, _) = service
            .volumes()
            .into_iter()
            .find(|(_, target)| target == config)
            .unwrap_or_else(|| panic!("service {}: nothing mounted at {config}", service.name));
        let path = compose_source(&source).expect("a file of this repository");
        let mut text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{COMPOSE} mounts {}: {e}", path.display()));
        if program == "greenlight-aggregator" {
            text = runnable_here(&text);
        }
        let env = service.environment();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        check_config(program, "service.toml", &text, &env).await;
        checked += 1;
    }
    assert_eq!(checked, 3, "the aggregator and two agents in {COMPOSE}");

    // And every file any service mounts from the repository exists.
    for service in compose() {
        for (source, _) in service.volumes() {
            if let Some(path) = compose_source(&source) {
                assert!(
                    path.exists(),
                    "{COMPOSE}: service {} mounts {} which does not exist",
                    service.name,
                    path.display()
                );
            }
        }
    }
    assert!(deploy().join("postgres/setup.sql").is_file());
}
