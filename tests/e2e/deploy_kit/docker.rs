//! deploy/Dockerfile against the workspace: what it copies exists and
//! .dockerignore keeps it in, every member is there for cargo, the binaries
//! it takes out of target/ are the ones its cargo commands build under those
//! names and profiles, it runs as a non-root user, and what compose and
//! Kubernetes run is in it.

use std::collections::BTreeSet;
use std::process::Command;

use super::kit::{compose, dockerfile, read, repo, yaml, yaml_files};

/// The image's user and group id, which compose's HAProxy socket group and
/// the Kubernetes securityContexts name.
pub const IMAGE_UID: &str = "10001";

/// (package, binary) of the workspace, from `cargo metadata`.
fn workspace_binaries() -> BTreeSet<(String, String)> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(repo())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut found = BTreeSet::new();
    for package in metadata["packages"].as_array().unwrap() {
        for target in package["targets"].as_array().unwrap() {
            if target["kind"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k == "bin")
            {
                found.insert((
                    package["name"].as_str().unwrap().to_string(),
                    target["name"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    found
}

/// The words of an instruction, flags like `--chmod=0755` left out.
fn words(instruction: &str) -> Vec<&str> {
    instruction
        .split_whitespace()
        .filter(|w| !w.starts_with("--"))
        .collect()
}

#[test]
fn the_dockerfile_copies_what_exists_and_builds_what_it_installs() {
    let lines = dockerfile();
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_end_matches('/').to_string())
        .collect();

    // COPY from the context: each source exists and is not ignored.
    let mut copied = BTreeSet::new();
    for line in lines
        .iter()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from="))
    {
        let w = words(line);
        for source in &w[1..w.len() - 1] {
            let source = source.trim_end_matches('/');
            assert!(
                repo().join(source).exists(),
                "deploy/Dockerfile copies {source}: missing"
            );
            assert!(
                !ignored
                    .iter()
                    .any(|i| i == source || source.starts_with(&format!("{i}/"))),
                ".dockerignore leaves out {source}, which deploy/Dockerfile copies"
            );
            copied.insert(source.to_string());
        }
    }
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let members = manifest["workspace"]["members"].as_array().unwrap();
    for member in members {
        let member = member.as_str().unwrap();
        assert!(
            copied.contains(member),
            "deploy/Dockerfile does not copy member {member}"
        );
    }
    assert!(copied.contains("Cargo.lock"));

    // The builds: packages and profiles.
    let builds: Vec<(String, Vec<String>)> = lines
        .iter()
        .filter(|l| l.starts_with("RUN ") && l.contains("cargo build"))
        .flat_map(|l| l.split("&&"))
        .filter(|c| c.contains("cargo build"))
        .map(|command| {
            let w: Vec<&str> = command.split_whitespace().collect();
            let profile = if w.contains(&"--release") {
                "release".to_string()
            } else {
                let at = w.iter().position(|x| *x == "--profile").expect("a profile");
                w[at + 1].to_string()
            };
            let packages = w
                .windows(2)
                .filter(|p| p[0] == "-p")
                .map(|p| p[1].to_string())
                .collect();
            (profile, packages)
        })
        .collect();
    assert_eq!(builds.len(), 2, "{builds:?}");
    let binaries = workspace_binaries();

    // COPY --from=builder /src/target/<profile>/<bin> /usr/local/bin/<bin>.
    let mut installed = BTreeSet::new();
    for line in lines
        .iter()
        .filter(|l| l.starts_with("COPY --from=builder"))
    {
        let w = words(line);
        let (source, dest) = (w[1], w[2]);
        let rest = source.strip_prefix("/src/target/").expect("out of target/");
        let (profile, bin) = rest.split_once('/').unwrap();
        let built_by = builds
            .iter()
            .find(|(p, packages)| {
                p == profile
                    && packages
                        .iter()
                        .any(|pkg| binaries.contains(&(pkg.clone(), bin.to_string())))
            })
            .unwrap_or_else(|| panic!("no cargo build in deploy/Dockerfile makes {source}"));
        assert!(!built_by.1.is_empty());
        assert_eq!(dest, format!("/usr/local/bin/{bin}"));
        installed.insert(bin.to_string());
    }
    assert_eq!(
        installed,
        BTreeSet::from(
            ["greenlight", "greenlight-agent", "greenlight-aggregator"].map(String::from)
        )
    );
    // The agent with the sidecar profile.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("/src/target/sidecar/greenlight-agent")),
        "the agent should be the sidecar build"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("COPY")
            && l.ends_with("deploy/switch-traffic /usr/local/bin/switch-traffic")),
        "the hook the aggregator's config runs is in the image"
    );

    // Non-root, the id the rest of the kit names.
    let user = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("USER "))
        .expect("a USER");
    assert_eq!(user.as_str(), format!("USER {IMAGE_UID}:{IMAGE_UID}"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("--uid {IMAGE_UID}")))
    );
    // Two stages: a Rust builder, a small runtime.
    let froms: Vec<&String> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2);
    assert!(froms[0].contains("rust:") && froms[0].ends_with("AS builder"));
    assert!(froms[1].contains("-slim") || froms[1].contains("distroless"));
}

#[test]
fn compose_and_kubernetes_run_what_the_image_holds() {
    let in_image = [
        "greenlight",
        "greenlight-agent",
        "greenlight-aggregator",
        "sleep",
    ];
    for service in compose() {
        if service.image() == "greenlight:latest" {
            let command = service.command();
            assert!(
                in_image.contains(&command[0].as_str()),
                "compose service {} runs {}, not in the image",
                service.name,
                command[0]
            );
        }
    }
    for file in yaml_files()
        .into_iter()
        .filter(|f| f.contains("kubernetes"))
    {
        for doc in yaml(&file) {
            let containers = &doc["spec"]["template"]["spec"]["containers"];
            for container in super::kit::list(containers) {
                if container["image"].as_str() != Some("greenlight:latest") {
                    continue;
                }
                let program = container["args"][0].as_str().unwrap();
                assert!(in_image.contains(&program), "{file} runs {program}");
                let uid = container["securityContext"]["runAsUser"]
                    .as_i64()
                    .or(doc["spec"]["template"]["spec"]["securityContext"]["runAsUser"].as_i64());
                assert_eq!(
                    uid.map(|u| u.to_string()).as_deref(),
                    Some(IMAGE_UID),
                    "{file}"
                );
            }
        }
    }
}
