//! `greenlight-demo`: the blue/green story in one command, on a machine with
//! nothing but Rust. Simulated blue and green backends, their agents and the
//! aggregator run in this process on loopback ports; the story is printed as
//! a timeline of what happened and what greenlight decided, and why.
//!
//! # Layout
//! - `cast`: starting the aggregator, backends and agents.
//! - `timeline`: printing events with the time since the start.
//! - `story`: the scripted steps.
//! - `switch`: the hook that moves the demo's traffic.
//! - `claim`: making sure the keys it writes in a shared Redis are its own.

mod cast;
mod claim;
mod story;
mod switch;
mod timeline;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// Run greenlight's blue/green story: blue is live, green v3.1.0 deploys and
/// becomes READY, traffic is cut over, a fault is injected into green and
/// the verdict turns and says why. Needs nothing but this binary (about
/// 30 seconds); with --redis-url the verdicts are also published to Redis,
/// under the demo's own deployment name (greenlight:{escashop-demo}:verdict,
/// :verdicts, :history), never under a real deployment's.
#[derive(Debug, Parser)]
#[command(name = "greenlight-demo", version)]
pub struct Args {
    /// Publish every verdict to this Redis (e.g. redis://127.0.0.1:6379).
    /// The demo writes only keys of --deployment, and refuses (exit 2) when
    /// keys under that name exist that no demo made.
    #[arg(long, env = "GREENLIGHT_DEMO_REDIS_URL")]
    redis_url: Option<String>,
    /// The deployment's name, in the verdicts and the Redis keys. A name of
    /// its own, so that a real `escashop` on the same Redis is never touched.
    #[arg(long, default_value = "escashop-demo")]
    deployment: String,
    /// After the story, keep the aggregator, backends and agents running
    /// (until Ctrl-C), so that you can ask them with the `greenlight` CLI.
    #[arg(long)]
    keep_running: bool,
    /// How long green must stay healthy before it is READY.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    ready_after: Duration,
    /// How often the agents probe and report.
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// Share of green's requests that fail once the fault is injected.
    #[arg(long, default_value_t = 0.2)]
    fault_error_ratio: f64,
    /// Show the components' own logs (info level) on stderr.
    #[arg(long)]
    verbose: bool,
    /// Internal: run as the aggregator's switch hook, recording the switch in FILE.
    #[arg(long, value_name = "FILE", hide = true)]
    switch_hook: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(record) = &args.switch_hook {
        return match switch::run_hook(record) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("greenlight-demo --switch-hook: {error}");
                ExitCode::FAILURE
            }
        };
    }
    // The timeline says what matters; --verbose shows the components' own logs.
    let level = if args.verbose { "info" } else { "off" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("greenlight-demo: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(story::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("greenlight-demo: {error:#}");
            // A name or a Redis that cannot be used is a usage error.
            if error.is::<claim::NotOurs>() || error.is::<story::Unusable>() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
