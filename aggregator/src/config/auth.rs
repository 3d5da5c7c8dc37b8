//! `[auth]`: who may call. `tokens` is the tokens file (one caller a line,
//! `role name sha256`; see `crate::auth::tokens`); `[[auth.certificate]]`
//! maps a client certificate's SAN to a role. An agent's certificate with
//! the SAN `spiffe://greenlight/<deployment>/<color>/<instance>` is an agent
//! for that identity without a mapping. Without `[auth]` nobody is asked.
//!
//! The file is read here, once, so a bad line is a configuration error
//! naming it; a changed file takes a restart.

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;
use super::tls::TlsSettings;
use crate::auth::{AgentBinding, AuthPolicy, CertificateRole, Role, TokenTable};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuth {
    tokens: Option<PathBuf>,
    #[serde(default)]
    certificate: Vec<RawCertificate>,
    /// grpc.health.v1 (load balancers, `grpc_health_probe`) without
    /// credentials.
    #[serde(default = "yes")]
    health_without_credentials: bool,
    /// Tokens over plaintext gRPC, for a loopback-only setup.
    #[serde(default)]
    allow_plaintext: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCertificate {
    san: String,
    role: Role,
    agent: Option<String>,
}

/// Validated.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub policy: AuthPolicy,
    pub tokens: Option<PathBuf>,
    /// Callers in the tokens file.
    pub token_count: usize,
    pub certificates: usize,
}

impl RawAuth {
    pub(super) fn validate(self, tls: Option<&TlsSettings>) -> Result<AuthSettings, ConfigError> {
        let table = match &self.tokens {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| {
                    ConfigError::key(
                        "auth.tokens",
                        format!("cannot read {}: {error}", path.display()),
                    )
                })?;
                TokenTable::parse(&text).map_err(|reason| {
                    ConfigError::key("auth.tokens", format!("{}: {reason}", path.display()))
                })?
            }
            None => TokenTable::default(),
        };
        if !table.is_empty() && tls.is_none() && !self.allow_plaintext {
            return Err(ConfigError::key(
                "auth.tokens",
                "tokens over plaintext gRPC can be read by anyone on the path: configure [tls], \
                 or set auth.allow_plaintext = true for a loopback-only setup",
            ));
        }
        let mut certificates = Vec::new();
        for (index, raw) in self.certificate.into_iter().enumerate() {
            let key = format!("auth.certificate[{index}]");
            if tls.is_none_or(|tls| tls.files.client_ca.is_none()) {
                return Err(ConfigError::key(
                    key,
                    "maps a client certificate, but tls.client_ca is not set: no client certificate is asked for",
                ));
            }
            let binding = match (raw.role, raw.agent) {
                (Role::Agent, Some(agent)) => Some(
                    AgentBinding::parse(&agent)
                        .map_err(|reason| ConfigError::key(format!("{key}.agent"), reason))?,
                ),
                (Role::Agent, None) => {
                    return Err(ConfigError::key(
                        format!("{key}.agent"),
                        "required for role = \"agent\": the identity it reports for, e.g. escashop/green/green-1 or escashop/green/*",
                    ));
                }
                (_, Some(_)) => {
                    return Err(ConfigError::key(
                        format!("{key}.agent"),
                        "only for role = \"agent\"",
                    ));
                }
                (_, None) => None,
            };
            if raw.san.trim().is_empty() {
                return Err(ConfigError::key(format!("{key}.san"), "must not be empty"));
            }
            certificates.push(CertificateRole {
                san: raw.san,
                role: raw.role,
                binding,
            });
        }
        let agent_certificates = tls.is_some_and(|tls| tls.files.client_ca.is_some());
        if table.is_empty() && certificates.is_empty() && !agent_certificates {
            return Err(ConfigError::key(
                "auth",
                "nobody could call: give auth.tokens, an [[auth.certificate]], or tls.client_ca \
                 (agents with spiffe://greenlight/... certificates)",
            ));
        }
        Ok(AuthSettings {
            token_count: table.len(),
            certificates: certificates.len(),
            policy: AuthPolicy::enforced(table, certificates, self.health_without_credentials),
            tokens: self.tokens,
        })
    }
}

impl AuthSettings {
    /// In words, for `--check-config`.
    pub fn describe(&self) -> String {
        let tokens = match &self.tokens {
            Some(path) => format!("{} tokens from {}", self.token_count, path.display()),
            None => "no tokens".into(),
        };
        format!(
            "credentials required: {tokens}, {} certificate mappings, agent certificates by their \
             spiffe://greenlight/<deployment>/<color>/<instance> SAN; grpc.health.v1 {}",
            self.certificates,
            if self.policy.health_open() {
                "open to all"
            } else {
                "needs a viewer"
            }
        )
    }
}
