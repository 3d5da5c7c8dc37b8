//! Reading the deploy kit for the static tests: its files, the YAML
//! documents and the configs they embed, the compose services, the
//! Dockerfile's lines, and `--check-config` on a config's text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use greenlight_testbed::{Process, binary};
use yaml_rust2::{Yaml, YamlLoader};

/// Where the shipped hook is installed, as deploy/aggregator.toml runs it.
pub const INSTALLED_HOOK: &str = "/usr/local/bin/switch-traffic";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the testbed crate is inside the workspace")
        .to_path_buf()
}

pub fn deploy() -> PathBuf {
    repo().join("deploy")
}

/// A file of the repository, by its path from the root.
pub fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every document of a YAML file.
pub fn yaml(relative: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative} is not valid YAML: {e}"))
}

/// The YAML files under deploy/, as paths from the repository's root.
pub fn yaml_files() -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![deploy()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yml" | "yaml")
            ) {
                let relative = path.strip_prefix(repo()).unwrap();
                found.push(relative.to_str().unwrap().to_string());
            }
        }
    }
    found.sort();
    found
}

/// A string at `key`, or a panic naming where it was looked for.
pub fn text<'a>(node: &'a Yaml, key: &str, what: &str) -> &'a str {
    node[key]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no string `{key}`"))
}

pub fn list(node: &Yaml) -> &[Yaml] {
    node.as_vec().map_or(&[], Vec::as_slice)
}

/// The Kubernetes objects of one manifest of kind `kind`.
pub fn objects<'a>(docs: &'a [Yaml], kind: &str) -> Vec<&'a Yaml> {
    docs.iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect()
}

/// Every file a ConfigMap holds: (ConfigMap name, key, text).
pub fn configmap_files(docs: &[Yaml]) -> Vec<(String, String, String)> {
    let mut files = Vec::new();
    for map in objects(docs, "ConfigMap") {
        let name = text(&map["metadata"], "name", "a ConfigMap").to_string();
        for (key, value) in map["data"].as_hash().into_iter().flatten() {
            files.push((
                name.clone(),
                key.as_str().unwrap().to_string(),
                value.as_str().unwrap().to_string(),
            ));
        }
    }
    files
}

/// A toml text, parsed, or a panic naming it.
pub fn toml_of(text: &str, what: &str) -> toml::Table {
    text.parse()
        .unwrap_or_else(|e| panic!("{what} is not valid TOML: {e}"))
}

/// The string at a dotted path of a toml table.
pub fn toml_str<'a>(table: &'a toml::Table, dotted: &str, what: &str) -> &'a str {
    let mut value: Option<&toml::Value> = None;
    let mut current = table;
    for part in dotted.split('.') {
        value = current.get(part);
        if let Some(toml::Value::Table(next)) = value {
            current = next;
        }
    }
    value
        .and_then(toml::Value::as_str)
        .unwrap_or_else(|| panic!("{what}: no string `{dotted}`"))
}

/// The port of `host:port` or of a URL's authority.
pub fn port_of(address: &str) -> u16 {
    let rest = address.split("://").last().unwrap();
    let authority = rest.split('/').next().unwrap();
    let port = authority.rsplit(':').next().unwrap();
    port.parse()
        .unwrap_or_else(|_| panic!("no port in `{address}`"))
}

/// The host of a URL's authority, without user or port.
pub fn host_of(url: &str) -> &str {
    let rest = url.split("://").last().unwrap();
    let authority = rest.split('/').next().unwrap();
    let host_port = authority.rsplit('@').next().unwrap();
    host_port.split(':').next().unwrap()
}

/// deploy/aggregator.toml's text with its hook at the repository's
/// deploy/switch-traffic instead of where it is installed, so that
/// `--check-config` finds it here too.
pub fn runnable_here(aggregator_toml: &str) -> String {
    let local = deploy().join("switch-traffic");
    aggregator_toml.replace(INSTALLED_HOOK, local.to_str().unwrap())
}

/// Runs `program --check-config` on `config`'s text (written to a temp file
/// named `name`) with `env` set, asserts it passes, and returns its output.
pub async fn check_config(program: &str, name: &str, config: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, config).unwrap();
    let process = Process::spawn(
        binary(program),
        &["--check-config", file.to_str().unwrap()],
        env,
    )
    .unwrap();
    let status = process
        .wait_exit(Duration::from_secs(30))
        .await
        .expect("--check-config exits");
    let output = process.output_so_far();
    assert!(
        status.success(),
        "{name} with {env:?} fails {program} --check-config: {output}"
    );
    output
}

/// Which binary checks a config, by its file name.
pub fn checker(file_name: &str) -> &'static str {
    if file_name.contains("aggregator") {
        "greenlight-aggregator"
    } else if file_name.contains("agent") {
        "greenlight-agent"
    } else {
        panic!("{file_name}: neither an agent's nor an aggregator's config")
    }
}

/// One compose service, as far as these tests read it.
pub struct Service {
    pub name: String,
    pub node: Yaml,
}

impl Service {
    pub fn image(&self) -> &str {
        self.node["image"].as_str().unwrap_or("")
    }

    /// The command's words.
    pub fn command(&self) -> Vec<String> {
        list(&self.node["command"])
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect()
    }

    pub fn environment(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for (key, value) in self.node["environment"].as_hash().into_iter().flatten() {
            let value = match value {
                Yaml::String(s) => s.clone(),
                Yaml::Integer(i) => i.to_string(),
                other => panic!("service {}: environment value {other:?}", self.name),
            };
            env.insert(key.as_str().unwrap().to_string(), value);
        }
        env
    }

    /// Volumes as (source, target) with the options cut off.
    pub fn volumes(&self) -> Vec<(String, String)> {
        list(&self.node["volumes"])
            .iter()
            .map(|v| {
                let mut parts = v.as_str().unwrap().split(':');
                (
                    parts.next().unwrap().to_string(),
                    parts.next().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    pub fn ports(&self) -> Vec<String> {
        list(&self.node["ports"])
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect()
    }
}

pub const COMPOSE: &str = "deploy/compose/docker-compose.yml";

pub fn compose() -> Vec<Service> {
    let docs = yaml(COMPOSE);
    docs[0]["services"]
        .as_hash()
        .expect("compose has services")
        .iter()
        .map(|(name, node)| Service {
            name: name.as_str().unwrap().to_string(),
            node: node.clone(),
        })
        .collect()
}

pub fn service<'a>(services: &'a [Service], name: &str) -> &'a Service {
    services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("compose has no service {name}"))
}

/// A compose volume's source as a path from the repository's root
/// (compose resolves it from the compose file's directory).
pub fn compose_source(source: &str) -> Option<PathBuf> {
    source
        .starts_with('.')
        .then(|| deploy().join("compose").join(source))
}

/// deploy/Dockerfile's instructions, continuation lines joined, comments out.
pub fn dockerfile() -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read("deploy/Dockerfile").lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}
