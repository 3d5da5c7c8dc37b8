//! `greenlight-aggregator`: parses flags, loads config, runs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use greenlight_aggregator::config::{AggregatorConfig, Overrides, RedisOverride};
use tokio_util::sync::CancellationToken;

/// Receives greenlight-agent report streams, decides when the candidate
/// color of each blue/green deployment is READY, and publishes every
/// verdict over gRPC (VerdictService, grpc.health.v1) and Redis.
///
/// Config file keys (all optional):
///
///   listen = "127.0.0.1:7070"        # gRPC for agents, the CLI, health checks
///   [tls]                            # TLS only on `listen`; reloaded on SIGHUP or change
///   cert = "/etc/greenlight/aggregator.pem"
///   key = "/etc/greenlight/aggregator.key"
///   client_ca = "/etc/greenlight/clients-ca.pem"   # mutual TLS: clients need a cert from it
///   client_auth = "required"         # or "optional"
///   poll = "10s"                     # how often the files are looked at
///   [redis]
///   url = "redis://127.0.0.1:6379"   # key greenlight:{<deployment>}:verdict, channel, history
///                                    # redis://:password@host for AUTH, rediss:// for TLS
///   ca = "/etc/greenlight/redis-ca.pem"   # rediss:// only; default: the system's roots
///   verdict_ttl = "15s"
///   history_max_len = 10000
///   [defaults]                       # for every deployment
///   live = "blue"                    # the color that carries traffic now
///   ready_after = "30s"              # candidate healthy this long => READY
///   stale_after_intervals = 3        # missed report intervals => agent stale
///   forget_after = "10m"             # disconnected agents are dropped after this
///   max_clock_skew = "30s"           # an agent's clock further off => clock_skew warning
///   traffic_drift_after = "30s"      # load balancer disagreeing this long => traffic_drift alert
///   [deployments.escashop]           # overrides for one deployment
///   ready_after = "60s"
///   [deployments.escashop.traffic_source]  # where traffic really goes (read back)
///   kind = "haproxy"                 # haproxy: socket, backend, blue_server, green_server
///   socket = "/run/haproxy/admin.sock"   # nginx: site, blue_config, green_config
///   backend = "escashop"
///   poll = "1s"
///   [hooks.cutover]                  # with a hook, switches are confirmed by its outcome
///   command = ["deploy/switch-traffic", "{direction}"]
///   [hooks.verified]                 # deploying, ready, baking, rolled_back, held too: on entering it
///   command = ["retire-side", "{from}"]  # tells, never switches; delay = "10m" optional
///   [deployments.escashop.hooks.verified]  # a deployment's own, replacing the default
///   command = ["retire-side", "escashop", "{from}"]
///   [alerts]                         # docs/alerts.md: events, payloads, routing
///   contact = "oncall@escashop.example"  # in the rollback email (the guide's template)
///   rollback_eta = "2-3 minutes"
///   [[alerts.sink]]                  # any number; each with its own queue and retries
///   name = "am"                      # labels the greenlight_alerts_* counters
///   kind = "alertmanager"            # webhook | slack | alertmanager | email
///   url = "http://127.0.0.1:9093"    # email: host, port, starttls, username,
///   events = ["rollback", "hold"]    #   password_file, ca, from, to = [...]
///   deployments = ["escashop"]       # default: all events, all deployments
///   queue = 256                      # full => dropped and counted
///   retries = 3                      # backoff = "1s" doubling; timeout = "10s"
///   [http]                           # off unless set: read-only, no credentials; keep it private
///   listen = "127.0.0.1:7071"        # /health, /metrics, /api/v1/deployments[/{name}], status page at /
///   [limits]
///   max_agent_streams = 1000         # beyond: RESOURCE_EXHAUSTED
///   max_watch_streams = 1000
///   shutdown_grace = "5s"            # on SIGTERM, the drain of publishing and hooks
///
/// Environment variables GREENLIGHT_AGGREGATOR_<KEY> (nested with __, e.g.
/// GREENLIGHT_AGGREGATOR_REDIS__URL) override the file; flags override both.
/// A bad value is named with where it came from: the file, the variable or
/// the flag. docs/configuration.md lists every key.
/// Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set (e.g. http://127.0.0.1:4317)
/// spans go there by OTLP/gRPC, each report's joined to its agent's trace;
/// OTEL_SERVICE_NAME and OTEL_BSP_* apply. Unset: nothing is exported.
/// docs/telemetry.md says what one trace contains.
/// SIGHUP reloads the [tls] files (open connections keep theirs); without
/// [tls] it is logged and changes nothing (it never stops the aggregator).
/// Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad configuration.
#[derive(Debug, Parser)]
#[command(name = "greenlight-aggregator", version, verbatim_doc_comment)]
struct Args {
    /// TOML config file.
    #[arg(long, env = "GREENLIGHT_AGGREGATOR_CONFIG")]
    config: Option<PathBuf>,
    /// Address for gRPC (overrides `listen`).
    #[arg(long)]
    listen: Option<String>,
    /// Redis URL to publish verdicts to (overrides `redis.url`).
    #[arg(long)]
    redis_url: Option<String>,
    /// Validate the config file, print what it means, and exit (0 ok, 2 bad).
    #[arg(long, value_name = "FILE")]
    check_config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let file = args.check_config.as_ref().or(args.config.as_ref());
    let overrides = Overrides {
        listen: args.listen.clone(),
        redis: args.redis_url.clone().map(|url| RedisOverride { url }),
    };
    let config = match AggregatorConfig::load(file.map(PathBuf::as_path), overrides) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("greenlight-aggregator: bad configuration: {error}");
            return ExitCode::from(2);
        }
    };
    // The file may be right and this machine still unable to run a hook.
    let unrunnable_hooks = config.unrunnable_hooks(file.map(PathBuf::as_path));
    if args.check_config.is_some() {
        if !unrunnable_hooks.is_empty() {
            for error in &unrunnable_hooks {
                eprintln!("greenlight-aggregator: bad configuration: {error}");
            }
            return ExitCode::from(2);
        }
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), "config OK\n{}", config.summary());
        return ExitCode::SUCCESS;
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("greenlight-aggregator: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Installed once per process, before anything records.
    let metrics = match greenlight_aggregator::http::recorder::install() {
        Ok(handle) => Some(handle),
        Err(error) => {
            eprintln!("greenlight-aggregator: no /metrics: {error:#}");
            None
        }
    };
    // Logs, and traces when OTEL_EXPORTER_OTLP_ENDPOINT is set (the
    // exporter's channel needs the runtime). After the config: its errors
    // go to stderr as they are.
    let telemetry = {
        let _in_runtime = runtime.enter();
        greenlight_telemetry::init("greenlight-aggregator")
    };
    // Not refused at start: the program may be installed or mounted after,
    // and until then every switch fails as a hook failure does (recorded,
    // alerted, the deployment back to Ready). But said loudly, once.
    for error in &unrunnable_hooks {
        tracing::error!(%error, "a hook cannot run: every switch it makes will fail until it can");
    }
    let code = runtime.block_on(serve(config, metrics));
    // The last batched spans go out on the runtime's threads.
    telemetry.shutdown();
    code
}

async fn serve(
    config: AggregatorConfig,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> ExitCode {
    {
        let listener = match greenlight_aggregator::bind(config.listen).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("greenlight-aggregator: {error}");
                return ExitCode::FAILURE;
            }
        };
        // Installed before the port is announced: a signal sent as soon as
        // the aggregator is up must find its handler (SIGHUP would end it).
        let signals = match Signals::install() {
            Ok(signals) => signals,
            Err(error) => {
                eprintln!("greenlight-aggregator: cannot install signal handlers: {error}");
                return ExitCode::FAILURE;
            }
        };
        if let Ok(address) = listener.local_addr() {
            // Tests and scripts read the port from this line.
            println!("greenlight-aggregator listening on {address}");
        }
        let shutdown = CancellationToken::new();
        let tls_reloads = config.tls.is_some();
        // Signals are watched beside the run, not in a task of their own:
        // the run's end (or its error) ends the watch too.
        let run = async {
            let result =
                greenlight_aggregator::run_on(listener, config, metrics, shutdown.clone()).await;
            shutdown.cancel();
            result
        };
        let (result, ()) = tokio::join!(run, signals.cancel_on(shutdown.clone(), tls_reloads));
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("greenlight-aggregator: {error:#}");
                ExitCode::FAILURE
            }
        }
    }
}

/// SIGTERM and SIGINT shut down. SIGHUP never does (its default would end
/// the process, and operators send it out of habit): with `[tls]` the
/// reloader takes it; without, it is logged as having nothing to reload.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    async fn cancel_on(mut self, shutdown: CancellationToken, tls_reloads: bool) {
        loop {
            tokio::select! {
                _ = self.term.recv() => tracing::info!("SIGTERM: shutting down"),
                _ = self.int.recv() => tracing::info!("SIGINT: shutting down"),
                _ = self.hangup.recv() => {
                    if !tls_reloads {
                        tracing::info!("SIGHUP: nothing to reload (no [tls]; other settings take a restart)");
                    }
                    continue;
                }
                _ = shutdown.cancelled() => return,
            }
            break;
        }
        shutdown.cancel();
    }
}
