//! Issue 12's config errors: each names its source (the file and where in
//! it, or the flag alone) and reads as a sentence: a syntax error at its
//! line and column, a missing file as missing, an unknown key with the keys
//! its table takes, a readiness window too short to judge anything.

use super::*;

#[test]
fn a_syntax_error_names_the_file_line_and_column() {
    let path = file_with("listen = \"127.0.0.1:7070\"\n[defaults]\nready_after = \"30s\n");
    let error = load_with_env(Some(&path), NO_ENV, Overrides::default()).unwrap_err();
    assert_eq!(error.origin, Some(Origin::File(path.clone())));
    assert_eq!(error.key, None);
    assert_eq!(
        error.position,
        Some(Position {
            line: 3,
            column: 19
        })
    );
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!(
            "{} line 3, column 19: not valid TOML: ",
            path.display()
        )),
        "{shown}"
    );
    assert!(!shown.contains("key"), "{shown}");
    assert!(!shown.contains('\n'), "one line: {shown}");

    let error = AggregatorConfig::from_toml("[defaults\n").unwrap_err();
    assert_eq!(error.origin, None);
    assert_eq!(error.position.map(|at| at.line), Some(1));
}

#[test]
fn a_missing_file_says_it_does_not_exist() {
    let path = Path::new("/nonexistent/agg.toml");
    let error = AggregatorConfig::load(Some(path), Overrides::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "/nonexistent/agg.toml: does not exist; give the path of a TOML config file"
    );
    let dir = std::env::temp_dir();
    let error = AggregatorConfig::load(Some(&dir), Overrides::default()).unwrap_err();
    assert!(error.to_string().contains("is a directory"), "{error}");
}

#[test]
fn an_unknown_key_names_its_line_and_the_keys_its_table_takes() {
    let path = file_with("listen = \"127.0.0.1:7070\"\n\n[defaults]\nlisen = \"x\"\n");
    let error = load_with_env(Some(&path), NO_ENV, Overrides::default()).unwrap_err();
    assert_eq!(error.key.as_deref(), Some("defaults.lisen"));
    assert_eq!(error.position, Some(Position { line: 4, column: 1 }));
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!(
            "{} line 4, column 1: key \"defaults.lisen\": unknown key; \
             [defaults] takes \"live\", \"ready_after\", ",
            path.display()
        )),
        "{shown}"
    );
    assert!(!shown.contains('`'), "{shown}");

    let error = refused("colour = \"blue\"\n");
    assert!(
        error
            .to_string()
            .contains("key \"colour\": unknown key; the top level takes \"listen\", "),
        "{error}"
    );
    let error = refused("listen = 5\n");
    assert_eq!(error.reason, "expected a string, found the integer 5");
    assert_eq!(error.position, Some(Position { line: 1, column: 1 }));
}

#[test]
fn a_zero_or_sub_second_readiness_window_is_refused_where_written() {
    for (text, key, line) in [
        (
            "[defaults]\nready_after = \"0s\"\n",
            "defaults.ready_after",
            2,
        ),
        (
            "[deployments.escashop]\nlive = \"blue\"\nready_after = \"0s\"\n",
            "deployments.escashop.ready_after",
            3,
        ),
        (
            "[deployments.escashop]\nready_after = \"500ms\"\n",
            "deployments.escashop.ready_after",
            2,
        ),
    ] {
        let error = refused(text);
        assert_eq!(error.key.as_deref(), Some(key), "{error}");
        assert_eq!(error.position.map(|at| at.line), Some(line), "{error}");
        assert!(error.reason.contains("at least 1s"), "{error}");
        assert!(!error.reason.contains("ns"), "{error}");
    }
    assert!(load_text("[defaults]\nready_after = \"1s\"\n").is_ok());
}

#[test]
fn the_summary_writes_durations_as_the_file_does() {
    let config = load_text(
        "[redis]\nurl = \"redis://127.0.0.1\"\nverdict_ttl = \"90s\"\n\
         [defaults]\nready_after = \"1500ms\"\nbake_for = \"5m\"\n\
         [hooks.cutover]\ncommand = [\"true\"]\ntimeout = \"2m\"\n\
         [limits]\nshutdown_grace = \"5s\"\n",
    )
    .unwrap();
    let summary = config.summary();
    for words in [
        "verdict TTL 1m 30s",
        "ready after 1s 500ms",
        "bake for 5m",
        "timeout 2m,",
        "shutdown grace 5s",
    ] {
        assert!(summary.contains(words), "{words:?} in {summary}");
    }
    assert!(
        !summary.contains("1.5s") && !summary.contains("120s"),
        "{summary}"
    );
}
