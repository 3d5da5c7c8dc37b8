//! Who may do what: bearer tokens (kept hashed) and client certificates,
//! mapped to the roles viewer, operator and agent, and an agent bound to
//! the identities its credential names. Without `[auth]` nobody is asked
//! (the aggregator says so at start), but an agent certificate that names
//! an identity still binds the agent to it.
//!
//! # Layout
//! - `role`: [`Role`], [`Action`], [`Principal`] and [`Caller`] (who asked,
//!   as the history records it).
//! - `binding`: [`AgentBinding`], `escashop/green/green-1` or
//!   `escashop/green/*`, and the SPIFFE URI SAN that carries it.
//! - `tokens`: [`TokenTable`], the tokens file.
//! - `policy`: [`AuthPolicy`], the pure decision.
//! - `grpc`: the policy applied to a tonic request.

mod binding;
mod grpc;
mod policy;
mod role;
mod tokens;

pub use binding::{AgentBinding, SPIFFE_PREFIX};
pub use grpc::{authorize, interceptor, status};
pub use policy::{AuthError, AuthPolicy, CertificateRole, Presented};
pub use role::{Action, Caller, Principal, Proof, Role};
pub use tokens::{TokenTable, hash};
