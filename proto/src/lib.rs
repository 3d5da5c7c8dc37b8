//! greenlight's gRPC contract, package `greenlight.v1`, and the JSON form of
//! a verdict that the aggregator publishes to Redis and the CLI prints.
//!
//! # Layout
//! - `v1`: the generated messages, clients and servers (from `proto/greenlight/v1`).
//! - [`names`]: the words used on the wire and in JSON for colors, decisions, phases.
//! - [`json`]: [`json::VerdictJson`], the verdict as JSON (Redis and `--json`).
//! - [`sides`]: where traffic is and what the other color is, in words (the
//!   CLI and the status page).
//! - [`time`]: protobuf timestamps to and from `SystemTime`.
//! - [`bearer`]: a token as the `authorization` header the aggregator reads.
//! - [`error_chain`]: an error and its sources on one line, each said once
//!   (the CLI's and the agent's error words).
//! - [`limits`]: the lengths and counts every message keeps (docs/protocol.md).
//! - [`hello_check`]: whether a Hello can be let in (the aggregator's rules,
//!   which the agent checks its configuration by).

pub mod bearer;
pub mod error_chain;
pub mod hello_check;
pub mod json;
pub mod limits;
pub mod names;
pub mod sides;
pub mod time;

/// Generated code for `greenlight.v1`.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("greenlight.v1");
}

/// Encoded `FileDescriptorSet` of every greenlight proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/greenlight_descriptor.bin"));

/// The `grpc.health.v1` service name that is SERVING exactly when `color` of
/// `deployment` is fit to carry traffic (DESIGN: external contracts).
pub fn health_service_name(deployment: &str, color: v1::Color) -> String {
    format!("greenlight.{deployment}.{}", names::color_name(color))
}
