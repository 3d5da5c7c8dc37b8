//! The command line. Every flag says what it is for; `--help` is the manual.

use std::time::Duration;

use clap::Parser;

use crate::simulated::Fault;

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

    /// Instead of the fleet: N fault-to-rollback trials, one after the
    /// other, each on a deployment of its own (rollback-<run>-<i>) with
    /// one blue and one green agent reporting at --rate: Ready, a
    /// Cutover call, Baking, then the green agent turns faulty and the
    /// ROLLBACK verdict is timed on the Redis channel. Needs --redis.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub rollback_trials: Option<u32>,

    /// The fault a trial's candidate turns to.
    #[arg(long, value_enum, default_value = "error-ratio")]
    pub fault: Fault,

    /// The aggregator's `hysteresis.consecutive` (error-ratio fault) or
    /// `database_lost_samples` (database fault): the samples a trial's
    /// rule needs, for the expectation printed beside the measurement.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub consecutive_samples: u32,

    /// A file the aggregator's rollback hook appends `<deployment>
    /// <unix-nanoseconds>` to when it starts; with it, each trial's fault
    /// is also timed to the hook's start (same machine, same wall clock).
    #[arg(long, value_name = "PATH")]
    pub hook_log: Option<std::path::PathBuf>,

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
