//! `[limits]`: defaults, values, and zero refused.

use super::*;

#[test]
fn limits_default_and_load() {
    assert_eq!(load_text("").unwrap().limits, Limits::default());
    let config = load_text(
        "[limits]\nmax_agent_streams = 5\nmax_watch_streams = 7\nshutdown_grace = \"30s\"\n\
         max_message_bytes = 4096\nmax_reports_per_second = 3\nreport_burst = 9\n",
    )
    .unwrap();
    assert_eq!(
        config.limits,
        Limits {
            max_agent_streams: 5,
            max_watch_streams: 7,
            shutdown_grace: Duration::from_secs(30),
            max_message_bytes: 4096,
            max_reports_per_second: 3,
            report_burst: 9,
        }
    );
    let defaults = Limits::default();
    assert_eq!(defaults.max_agent_streams, 1000);
    assert_eq!(defaults.max_watch_streams, 1000);
    assert_eq!(defaults.shutdown_grace, Duration::from_secs(5));
    assert_eq!(defaults.max_message_bytes, 1 << 20);
    assert_eq!(defaults.max_reports_per_second, 20);
    assert_eq!(defaults.report_burst, 1000);
}

#[test]
fn limits_must_be_above_zero() {
    for (text, key, reason) in [
        (
            "[limits]\nmax_agent_streams = 0",
            "limits.max_agent_streams",
            "at least 1",
        ),
        (
            "[limits]\nmax_watch_streams = 0",
            "limits.max_watch_streams",
            "at least 1",
        ),
        (
            "[limits]\nshutdown_grace = \"0s\"",
            "limits.shutdown_grace",
            "more than 0s",
        ),
        (
            "[limits]\nmax_reports_per_second = 0",
            "limits.max_reports_per_second",
            "at least 1",
        ),
        (
            "[limits]\nreport_burst = 0",
            "limits.report_burst",
            "at least 1",
        ),
        (
            "[limits]\nmax_agent_streams = -1",
            "limits.max_agent_streams",
            "",
        ),
        (
            "[limits]\nmax_streams = 10",
            "limits.max_streams",
            "unknown key",
        ),
    ] {
        let error = refused(text);
        assert_eq!(error.key.as_deref(), Some(key), "{text}: {error}");
        assert!(error.reason.contains(reason), "{text}: {error}");
    }
}
