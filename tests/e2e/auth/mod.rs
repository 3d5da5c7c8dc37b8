//! Identities and roles end to end (issue 10), real processes on loopback:
//! - `identity`: an agent reports only for the identity its certificate
//!   names, and one live stream per identity (a reconnect of the same run
//!   replaces its stream).
//! - `roles`: tokens and certificates mapped to viewer, operator and agent;
//!   UNAUTHENTICATED and PERMISSION_DENIED; the history names the operator
//!   from the credential; grpc.health.v1 open without credentials.

mod identity;
mod roles;
