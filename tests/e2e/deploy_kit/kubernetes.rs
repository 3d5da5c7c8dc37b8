//! deploy/kubernetes: names and ports agree between the manifests and the
//! configs their ConfigMaps hold — agents reach the aggregator's Service,
//! probes and Services name ports the containers have, the agent's `listen`
//! is its containerPort, its checks reach the backend's containerPort, each
//! Deployment mounts its own ConfigMap and its Service selects its pods.

use yaml_rust2::Yaml;

use super::kit::{configmap_files, host_of, list, objects, port_of, text, toml_of, toml_str, yaml};

const AGGREGATOR: &str = "deploy/kubernetes/aggregator.yaml";

/// (container port name, number) of a Deployment's containers.
fn container_ports(deployment: &Yaml) -> Vec<(String, i64, String)> {
    let mut ports = Vec::new();
    for container in list(&deployment["spec"]["template"]["spec"]["containers"]) {
        let name = text(container, "name", "a container").to_string();
        for port in list(&container["ports"]) {
            ports.push((
                port["name"].as_str().unwrap_or("").to_string(),
                port["containerPort"].as_i64().expect("containerPort"),
                name.clone(),
            ));
        }
    }
    ports
}

fn container<'a>(deployment: &'a Yaml, name: &str) -> &'a Yaml {
    list(&deployment["spec"]["template"]["spec"]["containers"])
        .iter()
        .find(|c| c["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no container {name}"))
}

/// Probes name ports of their own container; Services name ports of the
/// pods they select, whose labels they match; ConfigMaps mounted are here.
fn consistent(file: &str, docs: &[Yaml]) {
    let maps: Vec<String> = configmap_files(docs)
        .into_iter()
        .map(|(m, _, _)| m)
        .collect();
    let deployments = objects(docs, "Deployment");
    assert_eq!(deployments.len(), 1, "{file}: one Deployment");
    let deployment = deployments[0];
    let ports = container_ports(deployment);
    let template = &deployment["spec"]["template"];
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"], template["metadata"]["labels"],
        "{file}: the selector matches the pod labels"
    );
    for c in list(&template["spec"]["containers"]) {
        let cname = text(c, "name", file);
        for probe in ["readinessProbe", "livenessProbe"] {
            let port = &c[probe]["httpGet"]["port"];
            let Some(port) = port.as_str() else { continue };
            assert!(
                ports
                    .iter()
                    .any(|(n, _, owner)| n == port && owner == cname),
                "{file}: {cname}'s {probe} names port {port}, which {cname} does not have"
            );
        }
    }
    for volume in list(&template["spec"]["volumes"]) {
        let map = text(&volume["configMap"], "name", file);
        assert!(
            maps.iter().any(|m| m == map),
            "{file} mounts ConfigMap {map}: not in the file"
        );
    }
    for svc in objects(docs, "Service") {
        let selector = svc["spec"]["selector"].as_hash().unwrap();
        for (k, v) in selector {
            assert_eq!(
                &template["metadata"]["labels"][k.as_str().unwrap()],
                v,
                "{file}: Service selector"
            );
        }
        for port in list(&svc["spec"]["ports"]) {
            let target = text(port, "targetPort", file);
            assert!(
                ports.iter().any(|(n, _, _)| n == target),
                "{file}: Service targetPort {target}"
            );
        }
    }
}

#[test]
fn the_aggregator_manifest_agrees_with_its_config() {
    let docs = yaml(AGGREGATOR);
    consistent(AGGREGATOR, &docs);
    let (_, key, config) = configmap_files(&docs).remove(0);
    assert_eq!(key, "aggregator.toml");
    let config = toml_of(&config, AGGREGATOR);
    let deployment = objects(&docs, "Deployment")[0];
    let ports = container_ports(deployment);
    let port = |name: &str| ports.iter().find(|(n, _, _)| n == name).unwrap().1;
    assert_eq!(
        i64::from(port_of(toml_str(&config, "listen", AGGREGATOR))),
        port("grpc")
    );
    assert_eq!(
        i64::from(port_of(toml_str(&config, "http.listen", AGGREGATOR))),
        port("http")
    );
    let args = list(&container(deployment, "aggregator")["args"]);
    assert_eq!(args[2].as_str(), Some("/etc/greenlight/aggregator.toml"));
}

#[test]
fn each_color_manifest_agrees_with_its_agent_config_and_the_aggregator() {
    let aggregator = yaml(AGGREGATOR);
    let service = objects(&aggregator, "Service")[0];
    let service_name = text(&service["metadata"], "name", AGGREGATOR);
    let grpc_port = list(&service["spec"]["ports"])
        .iter()
        .find(|p| p["name"].as_str() == Some("grpc"))
        .and_then(|p| p["port"].as_i64())
        .expect("the aggregator Service's grpc port");
    let aggregator_config = toml_of(&configmap_files(&aggregator)[0].2, AGGREGATOR);
    let redis = toml_str(&aggregator_config, "redis.url", AGGREGATOR);

    for (color, guide_port) in [("blue", 5000), ("green", 5001)] {
        let file = format!("deploy/kubernetes/escashop-{color}.yaml");
        let docs = yaml(&file);
        consistent(&file, &docs);
        let (map, key, text_) = configmap_files(&docs).remove(0);
        assert_eq!(
            (map.as_str(), key.as_str()),
            (format!("escashop-{color}-agent").as_str(), "agent.toml")
        );
        let agent = toml_of(&text_, &file);
        assert_eq!(toml_str(&agent, "color", &file), color);
        let url = toml_str(&agent, "aggregator", &file);
        assert_eq!(host_of(url), service_name, "{file}: the agent's aggregator");
        assert_eq!(
            i64::from(port_of(url)),
            grpc_port,
            "{file}: the agent's aggregator port"
        );
        assert_eq!(
            toml_str(&agent, "checks.redis.url", &file),
            redis,
            "{file}: one Redis"
        );

        let deployment = objects(&docs, "Deployment")[0];
        assert_eq!(
            deployment["metadata"]["labels"]["color"].as_str(),
            Some(color)
        );
        let ports = container_ports(deployment);
        let agent_port = ports.iter().find(|(n, _, _)| n == "agent").unwrap().1;
        assert_eq!(
            i64::from(port_of(toml_str(&agent, "listen", &file))),
            agent_port
        );
        let backend_port = ports.iter().find(|(_, _, c)| c == "backend").unwrap().1;
        assert_eq!(backend_port, guide_port, "{file}: the guide's {color} port");
        for check in [
            "checks.http.url",
            "checks.traffic.url",
            "checks.websocket.url",
        ] {
            assert_eq!(
                i64::from(port_of(toml_str(&agent, check, &file))),
                backend_port,
                "{file} {check}"
            );
        }
        let backend = container(deployment, "backend");
        let env_port = list(&backend["env"])
            .iter()
            .find(|e| e["name"].as_str() == Some("PORT"))
            .and_then(|e| e["value"].as_str());
        assert_eq!(
            env_port,
            Some(backend_port.to_string().as_str()),
            "{file}: PORT"
        );
        let agent_container = container(deployment, "greenlight-agent");
        assert_eq!(
            agent_container["readinessProbe"]["httpGet"]["path"].as_str(),
            Some("/health")
        );
        assert!(
            agent_container["livenessProbe"]["httpGet"]["path"]
                .as_str()
                .is_some()
        );
    }
}
