//! The CLI's exit codes, a contract (DESIGN: external contracts), and how
//! errors map onto them.

use std::fmt;
use std::process::ExitCode;

use tonic::Code;

/// 0: the asked condition holds (e.g. ready).
pub const HOLDS: u8 = 0;
/// 1: it does not.
pub const DOES_NOT_HOLD: u8 = 1;
/// 2: usage or configuration error.
pub const USAGE: u8 = 2;
/// 3: the aggregator is unreachable or timed out.
pub const UNREACHABLE: u8 = 3;

/// An outcome other than "the condition holds", with what to tell the user.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    pub fn unreachable(address: impl fmt::Display, detail: impl fmt::Display) -> Self {
        Failure::new(
            UNREACHABLE,
            format!("cannot reach the aggregator at {address}: {detail}"),
        )
    }

    /// Maps a gRPC status from the aggregator to an exit code.
    /// `broken_call_hint` is added to a call that broke without a cause.
    pub fn from_status(
        address: impl fmt::Display,
        status: &tonic::Status,
        broken_call_hint: Option<&str>,
    ) -> Self {
        match status.code() {
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
                // A transport error keeps its cause (a TLS alert) in the sources.
                let detail = crate::transport_error::source_chain(status);
                match crate::transport_error::tls_hint(&detail) {
                    Some(hint) => Failure::new(
                        USAGE,
                        format!("TLS with the aggregator at {address} failed: {hint} ({detail})"),
                    ),
                    None => match (status.code(), broken_call_hint) {
                        (Code::Cancelled | Code::Unknown | Code::Unavailable, Some(hint)) => {
                            Failure::unreachable(address, format!("{} ({hint})", status.message()))
                        }
                        _ => Failure::unreachable(address, status.message()),
                    },
                }
            }
            Code::InvalidArgument => Failure::new(USAGE, status.message()),
            // Credentials are configuration: the token or certificate given
            // (or not given) has to change.
            Code::Unauthenticated | Code::PermissionDenied => Failure::new(
                USAGE,
                format!("the aggregator at {address} refused: {}", status.message()),
            ),
            _ => Failure::new(DOES_NOT_HOLD, status.message()),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}
