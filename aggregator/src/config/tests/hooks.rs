//! Hooks as written: defaults, each deployment's own replacing them hook
//! by hook, phase hooks and what only they may say.

use std::time::Duration;

use super::{load_text, refused};
use crate::hooks::HookPoint;

const TWO_DEPLOYMENTS: &str = r#"
[hooks.cutover]
command = ["switch", "{direction}"]
[hooks.verified]
command = ["retire", "{deployment}", "{from}", "{phase}"]
delay = "10m"
[deployments.escashop]
live = "blue"
[deployments.escashop.hooks.verified]
command = ["retire-shop", "{from_phase}"]
timeout = "5s"
[deployments.escashop.hooks.cutover]
command = ["shop-switch", "{direction}"]
[deployments.admin]
live = "green"
[deployments.quiet]
live = "blue"
[deployments.quiet.hooks.rollback]
command = ["back"]
"#;

#[test]
fn a_deployments_own_hook_replaces_the_default_whole_and_others_keep_it() {
    let config = load_text(TWO_DEPLOYMENTS).unwrap();
    let hooks = &config.hooks;
    let own = hooks.command("escashop", HookPoint::Verified).unwrap();
    assert_eq!(own.argv, ["retire-shop", "{from_phase}"]);
    assert_eq!(own.timeout, Duration::from_secs(5));
    // Replaced whole: the default's delay is not inherited.
    assert_eq!(own.delay, Duration::ZERO);
    let default = hooks.command("admin", HookPoint::Verified).unwrap();
    assert_eq!(default.argv[0], "retire");
    assert_eq!(default.delay, Duration::from_secs(600));
    assert_eq!(
        hooks.command("escashop", HookPoint::Cutover).unwrap().argv[0],
        "shop-switch"
    );
    assert_eq!(
        hooks.command("admin", HookPoint::Cutover).unwrap().argv[0],
        "switch"
    );
    assert!(hooks.command("admin", HookPoint::Held).is_none());
    // A deployment not configured by name gets the defaults.
    assert_eq!(
        hooks.command("other", HookPoint::Verified).unwrap().argv[0],
        "retire"
    );
    // Every deployment's switches are confirmed by a hook here.
    assert!(config.deployments.values().all(|d| d.confirm_switch));

    let summary = config.summary();
    for line in [
        "verified hook: [\"retire\", \"{deployment}\", \"{from}\", \"{phase}\"] (timeout 1m, 2 retries, 10m after the phase is entered)",
        "deployment escashop hooks: cutover [\"shop-switch\", \"{direction}\"] (timeout 1m, 2 retries) [its own]; verified [\"retire-shop\", \"{from_phase}\"] (timeout 5s, 2 retries) [its own]",
        "deployment admin hooks: cutover [\"switch\", \"{direction}\"] (timeout 1m, 2 retries) [default]; verified",
        "deployment quiet hooks: cutover [\"switch\", \"{direction}\"] (timeout 1m, 2 retries) [default]; rollback [\"back\"] (timeout 1m, 2 retries) [its own]",
    ] {
        assert!(summary.contains(line), "{line}\nnot in\n{summary}");
    }
}

#[test]
fn only_a_deployment_with_a_switch_hook_has_its_switches_confirmed() {
    let config = load_text(
        r#"
        [hooks.verified]
        command = ["retire"]
        [deployments.escashop]
        [deployments.escashop.hooks.cutover]
        command = ["switch"]
        [deployments.admin]
        "#,
    )
    .unwrap();
    assert!(config.deployments["escashop"].confirm_switch);
    assert!(!config.deployments["admin"].confirm_switch);
    assert!(
        !config.defaults.confirm_switch,
        "a phase hook switches nothing"
    );
}

#[test]
fn what_only_a_phase_hook_may_say_and_where_hooks_are_written() {
    let cases = [
        (
            "[hooks.cutover]\ncommand = [\"x\", \"{phase}\"]",
            "hooks.cutover.command",
            "a switch hook has no phase",
        ),
        (
            "[hooks.rollback]\ncommand = [\"x\"]\ndelay = \"1m\"",
            "hooks.rollback.delay",
            "a switch is never delayed",
        ),
        (
            "[hooks.verified]\ncommand = [\"x\"]\ndelay = \"2d\"",
            "hooks.verified.delay",
            "at most 1 day",
        ),
        (
            "[hooks.verified]\ncommand = [\"x\", \"{colour}\"]",
            "hooks.verified.command",
            "unknown placeholder {colour}",
        ),
        (
            "[deployments.escashop.hooks.held]\ncommand = []",
            "deployments.escashop.hooks.held.command",
            "must name a program",
        ),
        (
            "[deployments.escashop.hooks.testing]\ncommand = [\"x\"]",
            "deployments.escashop.hooks.testing",
            "",
        ),
        (
            "[defaults.hooks.verified]\ncommand = [\"x\"]",
            "defaults.hooks",
            "default hooks are written as [hooks.<name>]",
        ),
    ];
    for (text, key, reason) in cases {
        let error = refused(text);
        assert_eq!(error.key.as_deref(), Some(key), "{text}: {error}");
        assert!(error.reason.contains(reason), "{text}: {error}");
    }
}

#[test]
fn every_hook_that_cannot_run_is_named_by_its_key() {
    let config = load_text(
        r#"
        [hooks.cutover]
        command = ["true"]
        [hooks.verified]
        command = ["/nonexistent/retire"]
        [deployments.escashop.hooks.held]
        command = ["/nonexistent/page"]
        "#,
    )
    .unwrap();
    let keys: Vec<String> = config
        .unrunnable_hooks(None)
        .into_iter()
        .filter_map(|error| error.key)
        .collect();
    assert_eq!(
        keys,
        [
            "hooks.verified.command",
            "deployments.escashop.hooks.held.command"
        ]
    );
}
