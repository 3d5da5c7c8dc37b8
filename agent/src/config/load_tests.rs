//! Issue 12's config errors, the agent's side: each names its source (the
//! file and where in it, or the flag alone) and reads as a sentence.

use std::io::Write;
use std::path::Path;

use super::load::{Overrides, load_with_env};
use super::{AgentConfig, ConfigError, Position};

const NO_ENV: &str = "GREENLIGHT_TEST_UNSET_";

const GOOD: &str = "deployment = \"escashop\"\ncolor = \"green\"\ninstance_id = \"green-1\"\n\
                    [checks.http]\nurl = \"http://127.0.0.1:5001/health\"\n";

fn file_with(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn load(file: &Path, overrides: &Overrides) -> Result<AgentConfig, ConfigError> {
    load_with_env(Some(file), NO_ENV, overrides)
}

#[test]
fn a_syntax_error_names_the_file_line_and_column() {
    let file = file_with("deployment = \"escashop\"\ncolor = \"green\n");
    let error = load(file.path(), &Overrides::default()).unwrap_err();
    let name = file.path().display().to_string();
    assert_eq!(error.origin.as_deref(), Some(name.as_str()));
    assert_eq!(error.key, None);
    assert_eq!(
        error.position,
        Some(Position {
            line: 2,
            column: 15
        })
    );
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!("{name} line 2, column 15: not valid TOML: ")),
        "{shown}"
    );
    assert!(!shown.contains('\n'), "one line: {shown}");
}

#[test]
fn a_missing_file_says_it_does_not_exist() {
    let error = load(Path::new("/nonexistent/agent.toml"), &Overrides::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "/nonexistent/agent.toml: does not exist; give the path of a TOML config file"
    );
}

#[test]
fn an_unknown_key_names_its_line_and_the_keys_its_table_takes() {
    let file = file_with(&GOOD.replace("[checks.http]\n", "[checks.http]\nurll = \"x\"\n"));
    let error = load(file.path(), &Overrides::default()).unwrap_err();
    assert_eq!(error.key.as_deref(), Some("checks.http.urll"));
    assert_eq!(error.position, Some(Position { line: 5, column: 1 }));
    let shown = error.to_string();
    assert!(
        shown.contains(
            " line 5, column 1: key \"checks.http.urll\": unknown key; [checks.http] takes \"url\""
        ),
        "{shown}"
    );
    assert!(!shown.contains('`'), "{shown}");

    let file = file_with(&GOOD.replace("[checks.http]\n", "interval = 5\n[checks.http]\n"));
    let error = load(file.path(), &Overrides::default()).unwrap_err();
    assert_eq!(error.key.as_deref(), Some("interval"), "{error}");
    assert_eq!(error.position, Some(Position { line: 4, column: 1 }));
    assert!(
        error
            .to_string()
            .ends_with("key \"interval\": expected a duration, found the integer 5"),
        "{error}"
    );
}

#[test]
fn a_bad_flag_is_named_alone() {
    let file = file_with(GOOD);
    let overrides = Overrides {
        color: Some("teal".into()),
        ..Overrides::default()
    };
    let error = load(file.path(), &overrides).unwrap_err();
    assert_eq!(error.key.as_deref(), Some("color"));
    assert_eq!(error.position, None);
    assert_eq!(
        error.to_string(),
        "--color: must be \"blue\" or \"green\", not \"teal\""
    );
    let overrides = Overrides {
        aggregator: Some("nonsense".into()),
        ..Overrides::default()
    };
    let error = load(file.path(), &overrides).unwrap_err();
    assert!(error.to_string().starts_with("--aggregator: "), "{error}");
}
