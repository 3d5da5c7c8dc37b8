//! The command line. Every flag says what it is for; `--help` is the manual.

use std::time::Duration;

use clap::Parser;

/// Simulated agents over real gRPC streams against a running aggregator,
/// measured beside issue 14's targets (reports/s, RSS per agent,
/// GetVerdict p99 against Redis GET p99, arrival-to-publication p99).
#[derive(Debug, Parser)]
#[command(name = "greenlight-bench", version)]
pub struct Args {
    /// The aggregator's gRPC address, e.g. http://127.0.0.1:7070.
    #[arg(long, value_name = "URL")]
    pub aggregator: String,

    /// Simulated agents, each on its own connection with its own Hello
    /// (unique instance id and run id).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub agents: u32,

    /// Reports per second each agent sends, spread evenly across the fleet.
    #[arg(long, value_name = "R", default_value_t = 1.0, value_parser = positive_rate)]
    pub rate: f64,

    /// How long the agents report once all are connected, e.g. 30s.
    #[arg(long, value_name = "D", default_value = "30s", value_parser = humantime::parse_duration)]
    pub duration: Duration,

    /// Deployments the agents are spread across (load-0 .. load-K-1),
    /// half of each deployment's agents blue, half green.
    #[arg(long, value_name = "K", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub deployments: u32,

    /// The Redis the aggregator publishes to: arrival-to-publication is
    /// timed on its verdict channels, and `redis-benchmark -t get` runs
    /// against it as the reference for GetVerdict's p99.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,

    /// The aggregator's process id, for its CPU and resident memory
    /// (read from /proc; the aggregator must run on this machine).
    #[arg(long, value_name = "PID")]
    pub aggregator_pid: Option<u32>,

    /// Agents connecting at once while the fleet ramps up.
    #[arg(long, value_name = "C", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connect_concurrency: u32,

    /// Print the figures as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate <= 1000.0 => Ok(rate),
        Ok(_) => Err("the rate must be above 0 and at most 1000 reports per second".into()),
        Err(error) => Err(format!("not a number: {error}")),
    }
}

impl Args {
    /// Deployment name of agent `index`.
    pub fn deployment_of(&self, index: u32) -> String {
        format!("load-{}", index % self.deployments)
    }

    /// Every deployment name the fleet reports under.
    pub fn deployment_names(&self) -> Vec<String> {
        (0..self.deployments.min(self.agents))
            .map(|k| format!("load-{k}"))
            .collect()
    }
}
