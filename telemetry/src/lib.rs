//! Logs and traces for greenlight's binaries, set up the same way in the
//! agent and the aggregator.
//!
//! Logs always go to stderr (`RUST_LOG`, default `info`). Traces go out by
//! OTLP over gRPC only when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; `OTEL_SERVICE_NAME`
//! names the process, `OTEL_BSP_*` tune the batches. Without them no
//! OpenTelemetry layer is installed: spans cost what tracing's own cost.
//!
//! One report's path is one trace: the agent's span for a report rides in
//! the report as a W3C `traceparent` ([`traceparent_of`]), and the
//! aggregator's ingest span takes it as its parent ([`adopt_parent`]).
//!
//! # Layout
//!
//! - `setup`: [`init`] and [`Telemetry`], the subscriber and the exporter.
//! - `context`: the W3C trace context in and out of spans, strings and
//!   gRPC metadata.

mod context;
mod setup;

pub use context::{adopt_parent, adopt_parent_from_metadata, inject_metadata, traceparent_of};
pub use setup::{Telemetry, exporting, init, otlp_requested};
