//! `agent_config`: the agent's TOML, as `greenlight-agent --config` reads
//! it (without the environment and flags). A refused config must explain
//! itself; an accepted one must be described (`--check-config`), and the
//! Hello it makes the agent send must be one the aggregator lets in: an
//! agent that starts must not be refused at every connection.
//!
//! The input: the TOML text (anything not UTF-8 is no config).

use std::collections::BTreeMap;

use greenlight_agent::AgentConfig;
use greenlight_aggregator::engine::DeploymentSettings;

use crate::aggregator::{Watched, start};

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match AgentConfig::from_toml(text) {
        Ok(config) => config,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    let _ = config.summary();
    let hello = greenlight_agent::fuzzing::hello(&config);
    let mut watched = Watched::new(DeploymentSettings::default(), BTreeMap::new(), start());
    if let Err(error) = watched.engine.hello(&hello, 1, start()) {
        panic!("the aggregator refuses the Hello of an agent it let start: {error}\n{hello:#?}");
    }
}
