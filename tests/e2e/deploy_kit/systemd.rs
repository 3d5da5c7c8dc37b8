//! deploy/systemd: the units pass `systemd-analyze verify` and score "OK"
//! or better on `systemd-analyze security`; greenlight.sysusers and
//! greenlight.tmpfiles do what they say in a scratch root; the user they make
//! is the units' User=; the units start what docs/deploy.md installs where
//! it installs it, and give the hook the paths the HAProxy config and
//! switch-traffic use.

use std::path::Path;
use std::process::Command;

use greenlight_testbed::binary;

use super::kit::{INSTALLED_HOOK, read, toml_of};

const UNITS: [&str; 2] = ["greenlight-aggregator.service", "greenlight-agent@.service"];

/// `Key=value` lines of a unit (or any key=value file), in order.
fn settings(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn values(unit: &str, key: &str) -> Vec<String> {
    settings(&read(&format!("deploy/systemd/{unit}")))
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}

fn one(unit: &str, key: &str) -> String {
    let found = values(unit, key);
    assert_eq!(found.len(), 1, "{unit}: {key}= {found:?}");
    found[0].clone()
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (apt-get install systemd): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{program} {args:?}: {text}");
    text
}

#[test]
fn the_units_verify_and_are_sandboxed() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for unit in UNITS {
        // The binaries as built here, where /usr/local/bin has none.
        let mut text = read(&format!("deploy/systemd/{unit}"));
        for bin in ["greenlight-aggregator", "greenlight-agent"] {
            text = text.replace(
                &format!("/usr/local/bin/{bin} "),
                &format!("{} ", binary(bin).display()),
            );
        }
        let name = unit.replace("@.", "@blue.");
        let path = dir.path().join(&name);
        std::fs::write(&path, text).unwrap();
        paths.push(path);
    }
    let args: Vec<&str> = ["verify", "--man=no"]
        .into_iter()
        .chain(paths.iter().map(|p| p.to_str().unwrap()))
        .collect();
    let said = run("systemd-analyze", &args);
    assert!(!said.contains("Unknown key"), "{said}");
    for path in &paths {
        let said = run(
            "systemd-analyze",
            &["security", "--offline=yes", path.to_str().unwrap()],
        );
        let level = said
            .lines()
            .find_map(|l| l.split("Overall exposure level for ").nth(1))
            .unwrap_or_else(|| panic!("no exposure level: {said}"));
        assert!(
            level.contains(" OK ") || level.contains(" SAFE "),
            "{level}"
        );
    }
    for unit in UNITS {
        for key in [
            "NoNewPrivileges",
            "ProtectSystem",
            "ProtectHome",
            "PrivateTmp",
        ] {
            assert!(!values(unit, key).is_empty(), "{unit} has no {key}=");
        }
        assert_eq!(one(unit, "CapabilityBoundingSet"), "");
        assert_eq!(
            one(unit, "RestrictAddressFamilies"),
            "AF_INET AF_INET6 AF_UNIX"
        );
    }
}

#[test]
fn sysusers_and_tmpfiles_make_the_units_user_and_directories() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    let root_arg = format!("--root={}", root.path().display());
    let deploy = super::kit::deploy().join("systemd");
    let sysusers = deploy.join("greenlight.sysusers");
    run("systemd-sysusers", &[&root_arg, sysusers.to_str().unwrap()]);
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    let user = passwd.lines().next().unwrap().split(':').next().unwrap();
    for unit in UNITS {
        assert_eq!(
            one(unit, "User"),
            user,
            "{unit}: User= vs greenlight.sysusers"
        );
        assert_eq!(
            one(unit, "Group"),
            user,
            "{unit}: Group= vs greenlight.sysusers"
        );
    }
    let group = std::fs::read_to_string(root.path().join("etc/group")).unwrap();
    let supplementary = one("greenlight-aggregator.service", "SupplementaryGroups");
    assert!(
        group
            .lines()
            .any(|l| l.starts_with(&format!("{supplementary}:")) && l.ends_with(user)),
        "{user} should be in {supplementary}: {group}"
    );

    let tmpfiles = deploy.join("greenlight.tmpfiles");
    run(
        "systemd-tmpfiles",
        &[&root_arg, "--create", tmpfiles.to_str().unwrap()],
    );
    let unit = "greenlight-aggregator.service";
    let state = format!("/var/lib/{}", one(unit, "StateDirectory"));
    let logs = format!("/var/log/{}", one(unit, "LogsDirectory"));
    for dir in [&state, &logs] {
        assert!(
            root.path().join(dir.trim_start_matches('/')).is_dir(),
            "greenlight.tmpfiles should make {dir}, the unit's directory"
        );
    }
    // Where HAProxy keeps its state and the hook its log: those directories.
    let haproxy = read("deploy/haproxy/haproxy.cfg");
    assert!(
        haproxy.contains(&format!("server-state-file {state}/")),
        "haproxy.cfg vs {state}"
    );
    let hook = read("deploy/switch-traffic");
    assert!(
        hook.contains(&format!("{logs}/deployments.log")),
        "switch-traffic's log vs {logs}"
    );
    assert!(hook.contains(&format!("{state}/haproxy-server-state")));
    let socket = "/run/haproxy/admin.sock";
    assert!(haproxy.contains(&format!("stats socket {socket} ")));
    assert!(hook.contains(socket));
    let socket_dir = Path::new(socket).parent().unwrap().to_str().unwrap();
    assert_eq!(one(unit, "ReadWritePaths"), format!("-{socket_dir}"));
}

/// The `install` lines of docs/deploy.md's code blocks, as words.
fn install_lines() -> Vec<Vec<String>> {
    read("docs/deploy.md")
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("install "))
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

/// True if docs/deploy.md has `install ... SOURCE DEST`, SOURCE ending in
/// `source` (a path from the repository's root, or a binary's name).
fn installed(source: &str, dest: &str) -> bool {
    install_lines().iter().any(|w| {
        let n = w.len();
        n >= 3
            && w[n - 1] == dest
            && (w[n - 2] == source || w[n - 2].ends_with(&format!("/{source}")))
    })
}

#[test]
fn the_units_start_what_the_install_steps_install() {
    for unit in UNITS {
        for key in ["ExecStart", "ExecStartPre"] {
            let command = one(unit, key);
            let words: Vec<&str> = command.split_whitespace().collect();
            let program = words[0];
            let name = Path::new(program).file_name().unwrap().to_str().unwrap();
            assert!(
                installed(name, program),
                "{unit} {key} runs {program}: docs/deploy.md has no `install ... {name} {program}` step"
            );
            assert!(
                read("deploy/Dockerfile").contains(&format!(" {program}\n")),
                "{unit} runs {program}; the Dockerfile installs no such path"
            );
            let config = words.last().unwrap();
            for color in ["blue", "green"] {
                let config = config.replace("%i", color);
                let shipped = Path::new(&config).file_name().unwrap().to_str().unwrap();
                assert!(
                    installed(&format!("deploy/{shipped}"), &config),
                    "{unit} reads {config}: docs/deploy.md has no step installing deploy/{shipped} there"
                );
            }
        }
    }
    // The hook the aggregator runs.
    let aggregator = toml_of(&read("deploy/aggregator.toml"), "deploy/aggregator.toml");
    for hook in ["cutover", "rollback"] {
        let command = aggregator["hooks"][hook]["command"][0].as_str().unwrap();
        assert_eq!(command, INSTALLED_HOOK);
    }
    assert!(
        installed("deploy/switch-traffic", INSTALLED_HOOK),
        "docs/deploy.md should install deploy/switch-traffic as {INSTALLED_HOOK}"
    );
    for file in ["greenlight.sysusers", "greenlight.tmpfiles"] {
        let kind = file.split('.').nth(1).unwrap();
        assert!(
            installed(
                &format!("deploy/systemd/{file}"),
                &format!("/usr/lib/{kind}.d/greenlight.conf")
            ),
            "docs/deploy.md should install {file}"
        );
    }
}
