//! The config as a user writes it: files on disk, the environment, flags.

mod auth;
mod file_errors;
mod gates;
mod hooks;
mod limits;
mod origins;
mod rules;
mod tls;
mod traffic_source;

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::load::load_with_env;
use super::*;

/// A prefix no other test and no real environment uses.
const NO_ENV: &str = "GREENLIGHT_TEST_UNSET_";

/// A fresh file holding `text`, unique per test thread.
fn file_with(text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "greenlight-config-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("aggregator.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn load_text(text: &str) -> Result<AggregatorConfig, ConfigError> {
    load_with_env(Some(&file_with(text)), NO_ENV, Overrides::default())
}

/// The error of `text`, which must name this test's file.
fn refused(text: &str) -> ConfigError {
    let error = load_text(text).unwrap_err();
    match &error.origin {
        Some(Origin::File(path)) => assert!(path.ends_with("aggregator.toml"), "{error}"),
        other => panic!("{text}: from {other:?}, not the file: {error}"),
    }
    error
}

#[test]
fn a_full_config_loads() {
    let config = load_text(
        r#"
        listen = "127.0.0.1:9000"
        [redis]
        url = "redis://127.0.0.1:6380"
        [defaults]
        ready_after = "45s"
        [deployments.escashop]
        live = "green"
        "#,
    )
    .unwrap();
    assert_eq!(config.listen.port(), 9000);
    let escashop = &config.deployments["escashop"];
    assert_eq!(escashop.live, greenlight_proto::v1::Color::Green);
    assert_eq!(escashop.ready_after, Duration::from_secs(45));
    let redis = config.redis.as_ref().unwrap();
    assert_eq!(redis.url, "redis://127.0.0.1:6380");
    let crate::config::RedisEndpoint::Single(client) = redis.endpoint() else {
        panic!("redis:// is one server: {:?}", redis.endpoint());
    };
    assert_eq!(
        client.get_connection_info().addr().to_string(),
        "127.0.0.1:6380"
    );
}

#[test]
fn errors_name_the_file_the_key_and_the_reason() {
    let cases = [
        ("[defaults]\nready_after = \"soon\"", "defaults.ready_after"),
        (
            "[deployments.escashop]\nlive = \"purple\"",
            "deployments.escashop.live",
        ),
        (
            "[deployments.escashop]\ncolour = \"blue\"",
            "deployments.escashop.colour",
        ),
        ("listen = \"nowhere\"", "listen"),
        ("[redis]\nurl = \"http://x\"", "redis.url"),
        ("[redis]\nurl = \"redis://127.0.0.1:notaport\"", "redis.url"),
        (
            "[hooks.cutover]\ncommand = [\"x\", \"{colour}\"]",
            "hooks.cutover.command",
        ),
        ("[hooks.rollback]\ncommand = []", "hooks.rollback.command"),
        (
            "[hooks.rollback]\ncommand = [\"x\"]\nbackoff = \"0s\"",
            "hooks.rollback.backoff",
        ),
    ];
    for (text, key) in cases {
        let error = refused(text);
        assert_eq!(error.key.as_deref(), Some(key), "{text}: {error}");
        assert!(!error.reason.is_empty());
    }
}

#[test]
fn text_loads_as_its_file_does_without_an_origin() {
    let text = "listen = \"127.0.0.1:9000\"\n[deployments.escashop]\nlive = \"green\"";
    let from_file = load_text(text).unwrap();
    let from_text = AggregatorConfig::from_toml(text).unwrap();
    assert_eq!(from_text.summary(), from_file.summary());
    let error = AggregatorConfig::from_toml("[defaults]\nready_after = \"soon\"").unwrap_err();
    assert_eq!(error.key.as_deref(), Some("defaults.ready_after"));
    assert_eq!(error.origin, None);
}

#[test]
fn a_missing_file_is_an_error() {
    let path = Path::new("/nonexistent/agg.toml");
    let error = AggregatorConfig::load(Some(path), Overrides::default()).unwrap_err();
    assert_eq!(error.origin, Some(Origin::File(path.to_path_buf())));
    assert!(error.reason.contains("does not exist"), "{error}");
}

#[test]
fn the_deploy_example_is_valid() {
    let text = include_str!("../../../../deploy/aggregator.toml");
    let config = load_text(text).unwrap();
    assert!(config.deployments.contains_key("escashop"));
    assert!(config.defaults.confirm_switch, "the example has hooks");
}
