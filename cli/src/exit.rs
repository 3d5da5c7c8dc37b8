//! The CLI's exit codes, a contract (DESIGN: external contracts), and how
//! errors map onto them.

use std::fmt;
use std::process::ExitCode;

use greenlight_proto::json::ReasonJson;
use tonic::Code;

/// 0: the asked condition holds (e.g. ready).
pub const HOLDS: u8 = 0;
/// 1: it does not.
pub const DOES_NOT_HOLD: u8 = 1;
/// 2: usage or configuration error.
pub const USAGE: u8 = 2;
/// 3: the aggregator is unreachable or timed out.
pub const UNREACHABLE: u8 = 3;
/// 141 (128 + SIGPIPE): stdout's reader went away; nothing more is said.
pub const PIPE_CLOSED: u8 = 141;

/// An outcome other than "the condition holds", with what to tell the user.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
    /// What kind of failure, for `--json` (docs/cli.md): set by the
    /// constructors, `None` means the one [`default_kind`] gives the code.
    pub kind: Option<&'static str>,
    /// The verdict's reasons when the aggregator refused because of them
    /// (a cutover of a candidate that is not READY).
    pub reasons: Vec<ReasonJson>,
}

/// The `error` of a `--json` failure when no constructor said more.
fn default_kind(code: u8) -> &'static str {
    match code {
        DOES_NOT_HOLD => "does_not_hold",
        USAGE => "usage",
        UNREACHABLE => "unreachable",
        _ => "failed",
    }
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            kind: None,
            reasons: Vec::new(),
        }
    }

    /// The same failure, named `kind` in `--json`.
    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = Some(kind);
        self
    }

    /// The `--json` error object: `{"error", "message", "reasons", "exit_code"}`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": self.kind.unwrap_or(default_kind(self.code)),
            "message": self.message,
            "reasons": self.reasons,
            "exit_code": self.code,
        })
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
            Code::InvalidArgument => Failure::new(USAGE, status.message()).kind("usage"),
            Code::NotFound => Failure::new(DOES_NOT_HOLD, status.message()).kind("not_found"),
            // The aggregator said no (a cutover of a candidate that is not
            // READY, a call in the wrong phase, dry-run).
            Code::FailedPrecondition => {
                Failure::new(DOES_NOT_HOLD, status.message()).kind("refused")
            }
            // Credentials are configuration: the token or certificate given
            // (or not given) has to change.
            Code::Unauthenticated | Code::PermissionDenied => Failure::new(
                USAGE,
                format!("the aggregator at {address} refused: {}", status.message()),
            )
            .kind("credentials"),
            _ => Failure::new(DOES_NOT_HOLD, status.message()),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}
