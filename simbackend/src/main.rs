//! `greenlight-simbackend`: one simulated backend on one port.

use clap::Parser;
use greenlight_simbackend::SimConfig;
use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// A simulated blue/green backend with fault switches.
///
/// Serves /health, /health/detailed, /metrics (Prometheus), /ws (WebSocket
/// echo), work endpoints GET / and GET /api/..., and /control, where
/// `PUT {"error_ratio":0.2,"latency_ms":300,"health_failing":true,
/// "refuse_websocket":true}` (any subset) breaks it on purpose.
///
/// After binding it prints one line to stdout,
/// `greenlight-simbackend listening on <ip:port>`; logs go to stderr
/// (filter with RUST_LOG).
#[derive(Debug, Parser)]
#[command(name = "greenlight-simbackend", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port (read it from stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// Color this backend plays, reported in /health and the
    /// X-Backend-Color header of every response.
    #[arg(long, default_value = "blue")]
    color: String,

    /// The version this backend plays (the application's, not this
    /// binary's: that is `--version`), reported in /health and work
    /// responses.
    #[arg(long, value_name = "VERSION", default_value = "v3.0.0")]
    app_version: String,

    /// Work requests per second the backend sends to itself, so /metrics
    /// shows traffic; 0 turns it off.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1000))]
    self_load_rps: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Tests and the demo capture stderr into files; keep escape codes out.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = SimConfig {
        color: args.color,
        version: args.app_version,
        self_load_rps: args.self_load_rps,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", args.listen))?;
    let addr = listener.local_addr()?;
    // Tests read the port from this line, so it is the only stdout output.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "greenlight-simbackend listening on {addr}")?;
    stdout.flush()?;
    drop(stdout);

    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    greenlight_simbackend::serve(listener, config, shutdown).await
}

/// SIGTERM (systemd, docker, tests) or SIGINT (Ctrl-C) starts a graceful stop.
async fn cancel_on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received; shutting down"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; shutting down"),
                }
            }
            Err(err) => {
                tracing::warn!(%err, "cannot watch SIGTERM; only SIGINT stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    shutdown.cancel();
}
