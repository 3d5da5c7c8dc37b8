//! `[deployments.<name>.traffic_source]`: validated into
//! `AggregatorConfig::traffic_sources`, errors named by their full key.

use std::path::PathBuf;

use super::*;
use crate::traffic_source::{DEFAULT_POLL, TrafficSourceKind};

#[test]
fn haproxy_and_nginx_sources_load() {
    let config = load_text(
        r#"
        [deployments.escashop.traffic_source]
        kind = "haproxy"
        socket = "127.0.0.1:9999"
        backend = "escashop"
        green_server = "escashop-green"
        poll = "500ms"
        [deployments.shop.traffic_source]
        kind = "nginx"
        site = "/etc/nginx/sites-enabled/shop"
        blue_config = "/etc/nginx/sites-available/shop-blue"
        green_config = "/etc/nginx/sites-available/shop-green"
        [deployments.plain]
        "#,
    )
    .unwrap();
    let escashop = &config.traffic_sources["escashop"];
    assert_eq!(
        escashop.kind,
        TrafficSourceKind::Haproxy {
            socket: "127.0.0.1:9999".into(),
            backend: "escashop".into(),
            blue_server: "blue".into(),
            green_server: "escashop-green".into(),
        }
    );
    assert_eq!(escashop.poll, Duration::from_millis(500));
    let shop = &config.traffic_sources["shop"];
    assert_eq!(
        shop.kind,
        TrafficSourceKind::Nginx {
            site: PathBuf::from("/etc/nginx/sites-enabled/shop"),
            blue_config: PathBuf::from("/etc/nginx/sites-available/shop-blue"),
            green_config: PathBuf::from("/etc/nginx/sites-available/shop-green"),
        }
    );
    assert_eq!(shop.poll, DEFAULT_POLL);
    assert!(!config.traffic_sources.contains_key("plain"));
    assert!(config.deployments.contains_key("plain"));
}

#[test]
fn traffic_source_errors_name_the_full_key() {
    let haproxy = "[deployments.escashop.traffic_source]\nkind = \"haproxy\"\n";
    for (text, key, reason) in [
        (
            format!("{haproxy}backend = \"escashop\"\n"),
            "deployments.escashop.traffic_source.socket",
            "missing",
        ),
        (
            format!("{haproxy}socket = \" \"\nbackend = \"escashop\"\n"),
            "deployments.escashop.traffic_source.socket",
            "must not be empty",
        ),
        (
            format!("{haproxy}socket = \"s\"\nbackend = \"b\"\ngreen_server = \"blue\"\n"),
            "deployments.escashop.traffic_source.green_server",
            "the same as blue_server",
        ),
        (
            format!("{haproxy}socket = \"s\"\nbackend = \"b\"\npoll = \"10ms\"\n"),
            "deployments.escashop.traffic_source.poll",
            "at least 100ms",
        ),
        (
            format!("{haproxy}socket = \"s\"\nbackend = \"b\"\nsite = \"x\"\n"),
            "deployments.escashop.traffic_source.site",
            "unknown key",
        ),
        (
            "[deployments.escashop.traffic_source]\nkind = \"traefik\"\n".to_string(),
            "deployments.escashop.traffic_source.kind",
            "\"traefik\" is not one of \"haproxy\", \"nginx\"",
        ),
        (
            "[defaults.traffic_source]\nkind = \"haproxy\"\nsocket = \"s\"\nbackend = \"b\"\n"
                .to_string(),
            "defaults.traffic_source",
            "belongs to one deployment",
        ),
    ] {
        let error = refused(&text);
        assert_eq!(error.key.as_deref(), Some(key), "{text}: {error}");
        assert!(error.reason.contains(reason), "{text}: {error}");
    }
}
