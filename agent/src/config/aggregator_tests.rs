//! `aggregator` with several addresses: the comma form (file, environment,
//! flag) and the file's array, and each refusal naming the key, its origin
//! and, in a list, the element.

use std::io::Write;

use super::load::{Overrides, load_with_env};
use super::test_settings;
use super::{AgentConfig, AgentSettings, ConfigError, Position};

const NO_ENV: &str = "GREENLIGHT_TEST_UNSET_";

const REST: &str = "deployment = \"escashop\"\ncolor = \"green\"\ninstance_id = \"green-1\"\n\
                    [checks.http]\nurl = \"http://127.0.0.1:5001/health\"\n";

fn file_with(aggregator_line: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    write!(file, "{aggregator_line}\n{REST}").unwrap();
    file
}

fn load(file: &tempfile::NamedTempFile) -> Result<AgentConfig, ConfigError> {
    load_with_env(Some(file.path()), NO_ENV, &Overrides::default())
}

fn with(aggregator: &str) -> Result<AgentConfig, ConfigError> {
    AgentSettings {
        aggregator: aggregator.into(),
        ..test_settings()
    }
    .validate()
}

fn addresses(config: &AgentConfig) -> Vec<String> {
    config.aggregator_addresses()
}

#[test]
fn one_address_is_one_aggregator() {
    let config = with("http://10.0.0.5:7070").unwrap();
    assert_eq!(addresses(&config), ["http://10.0.0.5:7070"]);
    let summary = config.summary();
    assert!(
        summary.contains("reporting to http://10.0.0.5:7070 every"),
        "{summary}"
    );
    assert!(
        summary.contains("stream to the aggregator: plaintext"),
        "{summary}"
    );
}

#[test]
fn commas_separate_aggregators_in_order() {
    let config = with(" http://10.0.0.5:7070 , http://10.0.0.6:7070/").unwrap();
    assert_eq!(
        addresses(&config),
        ["http://10.0.0.5:7070", "http://10.0.0.6:7070"]
    );
    let summary = config.summary();
    assert!(
        summary.contains("reporting to http://10.0.0.5:7070, http://10.0.0.6:7070 every"),
        "{summary}"
    );
    assert!(
        summary.contains("2 streams, one per aggregator, each with its own buffer: plaintext"),
        "{summary}"
    );
}

#[test]
fn an_empty_element_says_which() {
    for (text, place) in [
        (
            "http://10.0.0.5:7070,,http://10.0.0.6:7070",
            "element 2 of 3",
        ),
        ("http://10.0.0.5:7070,", "element 2 of 2"),
        (",http://10.0.0.5:7070", "element 1 of 2"),
    ] {
        let error = with(text).unwrap_err();
        assert_eq!(error.key.as_deref(), Some("aggregator"));
        assert!(
            error
                .reason
                .starts_with(&format!("{place} is empty in {text:?}")),
            "{error}"
        );
    }
    let error = with("").unwrap_err();
    assert_eq!(error.reason, "required but missing: a http:// URL");
}

#[test]
fn a_repeated_aggregator_is_refused() {
    let error =
        with("http://10.0.0.5:7070,http://10.0.0.6:7070,http://10.0.0.5:7070/").unwrap_err();
    assert_eq!(error.key.as_deref(), Some("aggregator"));
    assert_eq!(
        error.reason,
        "element 3 of 3 (http://10.0.0.5:7070) repeats element 1: list each aggregator once"
    );
    // The default port is the same port.
    let error = with("https://agg:443,https://agg").unwrap_err();
    assert!(error.reason.contains("repeats element 1"), "{error}");
}

#[test]
fn every_aggregator_takes_one_scheme() {
    let error = with("http://10.0.0.5:7070,https://10.0.0.6:7070").unwrap_err();
    assert_eq!(error.key.as_deref(), Some("aggregator"));
    assert_eq!(
        error.reason,
        "element 2 of 2 is https:// but element 1 is http://: every aggregator takes the same \
         scheme (the [tls] settings apply to each)"
    );
    let error = with("http://10.0.0.5:7070,ftp://10.0.0.6:7070").unwrap_err();
    assert!(
        error
            .reason
            .starts_with("element 2 of 2 (\"ftp://10.0.0.6:7070\"): scheme \"ftp\""),
        "{error}"
    );
}

#[test]
fn https_aggregators_share_the_tls_settings() {
    let config = with("https://a.internal:7070,https://b.internal:7070").unwrap();
    assert!(config.aggregator_tls.is_some());
    let summary = config.summary();
    assert!(
        summary.contains("2 streams, one per aggregator, each with its own buffer: TLS"),
        "{summary}"
    );
}

#[test]
fn a_file_takes_the_comma_form_and_an_array() {
    let file = file_with("aggregator = \"http://10.0.0.5:7070,http://10.0.0.6:7070\"");
    let config = load(&file).unwrap();
    assert_eq!(
        addresses(&config),
        ["http://10.0.0.5:7070", "http://10.0.0.6:7070"]
    );
    let file = file_with("aggregator = [\"http://10.0.0.5:7070\", \"http://10.0.0.6:7070\"]");
    let config = load(&file).unwrap();
    assert_eq!(
        addresses(&config),
        ["http://10.0.0.5:7070", "http://10.0.0.6:7070"]
    );
}

#[test]
fn a_bad_list_in_a_file_names_the_file_line_and_key() {
    let file = file_with("aggregator = [\"http://10.0.0.5:7070\", \"http://10.0.0.5:7070\"]");
    let error = load(&file).unwrap_err();
    let name = file.path().display().to_string();
    assert_eq!(error.origin.as_deref(), Some(name.as_str()));
    assert_eq!(error.position, Some(Position { line: 1, column: 1 }));
    assert_eq!(
        error.to_string(),
        format!(
            "{name} line 1, column 1: key \"aggregator\": element 2 of 2 \
             (http://10.0.0.5:7070) repeats element 1: list each aggregator once"
        )
    );
    let file = file_with("aggregator = 7070");
    let error = load(&file).unwrap_err();
    assert_eq!(error.key.as_deref(), Some("aggregator"), "{error}");
}

#[test]
fn the_flag_and_the_environment_take_the_comma_form() {
    let file = file_with("");
    let overrides = Overrides {
        aggregator: Some("http://10.0.0.5:7070,,http://10.0.0.6:7070".into()),
        ..Overrides::default()
    };
    let error = load_with_env(Some(file.path()), NO_ENV, &overrides).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("--aggregator: element 2 of 3 is empty"),
        "{error}"
    );

    let prefix = "GREENLIGHT_TEST_AGGREGATORS_";
    // SAFETY: only this test reads variables with this prefix.
    unsafe {
        std::env::set_var(
            format!("{prefix}AGGREGATOR"),
            "http://10.0.0.5:7070,http://10.0.0.6:7070",
        );
    }
    let config = load_with_env(Some(file.path()), prefix, &Overrides::default()).unwrap();
    assert_eq!(
        addresses(&config),
        ["http://10.0.0.5:7070", "http://10.0.0.6:7070"]
    );
    unsafe {
        std::env::set_var(
            format!("{prefix}AGGREGATOR"),
            "http://10.0.0.5:7070,https://10.0.0.6:7070",
        );
    }
    let error = load_with_env(Some(file.path()), prefix, &Overrides::default()).unwrap_err();
    unsafe { std::env::remove_var(format!("{prefix}AGGREGATOR")) };
    assert!(
        error.to_string().starts_with(&format!(
            "environment variable {prefix}AGGREGATOR: key \"aggregator\": element 2 of 2 is https://"
        )),
        "{error}"
    );
}
