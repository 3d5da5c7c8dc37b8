//! `greenlight-agent`: parses flags, sets up logging, loads and validates the
//! configuration (exit 2 when it is bad), and runs the agent until SIGTERM or
//! SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use greenlight_agent::{AgentConfig, Overrides};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

/// After a shutdown signal, how long the agent may take to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

const LONG_HELP: &str = concat!(
    "Configuration (TOML; every key can also be set as GREENLIGHT_<KEY>, with\n",
    "\"__\" between nested keys, e.g. GREENLIGHT_CHECKS__POSTGRES__URL; flags win):\n\n",
    include_str!("config/sample.toml"),
    "\nExit status: 0 after a clean shutdown (or \"config OK\"), 2 on a bad\n",
    "configuration, 1 on any other failure. Logs go to stderr; RUST_LOG filters\n",
    "them (default \"info\").\n\n",
    "Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set (e.g. http://127.0.0.1:4317)\n",
    "each report's span goes there by OTLP/gRPC and its trace context rides in\n",
    "the report; OTEL_SERVICE_NAME, OTEL_BSP_* apply. Unset: nothing exported.\n",
    "docs/telemetry.md says what one trace contains."
);

/// The sidecar beside one backend instance: probes its dependencies and
/// behaviour, and streams reports to greenlight-aggregator.
#[derive(Debug, Parser)]
#[command(name = "greenlight-agent", version, after_long_help = LONG_HELP)]
struct Args {
    /// Configuration file (TOML).
    #[arg(long, env = "GREENLIGHT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    /// Validate FILE (with the environment and flags applied), print
    /// "config OK" and what it means, and exit 0; exit 2 with the file, the
    /// key and the reason otherwise.
    #[arg(long, value_name = "FILE")]
    check_config: Option<PathBuf>,

    /// gRPC address of greenlight-aggregator, e.g. http://127.0.0.1:7070,
    /// or https://host:7070 for TLS (the [tls] keys: ca, cert, key).
    /// Several, separated by commas, to send every report to each:
    /// http://10.0.0.5:7070,http://10.0.0.6:7070.
    #[arg(long, value_name = "URL[,URL...]")]
    aggregator: Option<String>,

    /// The deployment this backend belongs to, e.g. escashop.
    #[arg(long, value_name = "NAME")]
    deployment: Option<String>,

    /// The environment this backend runs in: blue or green.
    #[arg(long, value_name = "COLOR")]
    color: Option<String>,

    /// This backend instance's id, unique within deployment and color.
    #[arg(long, value_name = "ID")]
    instance_id: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let overrides = Overrides {
        aggregator: args.aggregator,
        deployment: args.deployment,
        color: args.color,
        instance_id: args.instance_id,
    };
    if let Some(file) = &args.check_config {
        return match AgentConfig::load(Some(file), &overrides) {
            Ok(config) => {
                println!("config OK\n{}", config.summary());
                ExitCode::SUCCESS
            }
            Err(error) => bad_config(&error),
        };
    }
    let config = match AgentConfig::load(args.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(error) => return bad_config(&error),
    };
    // One thread: the agent waits on a handful of sockets once a second, and
    // every extra worker costs a stack and a malloc arena (measured: about
    // 0.6 MiB of RSS, bench/agent-footprint.sh). Blocking work (finding a
    // process by port) goes to tokio's blocking pool as before.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("greenlight-agent: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Logs, and traces when OTEL_EXPORTER_OTLP_ENDPOINT is set (the
    // exporter's channel needs the runtime).
    let telemetry = {
        let _in_runtime = runtime.enter();
        greenlight_telemetry::init("greenlight-agent")
    };
    runtime.block_on(async {
        let code = serve(config).await;
        // The last batched spans go out while the runtime still runs.
        let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
        code
    })
}

fn bad_config(error: &greenlight_agent::ConfigError) -> ExitCode {
    eprintln!("greenlight-agent: {error}");
    ExitCode::from(2)
}

/// Runs the agent until a signal, then gives it [`SHUTDOWN_GRACE`] to stop.
async fn serve(config: AgentConfig) -> ExitCode {
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    // This process is the agent: its startup memory can go back.
    greenlight_agent::release_memory_after_startup();
    let run = greenlight_agent::run(config, shutdown.clone());
    let overdue = async {
        shutdown.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = run => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                error!(error = format!("{error:#}"), "greenlight-agent failed");
                ExitCode::FAILURE
            }
        },
        () = overdue => {
            error!(grace = ?SHUTDOWN_GRACE, "did not stop within the grace period; exiting");
            ExitCode::FAILURE
        }
    }
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                error!(%error, "cannot listen for SIGTERM; only SIGINT stops the agent");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => info!("SIGINT: shutting down"),
    }
    shutdown.cancel();
}
