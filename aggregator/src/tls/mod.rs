//! TLS on the gRPC port: the server's certificate, mutual TLS for agents,
//! and the certificates reloaded without dropping a connection.
//!
//! The acceptor is ours, not tonic's: every TCP connection is handshaken
//! with the rustls config in force at that moment (an [`ArcSwap`] that a
//! reload replaces whole), and tonic serves the resulting streams. A
//! connection keeps the config it was made with, so a reload changes what
//! new handshakes see and nothing else. tonic's `Connected` for
//! tokio-rustls streams keeps the peer's certificates in every request's
//! extensions: [`peer_identity`] reads them.
//!
//! # Layout
//! - `files`: [`TlsFiles`], reading the PEM files into a rustls
//!   `ServerConfig`; every error names its file.
//! - `reload`: [`ServerTls`], the config in force, and the task that
//!   reloads it on SIGHUP or when the files change.
//! - `incoming`: [`incoming`], TCP connections handshaken concurrently
//!   (bounded, with a timeout) into the stream tonic serves.
//! - `failure_log`: failed handshakes logged up to a budget, then counted.
//! - `peer`: [`peer_identity`], the client certificate's SANs, for
//!   identity binding.
//!
//! [`ArcSwap`]: arc_swap::ArcSwap

mod failure_log;
mod files;
mod incoming;
mod peer;
mod reload;
#[cfg(test)]
mod tests;

pub use files::{ClientAuth, Loaded, TlsFileError, TlsFiles};
pub use incoming::incoming;
pub use peer::{PeerIdentity, identity_of, peer_identity};
pub use reload::{Reloaded, ServerTls};
