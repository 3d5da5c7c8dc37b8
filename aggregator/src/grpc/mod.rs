//! The gRPC face of the aggregator: the agent stream, the verdict service,
//! and how they are served together with grpc.health.v1 and reflection.

mod agent_stream;
mod limits;
mod report_rate;
mod server;
mod verdict_service;

pub use agent_stream::AgentStreamService;
pub use limits::{StreamLimit, StreamSlot};
pub use server::serve;
pub use verdict_service::VerdictApi;
