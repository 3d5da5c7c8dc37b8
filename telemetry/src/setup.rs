//! The process's tracing subscriber: stderr logs always, OTLP export of
//! spans when the standard variables ask for it.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The variables that turn export on (the OTLP exporter reads them itself).
const ENDPOINT_VARIABLES: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// Whether the environment asks for OTLP export: an endpoint is set and
/// `OTEL_SDK_DISABLED` is not `true`.
pub fn otlp_requested() -> bool {
    let disabled = std::env::var("OTEL_SDK_DISABLED")
        .is_ok_and(|value| value.trim().eq_ignore_ascii_case("true"));
    !disabled
        && ENDPOINT_VARIABLES
            .iter()
            .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()))
}

/// Set by [`init`] when spans are exported (read by [`exporting`]).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether [`init`] installed the exporter: hot paths (the agent's span
/// per report) make their spans only then.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// What [`init`] set up; [`Telemetry::shutdown`] sends the spans still
/// batched before the process exits.
#[must_use = "call shutdown() before exiting, or the last spans are lost"]
pub struct Telemetry {
    /// `None` when nothing is exported.
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Flushes and stops the exporter (blocking: call it off the async
    /// threads, e.g. in `spawn_blocking`, while the runtime still runs,
    /// since the gRPC export needs it).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(error) = provider.shutdown() {
                eprintln!("traces: the last spans may be lost: {error}");
            }
        }
    }
}

/// Installs the global subscriber: logs to stderr filtered by `RUST_LOG`
/// (default `info`), and spans to OTLP when [`otlp_requested`], named
/// `service` unless `OTEL_SERVICE_NAME` says otherwise.
///
/// With export on, call it inside a tokio runtime (the gRPC channel
/// spawns its connection task there). A broken exporter setup is said on
/// stderr and the process runs on without traces: traces are never a
/// reason to stop deciding.
pub fn init(service: &'static str) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Logs captured into files (systemd, docker, tests) stay free of
        // colour codes.
        .with_ansi(std::io::stderr().is_terminal());
    let provider = if otlp_requested() {
        match provider(service) {
            Ok(provider) => Some(provider),
            Err(error) => {
                eprintln!("{service}: traces are off: the OTLP exporter did not start: {error}");
                None
            }
        }
    } else {
        None
    };
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("greenlight"))
            .with_filter(not_the_exporters_own())
    });
    EXPORTING.store(provider.is_some(), Ordering::Relaxed);
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(spans)
        .init();
    Telemetry { provider }
}

fn provider(
    service: &'static str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    // Endpoint, timeout and headers come from OTEL_EXPORTER_OTLP_*.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()?;
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service);
    }
    // The batch processor reads OTEL_BSP_SCHEDULE_DELAY and its siblings.
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

/// The exporter's own gRPC stack must not trace itself into its batches.
fn not_the_exporters_own() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("h2", LevelFilter::OFF)
        .with_target("hyper", LevelFilter::OFF)
        .with_target("hyper_util", LevelFilter::OFF)
        .with_target("tonic", LevelFilter::OFF)
        .with_target("tower", LevelFilter::OFF)
        .with_target("opentelemetry", LevelFilter::OFF)
        .with_target("opentelemetry_sdk", LevelFilter::OFF)
        .with_target("opentelemetry_otlp", LevelFilter::OFF)
}
