//! The error names the real source of a bad value: the file, the
//! environment variable, or the flag, whether the value failed to parse or
//! failed validation afterwards.

use super::*;

fn flags(listen: Option<&str>, redis_url: Option<&str>) -> Overrides {
    Overrides {
        listen: listen.map(str::to_string),
        redis: redis_url.map(|url| RedisOverride {
            url: url.to_string(),
        }),
    }
}

#[test]
fn a_bad_value_in_the_file_names_the_file() {
    let path = file_with("[limits]\nmax_watch_streams = 0\n");
    let error = load_with_env(Some(&path), NO_ENV, Overrides::default()).unwrap_err();
    assert_eq!(error.origin, Some(Origin::File(path.clone())));
    assert_eq!(
        error.to_string(),
        format!(
            "{} line 2, column 1: key \"limits.max_watch_streams\": must be at least 1 (the default is 1000)",
            path.display()
        )
    );
}

#[test]
fn a_bad_value_in_the_environment_names_the_variable() {
    let prefix = "GREENLIGHT_TEST_AGGREGATOR_ORIGINS_";
    let file = file_with("[deployments.escashop]\nlive = \"blue\"\n");
    let load = || load_with_env(Some(&file), prefix, Overrides::default());
    let cases = [
        // Refused when read (not a duration) ...
        ("DEFAULTS__READY_AFTER", "soon", "defaults.ready_after"),
        // ... or when validated, over a good value in the file.
        (
            "DEPLOYMENTS__ESCASHOP__LIVE",
            "purple",
            "deployments.escashop.live",
        ),
        ("REDIS__URL", "http://x", "redis.url"),
        ("LIMITS__SHUTDOWN_GRACE", "0s", "limits.shutdown_grace"),
    ];
    for (name, value, key) in cases {
        let variable = format!("{prefix}{name}");
        // SAFETY: only this test reads variables with this prefix.
        unsafe { std::env::set_var(&variable, value) };
        let error = load().unwrap_err();
        unsafe { std::env::remove_var(&variable) };
        assert_eq!(error.origin, Some(Origin::Env(variable.clone())), "{error}");
        assert_eq!(error.key.as_deref(), Some(key), "{error}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("environment variable {variable}: ")),
            "{error}"
        );
    }
    // The variable that names the file is not a key of it.
    unsafe { std::env::set_var(format!("{prefix}CONFIG"), "elsewhere.toml") };
    let loaded = load();
    unsafe { std::env::remove_var(format!("{prefix}CONFIG")) };
    assert!(loaded.is_ok(), "{loaded:?}");
}

#[test]
fn a_bad_flag_names_the_flag() {
    let file = file_with("listen = \"127.0.0.1:7070\"\n[redis]\nurl = \"redis://127.0.0.1\"\n");
    let error = load_with_env(Some(&file), NO_ENV, flags(Some("nowhere"), None)).unwrap_err();
    assert_eq!(error.origin, Some(Origin::Flag("--listen".into())));
    assert_eq!(error.key.as_deref(), Some("listen"));
    assert!(error.reason.contains("not an address"), "{error}");
    // The flag alone is the source: not the file's key `listen`.
    assert!(
        error
            .to_string()
            .starts_with("--listen: \"nowhere\" is not an address like 127.0.0.1:7070 ("),
        "{error}"
    );
    assert_eq!(error.position, None);

    let error =
        load_with_env(Some(&file), NO_ENV, flags(None, Some("redis://:pw@host:x"))).unwrap_err();
    assert_eq!(error.origin, Some(Origin::Flag("--redis-url".into())));
    assert_eq!(error.key.as_deref(), Some("redis.url"));
    assert!(!error.to_string().contains("pw@"), "{error}");
    assert!(error.to_string().starts_with("--redis-url: "), "{error}");

    // Good flags win over the file.
    let config = load_with_env(
        Some(&file),
        NO_ENV,
        flags(Some("127.0.0.1:9001"), Some("redis://127.0.0.1:6390")),
    )
    .unwrap();
    assert_eq!(config.listen.port(), 9001);
    assert_eq!(config.redis.unwrap().url, "redis://127.0.0.1:6390");
}

#[test]
fn without_a_file_a_flag_alone_is_enough() {
    let config = load_with_env(None, NO_ENV, flags(None, Some("redis://127.0.0.1"))).unwrap();
    assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
    let error = load_with_env(None, NO_ENV, flags(Some("::"), None)).unwrap_err();
    assert_eq!(error.origin, Some(Origin::Flag("--listen".into())));
}
