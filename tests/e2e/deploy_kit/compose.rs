//! deploy/compose/docker-compose.yml against the tomls it mounts and
//! deploy/haproxy/haproxy.cfg: all services share one network namespace, so
//! every port is distinct and each address the configs name is the one the
//! service behind it listens on.

use std::collections::BTreeMap;

use super::kit::{
    COMPOSE, compose, compose_source, port_of, read, service, toml_of, toml_str, yaml_files,
};

#[test]
fn every_yaml_file_parses() {
    let files = yaml_files();
    assert!(files.len() >= 4, "found only {files:?}");
    for file in files {
        let docs = super::kit::yaml(&file);
        assert!(!docs.is_empty(), "{file} holds no document");
    }
    let dashboard = read("deploy/grafana/greenlight.json");
    serde_json::from_str::<serde_json::Value>(&dashboard).expect("the Grafana dashboard is JSON");
}

/// HAProxy's `bind` port and its servers' ports by name.
fn haproxy() -> (u16, BTreeMap<String, u16>) {
    let cfg = read("deploy/haproxy/haproxy.cfg");
    let mut bind = None;
    let mut servers = BTreeMap::new();
    for line in cfg.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["bind", address, ..] => bind = Some(port_of(address)),
            ["server", name, address, ..] => {
                servers.insert(name.to_string(), port_of(address));
            }
            _ => {}
        }
    }
    (bind.expect("haproxy.cfg binds"), servers)
}

#[test]
fn ports_agree_across_compose_the_tomls_and_haproxy() {
    let services = compose();
    for s in &services {
        if s.name != "net" {
            assert_eq!(
                s.node["network_mode"].as_str(),
                Some("service:net"),
                "{COMPOSE}: {} should share net's namespace, as the header says",
                s.name
            );
            assert!(s.ports().is_empty(), "{COMPOSE}: only net publishes ports");
        }
    }
    let aggregator = toml_of(&read("deploy/aggregator.toml"), "deploy/aggregator.toml");
    let grpc = port_of(toml_str(&aggregator, "listen", "aggregator.toml"));
    let http = port_of(toml_str(&aggregator, "http.listen", "aggregator.toml"));
    let agg_env = service(&services, "aggregator").environment();
    assert_eq!(port_of(&agg_env["GREENLIGHT_AGGREGATOR_LISTEN"]), grpc);
    assert_eq!(
        port_of(&agg_env["GREENLIGHT_AGGREGATOR_HTTP__LISTEN"]),
        http
    );
    let redis = toml_str(&aggregator, "redis.url", "aggregator.toml").to_string();

    let (bind, servers) = haproxy();
    // Who listens on which port inside the shared namespace.
    let mut listening: Vec<(u16, String)> = vec![
        (grpc, "aggregator gRPC".into()),
        (http, "aggregator HTTP".into()),
        (bind, "HAProxy".into()),
        (port_of(&redis), "Redis".into()),
        (5432, "PostgreSQL".into()),
    ];
    for (color, guide_port) in [("blue", 5000), ("green", 5001)] {
        let file = format!("deploy/agent-{color}.toml");
        let agent = toml_of(&read(&file), &file);
        let backend = service(&services, &format!("{color}-backend")).environment();
        let port: u16 = backend["PORT"].parse().unwrap();
        assert_eq!(port, guide_port, "{COMPOSE}: the guide's {color} port");
        assert_eq!(backend["ENVIRONMENT"], color);
        for key in ["checks.http.url", "checks.traffic.url"] {
            assert_eq!(
                port_of(toml_str(&agent, key, &file)),
                port,
                "{file} {key} vs {color}-backend's PORT"
            );
        }
        assert_eq!(servers[color], port, "haproxy.cfg server {color} vs {file}");
        assert_eq!(port_of(toml_str(&agent, "aggregator", &file)), grpc);
        assert_eq!(toml_str(&agent, "checks.redis.url", &file), redis);
        assert_eq!(toml_str(&agent, "color", &file), color);
        listening.push((port, format!("{color} backend")));
        listening.push((
            port_of(toml_str(&agent, "listen", &file)),
            format!("{color} agent"),
        ));
        // Each color's agent mounts its own color's toml.
        let mounted = service(&services, &format!("{color}-agent")).volumes();
        assert!(
            mounted.iter().any(|(source, _)| compose_source(source)
                == compose_source(&format!("../agent-{color}.toml"))),
            "{COMPOSE}: {color}-agent should mount agent-{color}.toml: {mounted:?}"
        );
    }
    let mut seen = BTreeMap::new();
    for (port, who) in &listening {
        if let Some(other) = seen.insert(*port, who) {
            panic!("{COMPOSE}: {who} and {other} both listen on {port} in one namespace");
        }
    }
    // What net publishes reaches the right service.
    let published: Vec<u16> = service(&services, "net")
        .ports()
        .iter()
        .map(|p| p.rsplit(':').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(published, [bind, grpc, http], "{COMPOSE}: net's ports");
}

#[test]
fn haproxy_in_compose_can_hand_its_socket_to_the_aggregator() {
    let services = compose();
    let haproxy = service(&services, "haproxy");
    let aggregator = service(&services, "aggregator");
    let cfg = read("deploy/haproxy/haproxy.cfg");
    let socket_dir = "/run/haproxy";
    assert!(cfg.contains(&format!("stats socket {socket_dir}/admin.sock")));
    let state_dir = "/var/lib/greenlight";
    assert!(cfg.contains(&format!("server-state-file {state_dir}/")));
    for dir in [socket_dir, state_dir] {
        let volume_of = |s: &super::kit::Service| {
            s.volumes()
                .into_iter()
                .find(|(_, target)| target == dir)
                .map(|(source, _)| source)
        };
        assert!(
            volume_of(haproxy).is_some() && volume_of(haproxy) == volume_of(aggregator),
            "{COMPOSE}: haproxy and aggregator should share a volume at {dir}"
        );
    }
    // The socket's group is the image's greenlight user (deploy/Dockerfile).
    let group = haproxy.node["user"].as_str().unwrap().split(':').nth(1);
    assert_eq!(group, Some(super::docker::IMAGE_UID));
}
