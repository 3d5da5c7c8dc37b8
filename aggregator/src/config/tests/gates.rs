//! Test gates as written: per deployment, checked when loaded.

use std::time::Duration;

use super::{load_text, refused};
use crate::engine::GateStage;

const GATED: &str = r#"
[deployments.escashop]
live = "blue"
[[deployments.escashop.gates]]
name = "integration"
stage = "before_cutover"
command = ["tests/integration.sh", "{candidate}"]
[[deployments.escashop.gates]]
name = "smoke"
stage = "after_cutover"
command = ["tests/smoke.sh"]
timeout = "2m"
env = { BASE_URL = "http://green" }
"#;

#[test]
fn gates_load_with_their_stage_timeout_and_command() {
    let config = load_text(GATED).unwrap();
    let specs = &config.deployments["escashop"].gates;
    let names: Vec<(&str, GateStage)> = specs.iter().map(|g| (g.name.as_str(), g.stage)).collect();
    assert_eq!(
        names,
        [
            ("integration", GateStage::BeforeCutover),
            ("smoke", GateStage::AfterCutover)
        ]
    );
    let commands = &config.hooks.gates["escashop"];
    assert_eq!(commands["integration"].timeout, Duration::from_secs(300));
    assert_eq!(commands["smoke"].timeout, Duration::from_secs(120));
    assert_eq!(
        commands["smoke"].env,
        [("BASE_URL".to_string(), "http://green".to_string())]
    );
    // --check-config's summary lists them, with when they run.
    let summary = config.summary();
    assert!(
        summary.contains(
            "deployment escashop gates: integration (before cutover) [\"tests/integration.sh\", \"{candidate}\"], timeout 5m; smoke (after cutover) [\"tests/smoke.sh\"], timeout 2m"
        ),
        "{summary}"
    );
    // The programs are not there: --check-config says so, by key.
    let unrunnable = config.unrunnable_hooks(None);
    assert!(
        unrunnable.iter().any(|e| e
            .to_string()
            .contains("deployments.escashop.gates.smoke.command")),
        "{unrunnable:?}"
    );
}

#[test]
fn bad_gates_are_refused_with_their_key() {
    let gate = |body: &str| format!("[[deployments.escashop.gates]]\n{body}\n");
    for (text, key, words) in [
        (
            gate("name = \"a\"\nstage = \"before_cutover\"\ncommand = []"),
            "deployments.escashop.gates[0].command",
            "must name a program",
        ),
        (
            gate("name = \"a\"\nstage = \"before_cutover\"\ncommand = [\"t\"]\ntimeout = \"2h\""),
            "deployments.escashop.gates[0].timeout",
            "at most 1h",
        ),
        (
            format!(
                "{}{}",
                gate("name = \"a\"\nstage = \"before_cutover\"\ncommand = [\"t\"]"),
                gate("name = \"a\"\nstage = \"after_cutover\"\ncommand = [\"t\"]")
            ),
            "deployments.escashop.gates[1].name",
            "unique",
        ),
        (
            gate("name = \"a\"\nstage = \"before_cutover\"\ncommand = [\"t\", \"{to}\"]"),
            "deployments.escashop.gates[0].command",
            "unknown placeholder {to}",
        ),
        (
            "[[defaults.gates]]\nname = \"a\"\nstage = \"before_cutover\"\ncommand = [\"t\"]\n"
                .to_string(),
            "defaults.gates",
            "belong to one deployment",
        ),
    ] {
        let error = refused(&text);
        let said = error.to_string();
        assert!(said.contains(key) && said.contains(words), "{text}: {said}");
    }
}
