//! Tests of loading and validation: every refused value names its key and
//! where it came from.

use std::path::Path;

use super::load::{Overrides, load_with_env};
use super::{
    AgentSettings, ChecksSettings, ConfigError, HttpSettings, TlsSettings, TrafficSettings,
};

/// Validated defaults used by tests across the crate.
pub(crate) fn test_settings() -> AgentSettings {
    AgentSettings {
        deployment: "escashop".into(),
        color: "green".into(),
        instance_id: Some("green-1".into()),
        interval: std::time::Duration::from_secs(1),
        checks: ChecksSettings {
            http: Some(HttpSettings {
                url: "http://127.0.0.1:5001/health".into(),
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

mod validation {
    use std::time::Duration;

    use super::*;
    use crate::config::{PostgresSettings, RedisSettings};

    fn rejected(settings: AgentSettings) -> ConfigError {
        settings.validate().expect_err("settings should be refused")
    }

    #[test]
    fn valid_settings_fill_defaults() {
        let config = test_settings().validate().unwrap();
        assert_eq!(config.timeout(), Duration::from_millis(800));
        assert_eq!(config.check_names(), ["http"]);
        assert_eq!(config.color(), greenlight_proto::v1::Color::Green);
    }

    #[test]
    fn zero_interval_is_refused() {
        let error = rejected(AgentSettings {
            interval: Duration::ZERO,
            ..test_settings()
        });
        assert_eq!(error.key.as_deref(), Some("interval"));
    }

    #[test]
    fn timeout_longer_than_interval_is_refused() {
        let error = rejected(AgentSettings {
            timeout: Some(Duration::from_secs(2)),
            ..test_settings()
        });
        assert_eq!(error.key.as_deref(), Some("timeout"));
        assert!(error.reason.contains("longer than interval"), "{error}");
    }

    #[test]
    fn malformed_urls_name_their_key() {
        let mut settings = test_settings();
        settings.checks.postgres = Some(PostgresSettings {
            url: "127.0.0.1:5432/db".into(),
            ..Default::default()
        });
        let error = rejected(settings);
        assert_eq!(error.key.as_deref(), Some("checks.postgres.url"));

        let mut settings = test_settings();
        settings.checks.postgres = Some(PostgresSettings {
            url: "/var/run/db".into(),
            ..Default::default()
        });
        assert_eq!(
            rejected(settings).to_string(),
            "key \"checks.postgres.url\": relative URL without a base"
        );

        let mut settings = test_settings();
        settings.checks.redis = Some(RedisSettings {
            url: "http://127.0.0.1:6379".into(),
            ..Default::default()
        });
        let error = rejected(settings);
        assert_eq!(error.key.as_deref(), Some("checks.redis.url"));
        assert!(error.reason.contains("redis://"), "{error}");

        let error = rejected(AgentSettings {
            aggregator: "ftp://aggregator:7070".into(),
            ..test_settings()
        });
        assert_eq!(error.key.as_deref(), Some("aggregator"));
        assert!(error.reason.contains("https://"), "{error}");
    }

    #[test]
    fn a_token_file_must_hold_one_token() {
        let dir = tempfile::tempdir().unwrap();
        let error = rejected(AgentSettings {
            token_file: Some(dir.path().join("missing")),
            ..test_settings()
        });
        assert_eq!(error.key.as_deref(), Some("token_file"));
        assert!(error.reason.contains("cannot read"), "{error}");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let error = rejected(AgentSettings {
            token_file: Some(empty),
            ..test_settings()
        });
        assert!(error.reason.contains("empty"), "{error}");
        let good = dir.path().join("agent.token");
        std::fs::write(&good, "s3cret-token\n").unwrap();
        let config = AgentSettings {
            token_file: Some(good.clone()),
            ..test_settings()
        }
        .validate()
        .unwrap();
        assert_eq!(config.token_file, Some(good));
    }

    #[test]
    fn https_is_tls_and_tls_keys_need_it() {
        let config = AgentSettings {
            aggregator: "https://aggregator:7070".into(),
            ..test_settings()
        }
        .validate()
        .unwrap();
        assert!(config.aggregator_tls.is_some());
        assert!(
            config.summary().contains("system's roots"),
            "{}",
            config.summary()
        );
        let error = rejected(AgentSettings {
            tls: TlsSettings {
                ca: Some("ca.pem".into()),
                ..Default::default()
            },
            ..test_settings()
        });
        assert_eq!(error.key.as_deref(), Some("tls.ca"));
        assert!(error.reason.contains("https://"), "{error}");
        let error = rejected(AgentSettings {
            aggregator: "https://aggregator:7070".into(),
            tls: TlsSettings {
                cert: Some("agent.pem".into()),
                ..Default::default()
            },
            ..test_settings()
        });
        assert_eq!(error.key.as_deref(), Some("tls.key"));
        let error = rejected(AgentSettings {
            aggregator: "https://aggregator:7070".into(),
            tls: TlsSettings {
                ca: Some("/nonexistent/ca.pem".into()),
                ..Default::default()
            },
            ..test_settings()
        });
        assert_eq!(error.key.as_deref(), Some("tls.ca"));
        assert!(
            error.reason.contains("cannot read /nonexistent/ca.pem"),
            "{error}"
        );
    }

    #[test]
    fn identity_is_required() {
        let error = rejected(AgentSettings {
            deployment: " ".into(),
            ..test_settings()
        });
        assert_eq!(error.key.as_deref(), Some("deployment"));
        let error = rejected(AgentSettings {
            color: "purple".into(),
            ..test_settings()
        });
        assert_eq!(error.key.as_deref(), Some("color"));
    }

    #[test]
    fn a_hello_the_aggregator_refuses_is_refused_here() {
        // Found by fuzzing (agent_config): the agent started with names the
        // aggregator never lets in, and retried for ever.
        type Spoil = fn(&mut AgentSettings);
        let cases: [(Spoil, &str); 5] = [
            (|s| s.deployment = "shop[".into(), "deployment"),
            (|s| s.deployment = "d".repeat(101), "deployment"),
            (
                |s| s.instance_id = Some("green\u{1b}1".into()),
                "instance_id",
            ),
            (|s| s.backend_version = "v".repeat(129), "backend_version"),
            (
                |s| s.interval = std::time::Duration::from_secs(7200),
                "interval",
            ),
        ];
        for (spoil, key) in cases {
            let mut settings = test_settings();
            spoil(&mut settings);
            let error = rejected(settings);
            assert_eq!(error.key.as_deref(), Some(key), "{error}");
            assert!(error.reason.contains("the aggregator refuses"), "{error}");
        }
    }

    #[test]
    fn at_least_one_check() {
        let error = rejected(AgentSettings {
            checks: Default::default(),
            ..test_settings()
        });
        assert_eq!(error.key.as_deref(), Some("checks"));
    }

    #[test]
    fn traffic_thresholds_are_checked() {
        let mut settings = test_settings();
        settings.checks.traffic = Some(TrafficSettings {
            max_error_ratio: 5.0,
            ..TrafficSettings::new("http://127.0.0.1:5001/metrics")
        });
        let error = rejected(settings);
        assert_eq!(error.key.as_deref(), Some("checks.traffic.max_error_ratio"));

        let mut settings = test_settings();
        settings.checks.traffic = Some(TrafficSettings {
            requests_metric: "http-requests".into(),
            ..TrafficSettings::new("http://127.0.0.1:5001/metrics")
        });
        let error = rejected(settings);
        assert_eq!(error.key.as_deref(), Some("checks.traffic.requests_metric"));
    }
}

mod loading {
    use std::io::Write;
    use std::time::Duration;

    use super::*;
    use crate::AgentConfig;

    fn file_with(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    /// A prefix no other test and no real environment uses.
    const NO_ENV: &str = "GREENLIGHT_TEST_UNSET_";

    const GOOD: &str = r#"
        aggregator = "http://127.0.0.1:7070"
        deployment = "escashop"
        color = "green"
        instance_id = "green-1"
        interval = "500ms"
        [checks.http]
        url = "http://127.0.0.1:5001/health"
        [checks.traffic]
        url = "http://127.0.0.1:5001/metrics"
        window = "1m"
    "#;

    #[test]
    fn a_good_file_loads() {
        let file = file_with(GOOD);
        let config = load_with_env(Some(file.path()), NO_ENV, &Overrides::default()).unwrap();
        assert_eq!(config.interval(), Duration::from_millis(500));
        assert_eq!(config.timeout(), Duration::from_millis(400));
        let check = config.check("traffic").unwrap();
        let super::super::CheckTarget::Traffic(traffic) = &check.target else {
            panic!("not a traffic check")
        };
        assert_eq!(traffic.window, Duration::from_secs(60));
        // The aggregator's default, so that both say inconclusive alike.
        assert_eq!(traffic.min_requests, 50);
        assert_eq!(check.schedule.interval, Duration::from_millis(500));
    }

    #[test]
    fn text_loads_as_its_file_does_without_an_origin() {
        let file = file_with(GOOD);
        let from_file = load_with_env(Some(file.path()), NO_ENV, &Overrides::default()).unwrap();
        let from_text = AgentConfig::from_toml(GOOD).unwrap();
        assert_eq!(from_text.summary(), from_file.summary());
        let error = AgentConfig::from_toml(&GOOD.replace("\"500ms\"", "\"soon\"")).unwrap_err();
        assert_eq!(error.key.as_deref(), Some("interval"));
        assert_eq!(error.origin, None);
    }

    #[test]
    fn unknown_key_is_named_with_its_file() {
        let file = file_with(&GOOD.replace("[checks.http]", "[checks.http]\nurll = \"x\""));
        let error = load_with_env(Some(file.path()), NO_ENV, &Overrides::default()).unwrap_err();
        assert_eq!(error.key.as_deref(), Some("checks.http.urll"));
        assert_eq!(error.origin, Some(file.path().display().to_string()));
        assert!(error.reason.contains("unknown key"), "{error}");

        let file = file_with(&format!("colour = \"blue\"\n{GOOD}"));
        let error = load_with_env(Some(file.path()), NO_ENV, &Overrides::default()).unwrap_err();
        assert_eq!(error.key.as_deref(), Some("colour"));
    }

    #[test]
    fn negative_and_zero_intervals_are_refused() {
        for bad in ["\"-1s\"", "\"0s\"", "\"soon\""] {
            let file = file_with(&GOOD.replace("\"500ms\"", bad));
            let error =
                load_with_env(Some(file.path()), NO_ENV, &Overrides::default()).unwrap_err();
            assert_eq!(error.key.as_deref(), Some("interval"), "{bad}: {error}");
            assert!(
                error
                    .to_string()
                    .starts_with(&file.path().display().to_string())
            );
        }
    }

    #[test]
    fn malformed_url_names_key_and_file() {
        let file = file_with(&format!(
            "{GOOD}\n[checks.postgres]\nurl = \"user@127.0.0.1:5432/db\"\n"
        ));
        let error = load_with_env(Some(file.path()), NO_ENV, &Overrides::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{} line 14, column 1: key \"checks.postgres.url\": relative URL without a base",
                file.path().display()
            )
        );
    }

    #[test]
    fn environment_and_flags_override_the_file() {
        let prefix = "GREENLIGHT_TEST_LOAD_";
        // SAFETY: only this test reads variables with this prefix.
        unsafe {
            std::env::set_var(format!("{prefix}CHECKS__HTTP__URL"), "ftp://x/health");
            std::env::set_var(format!("{prefix}DEPLOYMENT"), "other");
            std::env::set_var(format!("{prefix}CONFIG"), "ignored.toml");
            // The aggregator's variables, set where both run: not the agent's.
            std::env::set_var(format!("{prefix}AGGREGATOR_LISTEN"), "0.0.0.0:7070");
            std::env::set_var(format!("{prefix}AGGREGATOR_REDIS__URL"), "redis://r");
        }
        let file = file_with(GOOD);
        let error = load_with_env(Some(file.path()), prefix, &Overrides::default()).unwrap_err();
        assert_eq!(
            error.origin.as_deref(),
            Some("environment variable GREENLIGHT_TEST_LOAD_CHECKS__HTTP__URL")
        );
        unsafe { std::env::remove_var(format!("{prefix}CHECKS__HTTP__URL")) };

        let overrides = Overrides {
            instance_id: Some("green-7".into()),
            color: Some("blue".into()),
            ..Overrides::default()
        };
        let config = load_with_env(Some(file.path()), prefix, &overrides).unwrap();
        assert_eq!(config.deployment(), "other");
        assert_eq!(config.instance_id(), "green-7");

        let overrides = Overrides {
            color: Some("teal".into()),
            ..Overrides::default()
        };
        let error = load_with_env(Some(file.path()), prefix, &overrides).unwrap_err();
        assert_eq!(error.origin.as_deref(), Some("--color"));
    }

    #[test]
    fn the_sample_configuration_is_valid() {
        let file = file_with(crate::config::SAMPLE_CONFIG);
        let config = load_with_env(Some(file.path()), NO_ENV, &Overrides::default()).unwrap();
        assert_eq!(
            config.check_names(),
            [
                "postgres",
                "redis",
                "http",
                "traffic",
                "websocket",
                "process"
            ]
        );
        assert_eq!(config.listen(), Some("127.0.0.1:7072".parse().unwrap()));
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let error = load_with_env(
            Some(Path::new("/nonexistent/agent.toml")),
            NO_ENV,
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("does not exist; give the path of a TOML config file")
        );
    }
}
